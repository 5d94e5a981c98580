"""Screening on the platform: votes read from the database, verdicts recorded and applied, models versioned."""

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from accounts.models import User
from moderation import screening, services
from moderation.fraud.rules import REASON_TEXT_EN
from moderation.models import Case, ScreeningModel, VoteScreening
from moderation.reasons import REASON_TEXT
from moderation.tasks import sweep_unscreened
from ratings.models import Campaign, ProductResult, RatingPolicy, Vote
from ratings.services import fingerprint, vote_submit
from tests.concurrency import run_at_once
from tests.factories import OrderLineFactory, ProductFactory, rating_ready_category
from tests.moderation.factories import manager
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast

pytestmark = pytest.mark.django_db

COMMENTS = [
    "Smells nice, a bit pricey.",
    "Works as described.",
    "My hair feels softer after two weeks.",
    "Packaging leaked a little on arrival.",
    "Good value for the size.",
    "Not for oily hair in my experience.",
    "",
    "",
]


def _genuine(campaign: Campaign, count: int, rng: np.random.Generator) -> list[Vote]:
    """Ordinary purchasers: old accounts with other purchases, their own devices, varied scores and words."""
    votes = []
    start = timezone.now() - timedelta(days=20)
    for n in range(count):
        scores = np.clip(np.round(rng.normal(3.8, 0.8, size=5)), 1, 5).astype(int).tolist()
        [vote] = votes_cast(
            campaign,
            [scores],
            comment=COMMENTS[n % len(COMMENTS)] + ("" if n < len(COMMENTS) else f" ({n})"),
            seconds_to_fill=int(rng.integers(40, 240)),
            ip_hash=fingerprint(f"10.0.{n}.1"),
            user_agent_hash=fingerprint(f"device-{n}"),
            created_at=start + timedelta(hours=float(rng.uniform(0, 24 * 18))),
        )
        User.objects.filter(pk=vote.user_id).update(
            date_joined=timezone.now() - timedelta(days=int(rng.integers(200, 2000)))
        )
        for _ in range(int(rng.integers(2, 12))):
            OrderLineFactory(buyer=vote.user)
        votes.append(vote)
    return votes


def _ring(campaign: Campaign, count: int) -> list[Vote]:
    """One phone, one network, many new accounts: all fives within two hours, quick fills, one comment."""
    start = timezone.now() - timedelta(days=3)
    votes = []
    for n in range(count):
        [vote] = votes_cast(
            campaign,
            [[5] * 5],
            comment="回购无数次了，强烈推荐！！",
            seconds_to_fill=6,
            ip_hash=fingerprint("203.0.113.7"),
            user_agent_hash=fingerprint("ring-phone"),
            created_at=start + timedelta(minutes=10 * n),
        )
        votes.append(vote)
    return votes


@pytest.fixture
def shampoo_with_a_ring() -> tuple[Campaign, list[Vote], list[Vote]]:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 5, "prior_strength": 0})
    category = rating_ready_category()
    rng = np.random.default_rng(4)
    target = campaign_for(ProductFactory(category=category))
    others = [campaign_for(ProductFactory(category=category)) for _ in range(3)]
    genuine = _genuine(target, 25, rng)
    for other in others:
        genuine += _genuine(other, 20, rng)
    return target, genuine, _ring(target, 8)


def test_a_ring_on_one_device_is_excluded_with_its_reason_and_genuine_buyers_count(
    shampoo_with_a_ring: Any, django_capture_on_commit_callbacks: Any
) -> None:
    target, genuine, ring = shampoo_with_a_ring

    with django_capture_on_commit_callbacks(execute=True):
        outcome = screening.votes_screen()

    verdicts = dict(VoteScreening.objects.values_list("vote_id", "verdict"))
    assert outcome.screened == len(genuine) + len(ring)
    assert all(verdicts[vote.pk] != "counted" for vote in ring)
    assert [vote.pk for vote in genuine if verdicts[vote.pk] == "excluded"] == []
    assert sum(verdicts[vote.pk] == "review" for vote in genuine) <= 1  # at most one ordinary buyer asked about
    codes = {reason["code"] for reason in VoteScreening.objects.get(vote=ring[0]).reasons}
    assert "shared_device" in codes
    # and the product's score is made of the counted votes only
    result = ProductResult.objects.get(product=target.product, is_latest=True)
    target_votes = Vote.objects.filter(campaign=target)
    assert result.counted == target_votes.filter(verdict=Vote.Verdict.COUNTED).count() >= 24
    assert result.excluded_screening == target_votes.filter(verdict=Vote.Verdict.EXCLUDED).count() >= 1
    assert result.counted + result.excluded_screening + result.under_review == len(ring) + 25


