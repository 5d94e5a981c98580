"""Hostile input at every door: nothing malformed is stored, nothing crashes, the person is told why.

Property-based (Hypothesis) over the rating form, the report form, the rules test, the purchase CSV
importer (and the fraud-evaluation ratings reader), plus oversized request bodies. Every example runs
in a savepoint that is rolled back, so examples never see each other's rows.
"""

import csv
import io
import itertools
import random
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from catalog.models import OrderLine
from catalog.purchase_import import COLUMNS, REQUIRED_COLUMNS, PurchaseFileError, import_purchases
from moderation import services as moderation_services
from moderation.fraud.data import RatingFileError, RatingTable
from moderation.models import Case, Choice, ManagerTerm, ManagerVote, Report, TestAttempt
from ratings.forms import form_token
from ratings.models import FactorScore, Invitation, Vote
from tests.factories import ProductFactory, StoreFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, question_bank, veteran
from tests.ratings.factories import InvitationFactory, accepted_invitation, campaign_for, votes_cast
from xhs.free_text import visible_text

pytestmark = pytest.mark.django_db

#: Modest: each example is a request or an import; a test stays within a few seconds.
examples = settings(
    max_examples=30,
    deadline=None,
    database=None,  # no .hypothesis directory in the shared checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.large_base_example],
)

VALID_SCORES = {"1", "2", "3", "4", "5"}
#: Where "0" is in some scripts whose digits Python's int() and Decimal() read: fullwidth, Arabic-Indic,
#: Extended Arabic-Indic, Devanagari, Bengali, Thai, mathematical bold.
DIGIT_ZEROS = [0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE]


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one example in a savepoint of the test's transaction and undo whatever it stored."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def post_form(client: Client, url: str, data: dict[str, Any]) -> HttpResponse:
    """POST url-encoded, as a browser does; any key or value survives the encoding (repeats as lists).

    A browser always sends the CSRF token field too (the test client does not check it), so the form
    is never empty: an empty POST would make ``request.POST or None`` an unbound form.
    """
    body = urlencode({"csrfmiddlewaretoken": "x" * 32, **data}, doseq=True)
    response: HttpResponse = client.post(url, body, content_type="application/x-www-form-urlencoded")
    return response


def english_client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@st.composite
def other_script_digits(draw: st.DrawFn, number: int) -> str:
    """``number`` written with at least one digit from another script (so int() still reads ``number``)."""
    text = str(number)
    zero = draw(st.sampled_from(DIGIT_ZEROS))
    replaced = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)).filter(any))
    return "".join(chr(zero + int(d)) if swap else d for d, swap in zip(text, replaced, strict=True))


def page(response: HttpResponse) -> str:
    return response.content.decode()


# --- The rating form ---------------------------------------------------------------------------------


class Rating(NamedTuple):
    invitation: Invitation
    client: Client
    url: str
    fields: list[str]


@pytest.fixture
def rating() -> Rating:
    """An accepted invitation to rate a product on five factors, its owner signed in (English pages)."""
    invitation = accepted_invitation()
    fields = [f"factor_{factor.pk}" for factor in invitation.campaign.factors.order_by("position", "id")]
    url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    return Rating(invitation, english_client(invitation.user), url, fields)


