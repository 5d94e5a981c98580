"""A full run carries a category over when nothing of it changed since the last full run (issue 17: a re-run
with no new data costs a fraction of a run), and scores it when anything did: every change a person or a job
can make, each checked by ``verify_scores`` recomputing the run on its own path."""

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Category
from ratings import scoring
from ratings.models import (
    Campaign,
    FactorReliability,
    FactorScore,
    HeartListEntry,
    Invitation,
    ScoringRun,
    ScoringRunCategory,
    Vote,
)
from tests.factories import ProductFactory, rating_ready_category
from tests.moderation.factories import counterfeit_confirmed
from tests.ratings.eligibility_factories import set_policy
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SCORES = [[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5], [4, 5, 4, 4, 4]]


def _category_rated(products: int = 2) -> list[Campaign]:
    """A category whose products were voted on two days ago, their invitations made three days ago: a run's
    carry-over counts what is dated within minutes of the last run's cut-off as changed (it may have been committed
    after that run read)."""
    category = rating_ready_category()
    campaigns = []
    two_days_ago = timezone.now() - timedelta(days=2)
    for n in range(products):
        campaign = campaign_for(ProductFactory(category=category), opens_at=timezone.now() - timedelta(days=10))
        votes_cast(campaign, SCORES[n:] + SCORES[:n], created_at=two_days_ago)
        Vote.objects.filter(campaign=campaign).update(updated_at=two_days_ago)
        Invitation.objects.filter(campaign=campaign).update(created_at=two_days_ago - timedelta(days=1))
        campaigns.append(campaign)
    return campaigns


def _parts(run: ScoringRun) -> dict[int, ScoringRunCategory]:
    return {part.category_id: part for part in run.categories.all()}


def _verified(run: ScoringRun) -> bool:
    out = StringIO()
    call_command("verify_scores", "--run", str(run.pk), stdout=out)
    return out.getvalue().strip().endswith(" 0 differ")


def _listed(run: ScoringRun) -> list[tuple[int, int, int, int | None, int | None]]:
    return list(
        HeartListEntry.objects.filter(run=run)
        .order_by("category_id", "rank")
        .values_list("category_id", "product_id", "rank", "rank_low", "rank_high")
    )


def _reliability(run: ScoringRun) -> list[tuple[int, int, int, float | None]]:
    return list(
        FactorReliability.objects.filter(run=run)
        .order_by("category_id", "factor_id")
        .values_list("category_id", "factor_id", "votes", "icc")
    )


def test_a_run_with_nothing_new_carries_every_category_over_with_its_list_and_reliability() -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    _category_rated()
    _category_rated()
    first = scoring.run_all(triggered_by="test")

    again = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(hours=1))

    parts = _parts(again)
    assert len(parts) == 2 and all(part.carried_from_id == first.pk for part in parts.values())
    assert again.products_changed == 0 and again.products_scored == first.products_scored == 4
    assert again.products_published == first.products_published == 4 and again.products_listed == 4
    assert [part.prior for part in parts.values()] == [part.prior for part in _parts(first).values()]
    assert [row[1:] for row in _listed(again)] == [row[1:] for row in _listed(first)] and _listed(first)
    assert _reliability(again) == _reliability(first) and _reliability(first)
    assert again.input_fingerprint == first.input_fingerprint
    assert _verified(again)


def _score_changed(campaign: Campaign) -> None:  # a direct fix, not through the services: the database notices
    scored = FactorScore.objects.filter(vote__campaign=campaign).order_by("pk").first()
    assert scored is not None
    FactorScore.objects.filter(pk=scored.pk).update(score=1 if scored.score != 1 else 2)


def _vote_excluded(campaign: Campaign) -> None:  # a bulk update that does not set updated_at
    Vote.objects.filter(pk=Vote.objects.filter(campaign=campaign).order_by("pk").values("pk")[:1]).update(
        verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION
    )


def _vote_added(campaign: Campaign) -> None:
    votes_cast(campaign, [[3, 3, 3, 3, 3]])


def _vote_deleted(campaign: Campaign) -> None:  # by staff in the admin, say
    Vote.objects.filter(pk=Vote.objects.filter(campaign=campaign).order_by("pk").values("pk")[:1]).delete()


def _vote_out_of_the_window(campaign: Campaign) -> None:
    """One vote a year old, so that the next run (a day later) leaves it out of the 365-day window."""
    long_ago = timezone.now() - timedelta(days=364, hours=12)
    Vote.objects.filter(pk=Vote.objects.filter(campaign=campaign).order_by("pk").values("pk")[:1]).update(
        created_at=long_ago, submitted_at=long_ago, updated_at=long_ago
    )