def test_screening_again_with_no_new_data_changes_nothing(shampoo_with_a_ring: Any) -> None:
    screening.votes_screen()
    before = list(VoteScreening.objects.order_by("vote_id").values_list("vote_id", "verdict", "score", "screened_at"))

    again = screening.votes_screen()

    assert (again.excluded, again.review, again.counted_again) == (0, 0, 0)
    after = list(VoteScreening.objects.order_by("vote_id").values_list("vote_id", "verdict", "score", "screened_at"))
    assert after == before


def test_screening_again_rewrites_only_the_verdicts_that_changed(shampoo_with_a_ring: Any) -> None:
    _target, genuine, _ring_votes = shampoo_with_a_ring
    screening.votes_screen()
    stale = VoteScreening.objects.get(vote=genuine[0])
    VoteScreening.objects.filter(pk=stale.pk).update(score=0.99, screened_at=timezone.now() - timedelta(days=1))
    before = dict(VoteScreening.objects.exclude(pk=stale.pk).values_list("vote_id", "screened_at"))

    screening.votes_screen()

    stale_after = VoteScreening.objects.get(pk=stale.pk)
    assert (stale_after.score, stale_after.verdict) == (stale.score, stale.verdict)
    assert stale_after.screened_at > stale.screened_at
    assert dict(VoteScreening.objects.exclude(pk=stale.pk).values_list("vote_id", "screened_at")) == before


def test_every_categorys_votes_read_in_one_pass_are_what_a_read_of_the_category_alone_gives(
    shampoo_with_a_ring: Any,
) -> None:
    other = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(other, [[4, 3, 4, 5, 4], [3, 4, 4, 4, 5]], comment="Fine.")

    tables = screening.rating_tables(Vote.objects.all())

    assert sorted(tables) == sorted(screening.categories_with_votes())
    for category_id, table in tables.items():
        alone = screening.rating_table(Vote.objects.filter(campaign__category_id=category_id))
        for column in ("vote_id", "user_id", "product_id", "timestamp", "seconds_to_fill", "account_age_days"):
            np.testing.assert_array_equal(getattr(table, column), getattr(alone, column))
        np.testing.assert_array_equal(table.scores, alone.scores)
        assert table.comment == alone.comment


def test_the_nightly_screening_trains_then_judges_every_vote_with_the_new_model(shampoo_with_a_ring: Any) -> None:
    _target, genuine, ring = shampoo_with_a_ring
    old = screening.screener_train()

    model, outcome = screening.screening_nightly()

    assert model.is_current and model.pk != old.pk
    assert outcome.screened == len(genuine) + len(ring) == VoteScreening.objects.filter(model=model).count()
    verdicts = dict(VoteScreening.objects.values_list("vote_id", "verdict"))
    assert all(verdicts[vote.pk] != "counted" for vote in ring)
    assert [vote.pk for vote in genuine if verdicts[vote.pk] == "excluded"] == []
    # the same verdicts as training and then screening, each reading the votes on its own
    screening.screener_train()
    again = screening.votes_screen()
    assert (again.excluded, again.review, again.counted_again) == (0, 0, 0)
    assert dict(VoteScreening.objects.values_list("vote_id", "verdict")) == verdicts


def test_a_model_stored_by_an_older_screener_is_replaced_by_a_new_one_before_screening(
    shampoo_with_a_ring: Any,
) -> None:
    # given: the current model was stored by the screener before its features changed (another format)
    old = screening.screener_train()
    ScreeningModel.objects.filter(pk=old.pk).update(artefact=b"LRH-SCREENER\x01" + bytes(old.artefact)[13:])

    outcome = screening.votes_screen()

    # then: votes are screened, by a model fitted now, which becomes the current one
    target, genuine, ring = shampoo_with_a_ring
    assert outcome.screened == len(genuine) + len(ring)
    current = ScreeningModel.objects.get(is_current=True)
    assert current.pk != old.pk
    assert VoteScreening.objects.filter(model=current).count() == outcome.screened


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_after_a_release_that_changed_the_features_one_task_fits_the_new_model_and_the_others_use_it(
    shampoo_with_a_ring: Any,
) -> None:
    # given: the current model is of an older format, and three votes' screening tasks start at once
    _target, genuine, _ring = shampoo_with_a_ring
    old = screening.screener_train()
    ScreeningModel.objects.filter(pk=old.pk).update(artefact=b"LRH-SCREENER\x01" + bytes(old.artefact)[13:])

    _results, errors = run_at_once(lambda i: screening.votes_screen(vote_ids=[genuine[i].pk]), threads=3)

    # then: one new model was fitted, and each vote was screened by it
    assert errors == []
    fitted = ScreeningModel.objects.exclude(pk=old.pk)
    assert fitted.count() == 1 and fitted.get().is_current
    assert set(VoteScreening.objects.filter(vote__in=genuine[:3]).values_list("model", flat=True)) == {fitted.get().pk}


