"""``manage.py seed``: the demo data set, its accounts, determinism, and the PostgreSQL COPY path.

The demo data set is generated once for the module (about two seconds) and read by most tests;
tests that write run inside their own transaction, which is rolled back, so they leave it intact.
"""

import datetime as dt
import hashlib
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncDate
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, Engagement, Factor, Note, NoteProduct, OrderLine, Product
from moderation import demo as moderation_demo
from moderation.models import Case, CounterfeitCase, CounterfeitReport, ManagerTerm, ManagerVote, Report, TestAttempt
from moderation.services import current_term, entry_shortfalls, policy_get, retake_at
from ratings import open_data
from ratings.models import OpenDataRelease, Vote
from seeding.columns import NULL_INT, Column, Kind
from seeding.generator import SeedSizes
from seeding.loading import SEEDED_MODELS, flush_seeded_data, seed_database
from seeding.people import DEMO_PASSWORD, PERSONAS
from seeding.pgcopy import HEADER, TRAILER, BlockReader, encode_rows

TINY = SeedSizes(
    users=300, products=186, brands=40, order_lines=3_000, notes=300, engagements=2_000, user_chunk_rows=70
)
AS_OF = dt.date(2026, 3, 1)


@pytest.fixture(scope="module")
def demo_output(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The output of ``seed --scale demo``, run once for the module against the test database."""
    with django_db_blocker.unblock(), tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        out = StringIO()
        try:
            call_command("seed", "--scale=demo", stdout=out)
            yield out.getvalue()
        finally:
            # Also after a seed that failed half-way: its rows would otherwise fail every later test.
            flush_seeded_data()


def _order_line_digest() -> str:
    digest = hashlib.sha256()
    for row in OrderLine.objects.order_by("id").values_list(
        "id", "order_ref", "line_no", "buyer_id", "product_id", "store_id", "quantity", "unit_price", "paid_at"
    ):
        digest.update(repr(row).encode())
    for row in OrderLine.objects.order_by("id").values_list("status", "status_changed_at", "created_at", "updated_at"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


# --- the catalog --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_93_rating_ready_leaves_each_with_5_to_10_active_factors(demo_output: str) -> None:
    leaves = Category.objects.filter(parent__isnull=False).annotate(
        active=Count("factors", filter=Q(factors__active=True))
    )
    assert leaves.count() == 93
    assert all(leaf.rating_ready and 5 <= leaf.active <= 10 for leaf in leaves)
    assert Category.objects.filter(parent__isnull=True).count() == 9
    assert not Category.objects.filter(parent__isnull=True, rating_ready=True).exists()
    assert set(Factor.objects.values_list("weight", flat=True)) == {1}


@pytest.mark.django_db
def test_the_shampoo_category_has_the_six_factors_of_the_source(demo_output: str) -> None:
    shampoo = Category.objects.get(slug="shampoo")
    factors = list(shampoo.factors.order_by("position").values_list("name_zh", "name_en"))
    assert factors == [
        ("清洁力", "Cleanliness"),
        ("香味", "Aroma"),
        ("去屑", "Dandruff control"),
        ("柔顺", "Conditioning"),
        ("保湿", "Moisturizing"),
        ("防脱", "Anti-hair-loss"),
    ]
    assert shampoo.parent is not None and shampoo.parent.name_en == "Hair care"


@pytest.mark.django_db
def test_every_leaf_has_products_and_some_products_have_forty_recent_genuine_buyers(demo_output: str) -> None:
    per_leaf = Product.objects.values("category").annotate(n=Count("id"))
    assert len(per_leaf) == 93 and min(row["n"] for row in per_leaf) >= 3
    year_ago = timezone.now() - dt.timedelta(days=365)
    popular = (
        OrderLine.objects.filter(status=OrderLine.Status.PAID, paid_at__gte=year_ago)
        .values("product")
        .annotate(buyers=Count("buyer", distinct=True))
        .filter(buyers__gte=40)
    )
    assert popular.count() >= 5


# --- the accounts -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("email", [persona.email for persona in PERSONAS])
def test_each_demo_account_signs_in_with_the_demo_password(demo_output: str, client: Client, email: str) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(User.objects.get(email=email).pk)


@pytest.mark.django_db
def test_the_accounts_table_is_printed_with_roles(demo_output: str) -> None:
    for persona in PERSONAS:
        assert persona.email in demo_output
    assert DEMO_PASSWORD in demo_output
    assert "ecosystem manager" in demo_output
    assert "candidate@demo.xhs" in demo_output and "may take the rules test" in demo_output


@pytest.mark.django_db
def test_each_persona_has_the_history_its_role_needs(demo_output: str) -> None:
    year_ago = timezone.now() - dt.timedelta(days=365)
    shopper, buyer, manager, staff, _candidate, _brand = (User.objects.get(email=persona.email) for persona in PERSONAS)
    assert not shopper.order_lines.exists() and not shopper.notes.exists()
    recent = buyer.order_lines.filter(status=OrderLine.Status.PAID, paid_at__gte=year_ago)
    assert recent.values("product").distinct().count() >= 5
    assert recent.filter(product__category__slug="shampoo").exists()
    assert manager.order_lines.count() >= 20 and manager.notes.count() >= 5
    assert manager.date_joined < timezone.now() - dt.timedelta(days=3 * 365)
    assert staff.is_staff and staff.is_superuser and not buyer.is_staff


@pytest.mark.django_db
def test_the_personas_hold_the_roles_the_readme_gives_them(demo_output: str) -> None:
    shopper, buyer, manager, staff, candidate, brand = (User.objects.get(email=persona.email) for persona in PERSONAS)
    # the shopper has no role and nothing to rate; the buyer rates but judges nothing
    assert current_term(user=shopper) is None and not shopper.invitations.exists()
    assert current_term(user=buyer) is None and buyer.invitations.exists()
    # the manager's term came from passing the rules test
    term = current_term(user=manager)
    assert term is not None and term.attempt is not None and term.attempt.passed
    assert term.attempt.correct >= policy_get().pass_mark and term.starts_at == term.attempt.submitted_at
    # staff administer, they do not moderate
    assert staff.is_staff and current_term(user=staff) is None
    # the candidate meets the entry bar and may start the test now: no term, no cool-down
    assert entry_shortfalls(user=candidate) == []
    assert current_term(user=candidate) is None and retake_at(user=candidate) is None
    assert not candidate.test_attempts.exists()
    # the brand persona speaks for a brand with published scores, and rates nothing
    assert brand.brand_accounts.filter(brand__products__rating_score__isnull=False).exists()
    assert not brand.invitations.exists() and current_term(user=brand) is None
    # nobody but the manager persona holds a term among the personas
    personas = [persona.email for persona in PERSONAS]
    assert list(ManagerTerm.objects.filter(user__email__in=personas).values_list("user__email", flat=True)) == [
        manager.email
    ]


@pytest.mark.django_db
def test_the_demo_candidate_reads_the_rules_then_starts_the_test(demo_output: str, client: Client) -> None:
    # given the candidate signed in
    client.force_login(User.objects.get(email="candidate@demo.xhs"))
    # when they open the test page
    page = client.get(reverse("moderation:test"), headers={"accept-language": "en"})
    # then it shows the rules and a way to start, and no shortfall
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="rules"' in html and "No advertising" in html
    assert reverse("moderation:test_start") in html
    # when they start it
    started = client.post(reverse("moderation:test_start"))
    # then they land on their attempt's questions
    attempt = TestAttempt.objects.get(user__email="candidate@demo.xhs", submitted_at__isnull=True)
    assert started.status_code == 302 and started["Location"] == reverse("moderation:attempt", args=[attempt.pk])
    questions = client.get(started["Location"])
    assert questions.status_code == 200 and len(attempt.question_ids) == policy_get().questions_per_attempt


def _content(case: Case) -> str:
    return case.vote.comment if case.vote is not None else f"{case.note.title} {case.note.body}"  # type: ignore[union-attr]


#: Every sentence the moderation demo plants to break a rule, by the rule it breaks.
BREACHES = {
    "no-advertising": [*moderation_demo.AD_COMMENTS, moderation_demo.NOTE_BREACHES["no-advertising"]],
    "no-paid-reviews": [moderation_demo.TEMPLATE_COMMENT],
    **{code: [text] for code, text in moderation_demo.NOTE_BREACHES.items() if code != "no-advertising"},
}


@pytest.mark.django_db
def test_each_demo_case_is_judged_as_its_content_deserves(demo_output: str) -> None:
    judged = Case.objects.exclude(decided_by=Case.DecidedBy.SCREENING).filter(
        Q(status=Case.Status.DECIDED) | Q(is_audit=True)
    )
    assert (
        judged.filter(outcome=Case.Outcome.VIOLATES).exists() and judged.filter(outcome=Case.Outcome.COMPLIES).exists()
    )
    assert judged.filter(audit_answer=Case.Outcome.VIOLATES).exists()
    for case in judged.select_related("vote", "note__author", "rule"):
        answer = case.audit_answer if case.is_audit else case.outcome
        content = _content(case)
        if answer == Case.Outcome.VIOLATES:
            # content found to break a rule breaks that rule (no advertising rule on an innocent comment)
            assert any(text in content for text in BREACHES[case.rule.code]), (case.rule.code, content)
        else:
            assert not any(text in content for texts in BREACHES.values() for text in texts), content
        # the managers' votes agree with the decision they made
        if not case.is_audit:
            assert set(case.votes.values_list("choice", flat=True)) <= {answer, ManagerVote.Choice.SKIP}


@pytest.mark.django_db
def test_reporters_words_name_the_rule_they_report_and_screening_excludes_only_the_ring(demo_output: str) -> None:
    for rule_code, comment in Report.objects.exclude(comment="").values_list("rule__code", "comment"):
        assert comment == moderation_demo.REPORT_WORDS[rule_code]
    # a report on content that breaks no rule (a mistaken one) gives no words pretending it does
    mistaken = Case.objects.filter(outcome=Case.Outcome.COMPLIES, decided_by=Case.DecidedBy.MANAGERS)
    assert mistaken.exists() and not Report.objects.filter(case__in=mistaken).exclude(comment="").exists()
    # screening excluded the ring's votes, under the rule of genuine votes, and no reported comment was rewritten
    excluded = Case.objects.filter(decided_by=Case.DecidedBy.SCREENING, outcome=Case.Outcome.VIOLATES)
    assert excluded.exists()
    assert set(excluded.values_list("rule__code", flat=True)) == {"genuine-votes"}
    assert set(excluded.values_list("vote__comment", flat=True)) <= set(moderation_demo.RING_COMMENTS)
    reported = Case.objects.filter(source=Case.Source.REPORT, vote__isnull=False)
    assert not reported.filter(vote__comment__in=moderation_demo.RING_COMMENTS).exists()


@pytest.mark.django_db
def test_the_demo_has_one_open_counterfeit_claim_by_buyers_of_that_store(demo_output: str) -> None:
    [claim] = CounterfeitCase.objects.all()
    assert claim.status == CounterfeitCase.Status.OPEN and claim.reports_count == 2
    for report in CounterfeitReport.objects.select_related("purchase", "reporter"):
        assert report.purchase.store_id == claim.store_id and report.purchase.product_id == claim.product_id
        assert report.reporter.email not in {persona.email for persona in PERSONAS}


# --- purchase records and community activity ----------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_has_last_months_open_data_released(demo_output: str) -> None:
    [release] = OpenDataRelease.objects.all()

    assert release.month == open_data.Month.previous().first
    assert release.votes > 0 and release.products > 0
    assert f"Open data: {release.month:%Y-%m} released at /open-data/" in demo_output


@pytest.mark.django_db
def test_demo_reviews_are_dated_over_the_days_since_their_campaign_opened(demo_output: str) -> None:
    days = Vote.objects.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("id"))
    assert days.count() >= 7
    # no day holds more than a fifth of the reviews, none predates its campaign or comes from the future
    assert max(row["n"] for row in days) <= Vote.objects.count() / 5
    assert not Vote.objects.filter(created_at__lt=F("campaign__opens_at")).exists()
    assert not Vote.objects.filter(created_at__gt=timezone.now()).exists()


@pytest.mark.django_db
def test_a_product_page_rarely_repeats_a_review_word_for_word(demo_output: str) -> None:
    planted = [moderation_demo.TEMPLATE_COMMENT, *moderation_demo.RING_COMMENTS]
    repeats = (
        Vote.objects.exclude(comment="")
        .exclude(comment__in=planted)
        .values("product_id", "comment")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
    )
    # only a product with more reviews than one stance has wordings (fifty and more) says one thing twice
    reviews = dict(Vote.objects.values("product_id").annotate(n=Count("id")).values_list("product_id", "n"))
    assert all(reviews[row["product_id"]] >= 50 for row in repeats), list(repeats)


@pytest.mark.django_db
def test_each_demo_rater_writes_in_one_language(demo_output: str) -> None:
    planted = [moderation_demo.TEMPLATE_COMMENT, *moderation_demo.AD_COMMENTS, *moderation_demo.RING_COMMENTS]
    languages: dict[int, set[bool]] = {}  # per rater: do their comments contain Chinese?
    for user_id, comment in (
        Vote.objects.exclude(comment="").exclude(comment__in=planted).values_list("user_id", "comment")
    ):
        languages.setdefault(user_id, set()).add(bool(re.search(r"[\u4e00-\u9fff]", comment)))
    assert not [user_id for user_id, kinds in languages.items() if len(kinds) > 1]
    english = sum(1 for kinds in languages.values() if False in kinds)
    assert 0.05 * len(languages) <= english <= 0.25 * len(languages)


#: Words only a note that recommends the product uses, and words only one that does not.
PRAISE = ("回购", "放心冲", "天花板", "闭眼入", "安利", "真的惊艳", "超高", "必备")
DISMAY = ("避雷", "不会再买", "失望", "谨慎", "不推荐", "拉胯", "不太行")


@pytest.mark.django_db
def test_a_community_note_keeps_one_stance_from_its_title_to_its_last_line(demo_output: str) -> None:
    notes = [f"{title} {body}" for title, body in Note.objects.values_list("title", "body")]
    torn = [note for note in notes if any(w in note for w in PRAISE) and any(w in note for w in DISMAY)]
    assert not torn, torn[:5]
    # and all three stances show
    assert any(w in note for note in notes for w in PRAISE) and any("避雷" in note for note in notes)
    assert any("见仁见智" in note for note in notes)


@pytest.mark.django_db
def test_likes_and_saves_counts_equal_the_engagement_rows(demo_output: str) -> None:
    notes = Note.objects.annotate(
        likes=Count("engagements", filter=Q(engagements__kind=Engagement.Kind.LIKE)),
        saves=Count("engagements", filter=Q(engagements__kind=Engagement.Kind.SAVE)),
    )
    assert not notes.exclude(likes=F("likes_count"), saves=F("saves_count")).exists()
    assert Engagement.objects.count() > 10_000
    assert not Engagement.objects.filter(created_at__lte=F("note__published_at")).exists()
    assert not NoteProduct.objects.values("note").annotate(n=Count("id")).filter(Q(n__lt=1) | Q(n__gt=3)).exists()


@pytest.mark.django_db
def test_purchase_records_are_consistent_and_realistic(demo_output: str) -> None:
    lines = OrderLine.objects.all()
    total = lines.count()
    assert 25_000 <= total <= 35_000
    assert not lines.exclude(store=F("product__store")).exists()
    shares = {row["status"]: row["n"] / total for row in lines.values("status").annotate(n=Count("id"))}
    assert 0.03 < shares["refunded"] < 0.07 and 0.01 < shares["cancelled"] < 0.03
    first_purchase = User.objects.annotate(first=Min("order_lines__paid_at")).filter(first__isnull=False)
    assert not first_purchase.filter(first__lte=F("date_joined")).exists()
    oldest = lines.order_by("paid_at").values_list("paid_at", flat=True).first()
    assert oldest is not None and oldest > timezone.now() - dt.timedelta(days=3 * 365 + 1)
    assert lines.filter(line_no__gt=1).exists()
    assert User.objects.filter(is_banned=True).exists()
    assert User.objects.filter(last_seen_at__lt=timezone.now() - dt.timedelta(days=365)).exists()


# --- the command's guard rails -----------------------------------------------------------------------


@pytest.mark.django_db
def test_if_empty_does_nothing_on_a_seeded_database_but_prints_the_accounts(demo_output: str) -> None:
    before = {model: model._default_manager.count() for model in SEEDED_MODELS}
    out = StringIO()
    call_command("seed", "--scale=demo", "--if-empty", stdout=out)
    assert {model: model._default_manager.count() for model in SEEDED_MODELS} == before
    assert "nothing generated" in out.getvalue()
    assert "buyer@demo.xhs" in out.getvalue()


@pytest.mark.django_db
def test_it_refuses_a_database_with_data_and_suggests_flush(demo_output: str) -> None:
    with pytest.raises(CommandError, match="--flush"):
        call_command("seed", "--scale=demo", stdout=StringIO())


@pytest.mark.django_db
def test_full_scale_needs_postgresql(demo_output: str) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("this database is PostgreSQL")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed", "--scale=full", "--flush", stdout=StringIO())


@pytest.mark.django_db
def test_the_same_seed_and_reference_date_give_identical_order_lines(demo_output: str) -> None:
    # given a first run
    seed_database(sizes=TINY, seed=7, as_of=AS_OF, flush=True)
    first = _order_line_digest()
    # when the database is flushed and seeded again with the same seed and date
    seed_database(sizes=TINY, seed=7, as_of=AS_OF, flush=True)
    # then the purchase records are the same, and another seed gives others
    assert _order_line_digest() == first
    seed_database(sizes=TINY, seed=8, as_of=AS_OF, flush=True)
    assert _order_line_digest() != first


# --- PostgreSQL: the full-scale path (COPY, indexes and foreign keys set aside) at a tiny size -----------


def _schema_of_seeded_tables() -> list[tuple[Any, ...]]:
    tables = [model._meta.db_table for model in SEEDED_MODELS]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(t)s)
            UNION ALL
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid::regclass::text = ANY(%(t)s)
            ORDER BY 1, 2, 3
            """,
            {"t": tables},
        )
        return list(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_copy_path_loads_consistent_rows_and_leaves_the_schema_as_migrated(demo_output: str) -> None:
    schema_before = _schema_of_seeded_tables()

    report = seed_database(sizes=TINY, seed=3, as_of=AS_OF, flush=True)

    assert _schema_of_seeded_tables() == schema_before
    assert report.tables["catalog_orderline"].rows == OrderLine.objects.count() > 2_000
    assert User.objects.count() == TINY.users and Product.objects.count() == TINY.products
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred rating-ready trigger fires now
    assert Category.objects.filter(rating_ready=True).count() == 93
    notes = Note.objects.annotate(n=Count("engagements"))
    assert not notes.exclude(n=F("likes_count") + F("saves_count")).exists()
    # ids continue after the loaded rows: the sequences were reset
    product = Product.objects.select_related("store").first()
    assert product is not None
    line = OrderLine.objects.create(
        order_ref="MANUAL-1",
        buyer=User.objects.get(email="buyer@demo.xhs"),
        product=product,
        store=product.store,
        quantity=1,
        unit_price=product.price,
        paid_at=timezone.now(),
    )
    assert line.pk > report.tables["catalog_orderline"].rows


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_binary_copy_encoder_round_trips_every_column_kind() -> None:
    # given columns of every kind, with NULLs, negatives and non-ASCII text
    columns = [
        Column("a", Kind.INT8, nullable=True),
        Column("b", Kind.INT2),
        Column("c", Kind.INT4),
        Column("d", Kind.BOOL),
        Column("e", Kind.TIMESTAMP, nullable=True),
        Column("f", Kind.NUMERIC, scale=2),
        Column("g", Kind.TEXT),
        Column("h", Kind.DATE),
        Column("i", Kind.FLOAT8, nullable=True),
    ]
    instant = dt.datetime(2026, 11, 11, 12, 0, 0, 123456, tzinfo=dt.UTC)
    chunk = {
        "a": np.array([NULL_INT, 2**40]),
        "b": np.array([1, -2]),
        "c": np.array([2**31 - 1, 0]),
        "d": np.array([True, False]),
        "e": np.array([NULL_INT, round(instant.timestamp() * 1_000_000)]),
        "f": np.array([12345, -150]),
        "g": np.array(["paid", "你好\tworld"], dtype=object),
        "h": np.array([(dt.date(2026, 11, 11) - dt.date(1970, 1, 1)).days, -1]),
        "i": np.array([4.25, np.nan]),
    }
    # when they are copied into a table in binary form
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copy_probe "
            "(a int8, b int2, c int4, d bool, e timestamptz, f numeric(10, 2), g text, h date, i float8)"
        )
        stream = BlockReader([HEADER, *encode_rows(columns, chunk, 2), TRAILER])
        cursor.cursor.copy_expert("COPY copy_probe FROM STDIN WITH (FORMAT binary)", stream)
        cursor.execute("SELECT * FROM copy_probe ORDER BY b DESC")
        rows = cursor.fetchall()
    # then PostgreSQL reads back exactly the values
    assert rows == [
        (None, 1, 2**31 - 1, True, None, Decimal("123.45"), "paid", dt.date(2026, 11, 11), 4.25),
        (2**40, -2, 0, False, instant, Decimal("-1.50"), "你好\tworld", dt.date(1969, 12, 31), None),
    ]