def rating_form(rating: Rating, scores: list[int] | None = None, comment: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {
        "started": form_token(invitation_id=rating.invitation.pk, amends_revision=None),
        "comment": comment,
    }
    data.update((name, str(score)) for name, score in zip(rating.fields, scores or [4] * 5, strict=True))
    return data


def assert_refused_on_the_page(response: HttpResponse, *messages: str) -> None:
    assert response.status_code == 200, response.status_code
    html = page(response)
    assert "errorlist" in html
    if messages:
        assert any(message in html for message in messages), html[-3000:]


not_a_score = st.one_of(
    st.integers().filter(lambda n: not 1 <= n <= 5).map(str),
    st.text(max_size=30).filter(lambda text: text not in VALID_SCORES),
    st.integers(1, 5).flatmap(other_script_digits),
    st.sampled_from([" 4", "4 ", "4.0", "+4", "04", "0x4", "4\x00", "", "1e0", "٣", "５", "<script>alert(1)</script>"]),
)


@examples
@given(bad=not_a_score, which=st.integers(0, 4))
@example(bad="５", which=0)
@example(bad="٣", which=4)
def test_a_score_that_is_not_plainly_1_to_5_is_refused_on_the_page_and_nothing_is_stored(
    rating: Rating, bad: str, which: int
) -> None:
    # given
    data = rating_form(rating)
    data[rating.fields[which]] = bad

    with rolled_back():
        # when
        response = post_form(rating.client, rating.url, data)

        # then
        assert_refused_on_the_page(response, "Choose a score from 1 to 5.", "Give this factor a score from 1 to 5.")
        assert "<script>alert(1)" not in page(response)
        assert not Vote.objects.exists() and not FactorScore.objects.exists()


@examples
@given(digits=st.lists(st.integers(1, 5).flatmap(other_script_digits), min_size=5, max_size=5))
def test_scores_written_in_other_scripts_digits_are_refused(rating: Rating, digits: list[str]) -> None:
    data = rating_form(rating)
    data.update(zip(rating.fields, digits, strict=True))

    with rolled_back():
        response = post_form(rating.client, rating.url, data)

        assert_refused_on_the_page(response, "Choose a score from 1 to 5.")
        assert not Vote.objects.exists()


@examples
@given(values=st.lists(st.one_of(st.sampled_from(sorted(VALID_SCORES)), not_a_score), min_size=2, max_size=4))
def test_a_score_sent_several_times_stores_at_most_one_vote_with_one_of_the_values_sent(
    rating: Rating, values: list[str]
) -> None:
    data = rating_form(rating)
    data[rating.fields[0]] = values

    with rolled_back():
        response = post_form(rating.client, rating.url, data)

        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:
            assert_refused_on_the_page(response)
            assert not Vote.objects.exists()
        else:
            vote = Vote.objects.get()
            stored = vote.scores.get(factor_id=int(rating.fields[0].removeprefix("factor_"))).score
            assert str(stored) in values and 1 <= stored <= 5


#: Names a crafted form might add, hoping the view copies them onto the vote.
SMUGGLED = ["user", "user_id", "campaign", "campaign_id", "product_id", "invitation", "verdict", "revision_count"]
SMUGGLED += ["amends_revision", "seconds_to_fill", "is_staff", "id", "pk", "created_at", "factor_", "factor_0"]


@examples
@given(
    extra=st.dictionaries(
        keys=st.one_of(
            st.sampled_from(SMUGGLED),
            st.text(min_size=1, max_size=20),
            st.integers().map(lambda n: f"factor_{n}"),
            st.text(max_size=10).map(lambda text: f"factor_{text}"),
        ),
        values=st.one_of(st.sampled_from(["1", "5", "excluded", "0", "true"]), st.text(max_size=20)),
        min_size=1,
        max_size=5,
    )
)
@example(extra={"user": "1", "verdict": "excluded", "revision_count": "9", "seconds_to_fill": "-5"})
@example(extra={"factor_999999": "5"})
def test_extra_fields_are_ignored_or_refused_and_never_reach_the_vote(rating: Rating, extra: dict[str, str]) -> None:
    data = rating_form(rating, scores=[1, 2, 3, 4, 5])
    for key, value in extra.items():
        data.setdefault(key, value)  # the form's own fields keep their valid values
    foreign_factor = any(key.startswith("factor_") and key not in rating.fields for key in data)

    with rolled_back():
        response = post_form(rating.client, rating.url, data)

        if foreign_factor:
            assert_refused_on_the_page(response, "not rated on")
            assert not Vote.objects.exists()
        else:
            assert response.status_code == 302, response.status_code
            vote = Vote.objects.get()
            assert (vote.user_id, vote.campaign_id, vote.invitation_id) == (
                rating.invitation.user_id,
                rating.invitation.campaign_id,
                rating.invitation.pk,
            )
            assert (vote.verdict, vote.revision_count) == (Vote.Verdict.COUNTED, 0)
            assert vote.seconds_to_fill is not None and vote.seconds_to_fill >= 0
            assert sorted(vote.scores.values_list("score", flat=True)) == [1, 2, 3, 4, 5]


@examples
@given(missing=st.sets(st.sampled_from(["started", "comment", *[f"f{i}" for i in range(5)]]), min_size=1))
def test_a_form_missing_a_score_or_its_token_is_refused(rating: Rating, missing: set[str]) -> None:
    if missing == {"comment"}:
        missing = {"comment", "started"}  # the comment alone is optional
    data = rating_form(rating)
    names = {"started": "started", "comment": "comment"} | {f"f{i}": name for i, name in enumerate(rating.fields)}
    for short in missing:
        del data[names[short]]

    with rolled_back():
        response = post_form(rating.client, rating.url, data)

        assert_refused_on_the_page(response, "Give this factor a score from 1 to 5.", "This form has expired")
        assert not Vote.objects.exists()


@examples
@given(
    length=st.integers(1001, 100_000),
    fill=st.characters(blacklist_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]),
    markup=st.sampled_from(["", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']),
)
@example(length=100_000, fill="x", markup="")
@example(length=100_000, fill="好", markup="<script>alert(1)</script>")
def test_a_comment_of_up_to_100000_characters_is_refused_with_a_clear_message(
    rating: Rating, length: int, fill: str, markup: str
) -> None:
    comment = markup + fill * length
    data = rating_form(rating, comment=comment)

    with rolled_back():
        response = post_form(rating.client, rating.url, data)

        assert_refused_on_the_page(response, "at most 1000 characters")
        if markup:
            assert markup not in page(response), "the echoed comment must be escaped"
        assert not Vote.objects.exists()


@examples
@given(
    scores=st.lists(st.integers(1, 5), min_size=5, max_size=5),
    comment=st.text(max_size=1000).filter(lambda text: "\x00" not in text),
)
@example(scores=[5, 5, 5, 5, 5], comment="好" * 1000)
@example(scores=[1, 1, 1, 1, 1], comment="  <b>bold</b> 😀 \n")
@example(scores=[4, 4, 4, 4, 4], comment="\u202e\u200b 好用\x1b[31m\x00，第二行\n👨\u200d👩\u200d👧 \ufeff")
def test_a_valid_form_stores_exactly_one_vote_with_what_was_sent(
    rating: Rating, scores: list[int], comment: str
) -> None:
    with rolled_back():
        response = post_form(rating.client, rating.url, rating_form(rating, scores=scores, comment=comment))

        assert response.status_code == 302, page(response)[-2000:]
        vote = Vote.objects.get()
        assert vote.comment == visible_text(comment).strip()
        stored = dict(vote.scores.values_list("factor_id", "score"))
        assert [stored[int(name.removeprefix("factor_"))] for name in rating.fields] == scores
        assert Invitation.objects.get(pk=rating.invitation.pk).status == Invitation.Status.VOTED


# --- The report form --------------------------------------------------------------------------------------


class Reporting(NamedTuple):
    client: Client
    url: str
    rule_pk: int
    retired_rule_pk: int


@pytest.fixture
def reporting() -> Reporting:
    """A rating comment someone else wrote, one current rule and one retired rule."""
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [vote] = votes_cast(campaign, [[4] * 5], comment="加我微信买便宜货")
    rule, retired = RuleFactory(), RuleFactory(active=False)
    url = reverse("moderation:report", args=["rating", vote.pk])
    return Reporting(english_client(UserFactory()), url, rule.pk, retired.pk)


@examples
@given(data=st.data())
def test_a_report_names_a_current_rule_exactly_or_is_refused_on_the_page(reporting: Reporting, data: Any) -> None:
    value = data.draw(
        st.one_of(
            st.text(max_size=30),
            st.integers().map(str),
            st.sampled_from([str(reporting.retired_rule_pk), f"{reporting.rule_pk}.0", f"-{reporting.rule_pk}"]),
            st.just(str(10**30)),
            other_script_digits(reporting.rule_pk),
        ),
        label="rule",
    )

    with rolled_back():
        response = post_form(reporting.client, reporting.url, {"rule": value, "comment": "spam"})

        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:
            assert_refused_on_the_page(response)
            assert not Report.objects.exists() and not Case.objects.exists()
        else:
            # Django's ModelChoiceField reads the id with int(), which also reads other scripts' digits
            # and stray spaces: harmless, as long as it is exactly the current rule those digits name.
            report = Report.objects.get()
            assert report.rule_id == reporting.rule_pk == int(value)


@examples
@given(length=st.integers(501, 100_000), fill=st.sampled_from(["x", "好", "<"]))
@example(length=100_000, fill="x")
def test_a_report_comment_over_500_characters_is_refused_and_nothing_is_stored(
    reporting: Reporting, length: int, fill: str
) -> None:
    with rolled_back():
        response = post_form(
            reporting.client, reporting.url, {"rule": str(reporting.rule_pk), "comment": fill * length}
        )

        assert_refused_on_the_page(response, "at most 500 characters")
        assert not Report.objects.exists() and not Case.objects.exists()


# --- The rules test -------------------------------------------------------------------------------------


class Exam(NamedTuple):
    client: Client
    url: str
    attempt: TestAttempt
    #: For each drawn question, in order: (question id, correct choice id, [wrong choice ids]).
    drawn: list[tuple[int, int, list[int]]]
    #: A question of the bank that was not drawn, and its correct choice.
    undrawn: tuple[int, int]


@pytest.fixture
def exam() -> Exam:
    bank = question_bank(20)
    user = veteran()
    attempt = moderation_services.test_start(user=user, rng=random.Random(7))
    choices: dict[int, list[tuple[int, bool]]] = {}
    for question_id, choice_id, correct in Choice.objects.order_by("position").values_list(
        "question_id", "pk", "is_correct"
    ):
        choices.setdefault(question_id, []).append((choice_id, correct))
    drawn = []
    for question_id in map(int, attempt.question_ids):
        correct = next(pk for pk, ok in choices[question_id] if ok)
        drawn.append((question_id, correct, [pk for pk, ok in choices[question_id] if not ok]))
    spare = next(q.pk for q in bank if q.pk not in attempt.question_ids)
    undrawn = (spare, next(pk for pk, ok in choices[spare] if ok))
    url = reverse("moderation:attempt", args=[attempt.pk])
    return Exam(english_client(user), url, attempt, drawn, undrawn)


@st.composite
def valid_answer(draw: st.DrawFn, question: tuple[int, int, list[int]]) -> list[str]:
    """What a browser could send for one question: nothing, one choice of it, or (crafted) several."""
    _question_id, correct, wrong = question
    own = st.sampled_from([str(correct), *map(str, wrong)])
    return draw(st.one_of(st.just([]), st.just([""]), own.map(lambda v: [v]), st.lists(own, min_size=2, max_size=3)))


@examples
@given(data=st.data())
def test_the_rules_test_scores_only_the_chosen_answer_of_each_drawn_question(exam: Exam, data: Any) -> None:
    # given: any mix of unanswered, right, wrong and repeated answers, and an answer to an undrawn question
    form: dict[str, Any] = {}
    expected = 0
    complete = True
    for question in exam.drawn:
        values = data.draw(valid_answer(question), label=f"q{question[0]}")
        if values:
            form[f"q{question[0]}"] = values
            expected += values[-1] == str(question[1])  # a radio group has one value: the last one sent
        complete = complete and bool(values) and values[-1] != ""
    if data.draw(st.booleans(), label="answers an undrawn question"):
        form[f"q{exam.undrawn[0]}"] = str(exam.undrawn[1])
    confirmed = data.draw(st.booleans(), label="confirms")
    if confirmed:
        form["confirm"] = "on"

    with rolled_back():
        # when
        response = post_form(exam.client, exam.url, form)

        # then: graded only when every question has an answer and the person confirmed, else sent back
        attempt = TestAttempt.objects.get(pk=exam.attempt.pk)
        if not (complete and confirmed):
            assert response.status_code == 200, response.status_code
            assert attempt.submitted_at is None and not ManagerTerm.objects.filter(user=attempt.user).exists()
            return
        assert response.status_code == 302, response.status_code
        assert attempt.submitted_at is not None
        assert attempt.correct == expected
        assert attempt.passed == (expected >= moderation_services.policy_get().pass_mark)
        assert ManagerTerm.objects.filter(user=attempt.user).exists() == attempt.passed


@examples
@given(data=st.data())
def test_an_answer_that_is_not_a_choice_of_its_question_is_refused_on_the_page_and_scores_nothing(
    exam: Exam, data: Any
) -> None:
    # given: a right answer to every question but one, which gets something that is not its choice
    form: dict[str, Any] = {f"q{question_id}": str(correct) for question_id, correct, _wrong in exam.drawn}
    victim = data.draw(st.sampled_from(exam.drawn), label="question")
    others_choices = [str(c) for q, c, wrong in exam.drawn if q != victim[0] for c in (c, *wrong)]
    own = {str(victim[1]), *map(str, victim[2])}
    bad = data.draw(
        st.one_of(
            st.sampled_from(others_choices),  # the right answer of another question
            st.just(str(exam.undrawn[1])),
            other_script_digits(victim[1]),
            st.text(min_size=1, max_size=20),
            st.integers().map(str),
        ).filter(lambda value: value not in own),
        label="bad answer",
    )
    form[f"q{victim[0]}"] = bad

    with rolled_back():
        response = post_form(exam.client, exam.url, form)

        assert response.status_code == 200, response.status_code
        assert TestAttempt.objects.get(pk=exam.attempt.pk).submitted_at is None
        assert not ManagerTerm.objects.exists()


def test_the_rules_test_page_says_which_answer_was_refused(exam: Exam) -> None:
    """A page that comes back unchanged, without a word, looks like a broken button."""
    form = {f"q{question_id}": str(correct) for question_id, correct, _wrong in exam.drawn}
    form[f"q{exam.drawn[3][0]}"] = str(exam.drawn[4][1])  # the right answer of the next question

    response = post_form(exam.client, exam.url, form)

    assert response.status_code == 200
    assert TestAttempt.objects.get(pk=exam.attempt.pk).submitted_at is None
    assert "errorlist" in page(response), "the refused answer is not explained on the page"


# --- The purchase CSV importer ----------------------------------------------------------------------------

IMPORT_HEADER = ["order_ref", "line_no", "buyer_email", "product_slug", "store_slug", "quantity", "unit_price"]
IMPORT_HEADER += ["paid_at", "status", "status_changed_at"]
_refs = itertools.count()


class Shop(NamedTuple):
    email: str
    slug: str


@pytest.fixture
def shop() -> Shop:
    UserFactory(email="alice@example.com")
    ProductFactory(slug="shampoo", store=StoreFactory(slug="flagship"))
    return Shop("alice@example.com", "shampoo")


def good_row(shop: Shop, ref: str, line_no: int) -> dict[str, str]:
    return {
        "order_ref": ref,
        "line_no": str(line_no),
        "buyer_email": shop.email,
        "product_slug": shop.slug,
        "store_slug": "",
        "quantity": str(line_no),
        "unit_price": f"{line_no}.50",
        "paid_at": "2025-03-15T10:02:11+08:00",
        "status": "",
        "status_changed_at": "",
    }


def not_a_plain_whole_number(text: str) -> bool:
    stripped = text.strip()
    return not (stripped.isascii() and stripped.isdecimal() and int(stripped) >= 1)


#: Text without line breaks (a quoted line break is legal, but shifts the line numbers this test predicts).
cell_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"), max_size=30)


@st.composite
def bad_change(draw: st.DrawFn, line_no: int) -> tuple[str, str | None]:
    """One way to spoil a good row: (column to change, new value); the column "*few"/"*many" alter the width."""
    return draw(
        st.one_of(
            # Other scripts' digits have their own test below.
            st.tuples(
                st.sampled_from(["quantity", "line_no"]),
                cell_text.filter(lambda text: text.isascii() and not_a_plain_whole_number(text)),
            ),
            st.tuples(st.just("quantity"), st.sampled_from(["0", "-3", "1.5", "1e3", "1_000", "99999999999"])),
            st.tuples(st.just("unit_price"), st.sampled_from(["-1", "9.999", "NaN", "Infinity", "1e9", "¥9", "1,000"])),
            st.tuples(st.just("paid_at"), st.sampled_from(["15/03/2025", "1999-12-31", "2025-13-01", "yesterday"])),
            st.tuples(st.just("paid_at"), st.just((timezone.now() + timedelta(days=3)).isoformat())),
            st.tuples(st.just("buyer_email"), st.sampled_from(["nobody@example.com", "", "alice@example.com\x00"])),
            st.tuples(st.just("product_slug"), st.sampled_from(["no-such-product", "", "shampoo" * 14_000])),
            st.tuples(st.just("order_ref"), st.sampled_from(["", "R" * 41, "R" * 50_000])),
            st.tuples(st.just("order_ref"), st.just("x" * 200_000)),  # over the csv module's field limit
            st.tuples(st.just("status"), st.sampled_from(["refunded", "returned", "paid?"])),
            st.tuples(st.just("status_changed_at"), st.just("2025-03-16T10:00:00+08:00")),
            st.tuples(st.just("*few"), st.none()),
            st.tuples(st.just("*many"), st.just("surprise")),
        )
    )


@examples
@given(data=st.data(), chunk_size=st.integers(1, 6))
def test_an_import_takes_every_good_row_and_reports_every_bad_one_by_line(
    shop: Shop, data: Any, chunk_size: int
) -> None:
    # given: a file of good rows, spoilt rows and repeats of earlier lines, in any order
    prefix = f"P{next(_refs)}-"
    kinds = data.draw(st.lists(st.sampled_from(["good", "bad", "repeat"]), min_size=1, max_size=12), label="rows")
    rows: list[list[str]] = []
    good: dict[tuple[str, int], dict[str, str]] = {}
    bad_lines: set[int] = set()
    for index, kind in enumerate(kinds):
        line = index + 2  # the header is line 1
        row = good_row(shop, f"{prefix}{index}", index + 1)
        if kind == "repeat" and good:
            ref, line_no = data.draw(st.sampled_from(sorted(good)), label="repeats")
            row = good_row(shop, ref, line_no) | {"quantity": "7"}
            bad_lines.add(line)
        elif kind == "bad":
            column, value = data.draw(bad_change(index + 1), label=f"line {line}")
            bad_lines.add(line)
            if column == "status_changed_at":
                row[column] = value or ""
            elif column == "*few":
                rows.append([row[name] for name in IMPORT_HEADER][:-1])
                continue
            elif column == "*many":
                rows.append([*(row[name] for name in IMPORT_HEADER), value or ""])
                continue
            else:
                row[column] = value or ""
        else:
            good[(row["order_ref"], int(row["line_no"]))] = row
        rows.append([row[name] for name in IMPORT_HEADER])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(IMPORT_HEADER)
    writer.writerows(rows)

    with rolled_back():
        # when
        report = import_purchases(stream=io.StringIO(text.getvalue()), chunk_size=chunk_size)

        # then
        rejected = {error.line: error.reason for error in report.errors}
        assert set(rejected) == bad_lines, rejected
        assert all(reason and len(reason) < 2000 for reason in rejected.values()), "reasons are short and present"
        assert (report.read, report.imported, report.rejected) == (len(rows), len(good), len(bad_lines))
        stored = {
            (line.order_ref, line.line_no): (line.quantity, line.unit_price)
            for line in OrderLine.objects.filter(order_ref__startswith=prefix)
        }
        assert stored == {key: (int(row["quantity"]), Decimal(row["unit_price"])) for key, row in good.items()}


@examples
@given(
    names=st.lists(
        st.one_of(st.sampled_from(COLUMNS), st.sampled_from(["price", "email", "", "order ref", "ｏrder_ref"])),
        max_size=12,
    ),
    shout=st.booleans(),
)
def test_a_file_with_wrong_columns_is_refused_whole_before_anything_is_written(
    shop: Shop, names: list[str], shout: bool
) -> None:
    header = [f" {name.upper()} " if shout else name for name in names]
    row = good_row(shop, f"H{next(_refs)}", 1)
    line = [row.get(name, "x") for name in names]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, line])
    usable = (
        len(set(names)) == len(names)
        and set(names) <= set(COLUMNS) | {""}
        and set(REQUIRED_COLUMNS) <= set(names)
        and ("" not in names or all(not name for name in names[names.index("") :]))  # empty only at the end
    )

    with rolled_back():
        if usable:
            report = import_purchases(stream=io.StringIO(text.getvalue()))
            assert report.read == 1
        else:
            with pytest.raises(PurchaseFileError):
                import_purchases(stream=io.StringIO(text.getvalue()))
            assert not OrderLine.objects.exists()