def _vote_committed_after_the_run_read(campaign: Campaign) -> None:
    """A vote dated a minute before the last run's cut-off, committed only after that run read its votes."""
    cutoff = ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL).latest("data_cutoff").data_cutoff
    (vote,) = votes_cast(campaign, [[2, 2, 2, 2, 2]], created_at=cutoff - timedelta(minutes=1))
    Vote.objects.filter(pk=vote.pk).update(updated_at=cutoff - timedelta(minutes=1))
    Invitation.objects.filter(pk=vote.invitation_id).update(created_at=cutoff - timedelta(minutes=2))


def _invited(campaign: Campaign) -> None:
    accepted_invitation(campaign=campaign)


def _invitation_out_of_the_window(campaign: Campaign) -> None:
    long_ago = timezone.now() - timedelta(days=364, hours=12)
    accepted_invitation(campaign=campaign, created_at=long_ago, expires_at=long_ago + timedelta(days=14))


def _invitation_deleted(campaign: Campaign) -> None:  # one without a vote (``_plant`` made it before the first run)
    Invitation.objects.filter(campaign=campaign, vote__isnull=True).delete()


def _campaign_rolled_over(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED, closes_at=timezone.now())
    campaign_for(campaign.product, opens_at=timezone.now() - timedelta(hours=1))


def _category_minimum_changed(campaign: Campaign) -> None:
    Category.objects.filter(pk=campaign.category_id).update(min_votes_to_publish=5)


def _counterfeit_confirmed(campaign: Campaign) -> None:
    counterfeit_confirmed(campaign.product)


#: Changes planted before the first run, to show only with the time that passes before the second.
BEFORE_THE_FIRST_RUN = {_vote_out_of_the_window, _invitation_out_of_the_window}
#: What a change needs before the first run.
PLANTED = {_invitation_deleted: _invited}


@pytest.mark.parametrize(
    "change",
    [
        _score_changed,
        _vote_excluded,
        _vote_added,
        _vote_committed_after_the_run_read,
        _vote_deleted,
        _vote_out_of_the_window,
        _invited,
        _invitation_out_of_the_window,
        _invitation_deleted,
        _campaign_rolled_over,
        _category_minimum_changed,
        _counterfeit_confirmed,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_category_is_scored_again_after_any_change_and_the_run_verifies(change: Callable[[Campaign], None]) -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    changed, _same = _category_rated(), _category_rated()
    if change in PLANTED:
        PLANTED[change](changed[0])
    if change in BEFORE_THE_FIRST_RUN:
        change(changed[0])
    first = scoring.run_all(triggered_by="test")
    if change not in BEFORE_THE_FIRST_RUN:
        change(changed[0])

    again = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(days=1))

    parts = _parts(again)
    scored, carried = parts[changed[0].category_id], parts[_same[0].category_id]
    assert scored.carried_from_id is None, "the changed category is scored"
    assert carried.carried_from_id == first.pk, "the other is carried over"
    assert _verified(again), "every figure of the run, carried or scored, is what its votes say"


def test_a_changed_policy_scores_every_category() -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    _category_rated()
    _category_rated()
    scoring.run_all(triggered_by="test")
    set_policy(prior_strength=3)

    again = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(hours=1))

    assert [part.carried_from_id for part in _parts(again).values()] == [None, None]
    assert _verified(again)


def test_a_run_after_a_re_score_scores_the_category_again() -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    campaign = _category_rated()[0]
    scoring.run_all(triggered_by="test")
    scoring.rescore_request(campaign_id=campaign.pk)
    scoring.campaign_rescore(campaign_id=campaign.pk)

    again = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(hours=1))

    assert _parts(again)[campaign.category_id].carried_from_id is not None, "a re-score that wrote nothing"
    _vote_added(campaign)
    scoring.rescore_request(campaign_id=campaign.pk)
    assert scoring.campaign_rescore(campaign_id=campaign.pk) is not None

    third = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(hours=2))

    assert _parts(third)[campaign.category_id].carried_from_id is None
    assert _verified(third)


def test_a_run_with_a_fifth_of_its_categories_left_reads_only_their_products_and_verifies() -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    categories = [_category_rated() for _ in range(5)]
    scoring.run_all(triggered_by="test")
    changed = categories[2]
    _vote_added(changed[0])

    again = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(hours=1))

    scored = [pk for pk, part in _parts(again).items() if part.carried_from_id is None]
    assert scored == [changed[0].category_id]
    assert scoring._run_inputs_cached is not None
    assert set(scoring._run_inputs_cached[1].factor_defs) == {c.pk for c in changed}, "only its products were read"
    assert again.products_changed == 2 and _verified(again)