def test_a_managers_decision_wins_over_the_model(shampoo_with_a_ring: Any) -> None:
    _target, _genuine_votes, ring = shampoo_with_a_ring
    spared = ring[0]
    case = services.case_open_for_review(vote=spared, rule=screening.screening_rule(), evidence={})
    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=case.pk, choice="complies")

    screening.votes_screen()

    spared.refresh_from_db()
    assert spared.verdict == Vote.Verdict.COUNTED
    assert VoteScreening.objects.get(vote=spared).verdict != "counted"  # the model still says so, for staff


def test_doubtful_votes_go_to_managers_with_readable_evidence(shampoo_with_a_ring: Any) -> None:
    screening.votes_screen()

    before_managers = Case.objects.filter(source=Case.Source.SCREENING, status=Case.Status.OPEN)
    for case in before_managers:
        assert case.vote.verdict == Vote.Verdict.REVIEW
        assert case.evidence["reasons"]
    if not before_managers.exists():
        assert VoteScreening.objects.filter(verdict="review").count() == 0


def test_a_new_vote_is_screened_right_after_it_is_cast(django_capture_on_commit_callbacks: Any) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    invitation = accepted_invitation(campaign=campaign)
    scores = dict.fromkeys(campaign.factors.values_list("pk", flat=True), 4)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = vote_submit(invitation=invitation, user=invitation.user, scores=scores, comment="Nice.")

    assert VoteScreening.objects.filter(vote=outcome.vote).exists()
    assert ScreeningModel.objects.filter(is_current=True).count() == 1


def test_a_vote_whose_screening_was_never_enqueued_is_screened_by_the_sweep() -> None:
    # given a vote cast while the broker was down (its after-commit task never ran) and one just cast
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [missed, fresh] = votes_cast(campaign, [[4] * 5, [3] * 5])
    Vote.objects.filter(pk=missed.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    # when the beat's sweep runs, twice
    first = sweep_unscreened.apply().get()
    before = list(VoteScreening.objects.values_list("vote_id", "verdict", "screened_at"))
    sweep_unscreened.apply()

    # then the missed vote has its verdict; the fresh one is left to its own task; a repeat changes nothing
    assert "screened=1" in first
    assert [row[0] for row in before] == [missed.pk]
    assert list(VoteScreening.objects.values_list("vote_id", "verdict", "screened_at")) == before
    assert not VoteScreening.objects.filter(vote=fresh).exists()


def test_retraining_stores_a_new_current_version_that_learnt_from_decisions(shampoo_with_a_ring: Any) -> None:
    _target, genuine, ring = shampoo_with_a_ring
    first = screening.screener_train()
    for vote, outcome in ((ring[1], "violates"), (genuine[0], "complies")):
        case = services.case_open_for_review(vote=vote, rule=screening.screening_rule(), evidence={})
        for _ in range(5):
            services.vote_cast(manager=manager(), case_id=case.pk, choice=outcome)

    second = screening.screener_train()

    assert second.version != first.version
    assert list(ScreeningModel.objects.filter(is_current=True)) == [second]
    assert (first.labelled_votes, second.labelled_votes) == (0, 2)
    assert second.training_votes == len(genuine) + len(ring)


def test_every_reason_code_reads_the_same_in_english_on_the_site_as_in_the_fraud_package() -> None:
    with override("en"):
        assert {code: str(text) for code, text in REASON_TEXT.items()} == dict(REASON_TEXT_EN)


def test_staff_see_verdicts_scores_reasons_and_model_versions(staff: Any, shampoo_with_a_ring: Any) -> None:
    screening.votes_screen()
    client = Client()
    client.force_login(staff)

    listing = client.get(reverse("admin:moderation_votescreening_changelist"), {"verdict": "excluded"})
    models = client.get(reverse("admin:moderation_screeningmodel_changelist"))

    assert listing.status_code == 200 and models.status_code == 200
    assert "accounts on one device" in listing.content.decode() or "台设备" in listing.content.decode()
    assert ScreeningModel.objects.get().version in models.content.decode()


def test_the_methodology_page_names_the_screening_model_in_use(client: Client, shampoo_with_a_ring: Any) -> None:
    before = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    model = screening.screener_train()
    after = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Automatic screening is not switched on yet" in before
    assert "Automatic screening is not switched on yet" not in after
    assert f"The screening now in use (version {model.version})" in after
    assert f"from {model.training_votes} votes" in after


def test_a_vote_committed_between_reading_votes_and_their_scores_is_left_to_its_own_screening() -> None:
    # given the votes read a moment ago, and one more vote committed since
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    read = votes_cast(campaign, [[4] * 5, [2] * 5])
    votes_cast(campaign, [[5] * 5])
    read_ids = np.asarray(sorted(vote.pk for vote in read), dtype=np.int64)

    # when their scores are read (the newcomer's come along)
    matrix = screening._score_matrix(read_ids, Vote.objects.filter(campaign=campaign))

    # then the matrix holds the votes read, row for row, and nothing of the newcomer
    assert matrix.tolist() == [[4.0] * 5, [2.0] * 5]