def test_the_import_command_reports_bad_rows_and_imports_the_good_ones_whatever_the_file_holds(
    shop: Shop, tmp_path: Path
) -> None:
    # given: good rows around a huge field, a zero quantity, GBK bytes and a NUL
    rows = [good_row(shop, "CMD", n) for n in range(1, 7)]
    rows[1]["order_ref"] = "x" * 200_000
    rows[2]["quantity"] = "0"
    rows[3]["buyer_email"] = "alice@example.com\x00"
    lines = [",".join(IMPORT_HEADER)] + [",".join(row[name] for name in IMPORT_HEADER) for row in rows]
    source = tmp_path / "orders.csv"
    source.write_bytes("\n".join(lines).encode() + b"\nGBK,7," + "张".encode("gbk") + b",shampoo,,1,1,2025-03-15,,\n")
    errors = tmp_path / "errors.csv"
    out = io.StringIO()

    # when
    call_command("import_purchases", str(source), "--errors", str(errors), stdout=out)

    # then
    assert sorted(OrderLine.objects.values_list("line_no", flat=True)) == [1, 5, 6]
    with errors.open(encoding="utf-8", newline="") as written:
        assert [int(row["line"]) for row in csv.DictReader(written)] == [3, 4, 5, 8]
    assert "rejected" in out.getvalue()


@pytest.mark.parametrize("column", ["line_no", "quantity", "unit_price"])
@pytest.mark.parametrize("digits", ["５", "٣", "2０"])
def test_a_number_written_with_another_scripts_digits_rejects_the_row(shop: Shop, column: str, digits: str) -> None:
    """Files carry ASCII numbers (the documented formats; dates are read that way already). A row whose
    number is spelt in fullwidth or Arabic-Indic digits was typed by hand or converted wrongly: it is
    reported for a person to check, like the rating form refuses "５"."""
    rows = [good_row(shop, "U1", 1), good_row(shop, "U2", 2) | {column: digits}, good_row(shop, "U3", 3)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(IMPORT_HEADER)
    writer.writerows([row[name] for name in IMPORT_HEADER] for row in rows)

    report = import_purchases(stream=io.StringIO(text.getvalue()))

    assert [error.line for error in report.errors] == [3]
    assert column in report.errors[0].reason
    assert sorted(OrderLine.objects.values_list("line_no", flat=True)) == [1, 3]


@pytest.mark.parametrize("price", ["1_000", "1e3", "2E1"])
def test_a_price_with_an_underscore_or_an_exponent_rejects_the_row(shop: Shop, price: str) -> None:
    """The docs allow a decimal such as 129.90, without thousands separators; Decimal() reads more."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(IMPORT_HEADER)
    writer.writerow([(good_row(shop, "E", 1) | {"unit_price": price})[name] for name in IMPORT_HEADER])

    report = import_purchases(stream=io.StringIO(text.getvalue()))

    assert [(error.line, "unit_price" in error.reason) for error in report.errors] == [(2, True)]
    assert not OrderLine.objects.exists()


# --- The fraud evaluation's ratings file (read-only, but it must fail with a message, not a traceback) ----


@examples
@given(
    header=st.lists(
        st.sampled_from(["user_id", "product_id", "rating", "timestamp", "text", "label", "score_1", "score_2", "x"]),
        min_size=1,
        max_size=6,
    ),
    cells=st.lists(
        st.lists(
            st.one_of(
                cell_text,
                st.sampled_from(["1", "5", "nan", "inf", "-1", "1e400", "٣", "2025-03-15", "1700000000000", ""]),
            ),
            max_size=7,
        ),
        max_size=6,
    ),
)
def test_a_malformed_ratings_file_for_fraud_eval_is_refused_with_a_message(
    header: list[str], cells: list[list[str]]
) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *cells])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ratings.csv"
        path.write_text(text.getvalue(), encoding="utf-8")
        try:
            RatingTable.from_csv(path)
        except RatingFileError as error:
            assert str(error)


# --- Oversized request bodies ----------------------------------------------------------------------------


def door(name: str) -> tuple[str, User]:
    """A POST endpoint of the site by name, with a person allowed to use it (only its own data is made)."""
    if name in ("vote", "report"):
        invitation = accepted_invitation()
        if name == "vote":
            return reverse("ratings:vote", args=[invitation.pk]), invitation.user
        RuleFactory()
        [vote] = votes_cast(invitation.campaign, [[4] * 5], comment="广告")
        return reverse("moderation:report", args=["rating", vote.pk]), invitation.user
    if name in ("accept", "decline"):
        pending = InvitationFactory()
        return reverse(f"ratings:invitation_{name}", args=[pending.pk]), pending.user
    if name in ("attempt", "test_start"):
        question_bank(20)
        candidate = veteran()
        if name == "test_start":
            return reverse("moderation:test_start"), candidate
        attempt = moderation_services.test_start(user=candidate)
        return reverse("moderation:attempt", args=[attempt.pk]), candidate
    judge = manager()
    if name == "case_vote":
        return reverse("moderation:case_vote", args=[note_case().pk]), judge
    audit = ManagerVote.objects.create(
        case=note_case(is_audit=True, audit_answer="violates"), manager=judge, choice="complies", audit_correct=False
    )
    return reverse("moderation:audit_dispute", args=[audit.pk]), judge


def stored_rows() -> tuple[int, ...]:
    return (
        Vote.objects.count(),
        Report.objects.count(),
        Case.objects.count(),
        ManagerVote.objects.count(),
        TestAttempt.objects.filter(submitted_at__isnull=False).count(),
        TestAttempt.objects.count(),
        Invitation.objects.exclude(status=Invitation.Status.PENDING).count(),
        ManagerTerm.objects.count(),
    )


def too_big(field: str = "comment") -> str:
    return urlencode({field: "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "choice": "violates"})


def too_many_fields() -> str:
    return urlencode([(f"f{n}", "1") for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)])


def multipart_too_big() -> tuple[bytes, str]:
    boundary = "BoUnDaRy"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="comment"\r\n\r\n'
        + "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
        + f"\r\n--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


BODIES = {
    "too big": lambda: (too_big().encode(), "application/x-www-form-urlencoded"),
    "too many fields": lambda: (too_many_fields().encode(), "application/x-www-form-urlencoded"),
    "multipart too big": multipart_too_big,
}
#: The views that read the form themselves answer 400 even where CSRF checks are off (the test client).
READS_THE_FORM = ["vote", "report", "attempt", "case_vote", "dispute"]
ALL_DOORS = [*READS_THE_FORM, "accept", "decline", "test_start"]


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("name", READS_THE_FORM)
def test_an_oversized_post_is_answered_400_and_stores_nothing(name: str, body: str) -> None:
    url, user = door(name)
    client = Client()
    client.force_login(user)
    content, content_type = BODIES[body]()
    before = stored_rows()

    response = client.post(url, content, content_type=content_type)

    assert response.status_code == 400
    assert stored_rows() == before


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("name", ALL_DOORS)
def test_with_csrf_checks_on_as_in_production_every_oversized_post_is_answered_400(name: str, body: str) -> None:
    url, user = door(name)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = get_random_string(32)  # a cookie, so the check goes on to read the body
    content, content_type = BODIES[body]()
    before = stored_rows()

    response = client.post(url, content, content_type=content_type)

    assert response.status_code == 400
    assert stored_rows() == before


def test_the_unicode_digits_this_file_uses_are_really_digits() -> None:
    """Guards the generators above: each script's "0".."9" are decimal digits Python's int() reads."""
    for zero in DIGIT_ZEROS:
        assert [unicodedata.decimal(chr(zero + d)) for d in range(10)] == list(range(10))
        assert int("".join(chr(zero + d) for d in (1, 2, 3))) == 123
