"""Ratings that survive time: campaigns roll over, people are invited again, votes are amended and
verdicts change, and still each person holds one vote per product, published scores carry over, and
every run can be recomputed from its cut-off."""

import random
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import OrderLine, Product
from ratings import eligibility, scoring, services, verification
from ratings.models import Campaign, FactorScore, Invitation, ProductResult, Vote, VoteRevision
from ratings.purchases import purchases_withdrawn
from tests.factories import FactorFactory, ProductFactory, rating_ready_category
from tests.ratings.eligibility_factories import active_buyer, category_with_products, purchase, set_policy
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _roll_over(campaign: Campaign, *, at: datetime | None = None) -> Campaign:
    """Close the campaign and open the product's next one, as a monthly eligibility run does."""
    at = at or timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED, closes_at=at - timedelta(seconds=1))
    return campaign_for(campaign.product, opens_at=at - timedelta(seconds=1), closes_at=at + timedelta(days=30))


def _reinvite(voter_vote: Vote, campaign: Campaign) -> Invitation:
    return accepted_invitation(campaign=campaign, user=voter_vote.user)


def _scores(campaign: Campaign, score: int) -> dict[int, int]:
    return {factor.pk: score for factor in campaign.factors.all()}


def _product() -> Product:
    product: Product = ProductFactory(category=rating_ready_category())
    return product


def _published(product: Product) -> ProductResult:
    return ProductResult.objects.get(product=product, is_latest=True)


def test_the_database_refuses_a_second_vote_by_one_person_on_one_product() -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[4] * 5])
    second = _roll_over(first)
    invitation = _reinvite(vote, second)

    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(campaign=second, user=vote.user, invitation=invitation, product_id=first.product_id)


def test_a_reinvited_voter_cannot_add_a_second_vote_only_confirm_or_amend() -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[2] * 5])
    second = _roll_over(first)
    invitation = _reinvite(vote, second)

    outcome = services.vote_submit(invitation=invitation, user=vote.user, scores=_scores(second, 5))

    assert outcome.status == services.VoteStatus.ALREADY_RATED
    assert Vote.objects.filter(user=vote.user).count() == 1
    assert set(FactorScore.objects.filter(vote=vote).values_list("score", flat=True)) == {2}


def test_confirming_moves_the_vote_to_the_new_campaign_and_keeps_the_earlier_state() -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[1, 2, 3, 4, 5]], created_at=timezone.now() - timedelta(days=40))
    second = _roll_over(first)
    invitation = _reinvite(vote, second)

    outcome = services.vote_confirm(invitation=invitation, user=vote.user)

    assert outcome.status == services.VoteStatus.CONFIRMED
    vote.refresh_from_db()
    assert vote.campaign_id == second.pk and vote.invitation_id == invitation.pk
    assert vote.submitted_at > timezone.now() - timedelta(minutes=1), "a confirmation counts from now"
    moved = dict(FactorScore.objects.filter(vote=vote).values_list("factor__factor_id", "score"))
    assert moved == dict(zip(_factor_ids(second), [1, 2, 3, 4, 5], strict=True))
    [revision] = VoteRevision.objects.filter(vote=vote)
    assert revision.campaign_id == first.pk
    assert sorted(revision.scores.values()) == [1, 2, 3, 4, 5]
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.VOTED
    again = services.vote_confirm(invitation=invitation, user=vote.user)
    assert again.status == services.VoteStatus.ALREADY_RATED
    assert VoteRevision.objects.filter(vote=vote).count() == 1


def test_a_confirmation_is_refused_when_the_new_campaign_rates_a_factor_the_vote_did_not_score() -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[3] * 5])
    FactorFactory(category=first.category, position=99)
    second = _roll_over(first)
    invitation = _reinvite(vote, second)

    with translation.override("en"), pytest.raises(services.RatingError, match="amend"):
        services.vote_confirm(invitation=invitation, user=vote.user)

    vote.refresh_from_db()
    assert vote.campaign_id == first.pk, "nothing stored"
    amended = services.vote_submit(
        invitation=invitation, user=vote.user, scores=_scores(second, 4), amends_revision=vote.revision_count
    )
    assert amended.status == services.VoteStatus.AMENDED
    assert FactorScore.objects.filter(vote=vote).count() == 6
    assert Vote.objects.filter(user=vote.user).count() == 1


def test_a_rollover_keeps_the_published_score_and_the_list_place() -> None:
    set_policy(min_votes_to_publish=3, list_threshold=3)
    first = campaign_for(_product())
    votes_cast(first, [[5] * 5] * 4)
    scoring.run_all(triggered_by="test")
    before = _published(first.product)
    assert before.published and Product.objects.get(pk=first.product_id).heart_rank == 1

    second = _roll_over(first)
    run = scoring.run_all(triggered_by="test")

    after = _published(first.product)
    assert after.published and after.counted == before.counted == 4
    assert after.comprehensive == pytest.approx(before.comprehensive)
    assert after.campaign_id == second.pk, "shown on the factors of the latest campaign"
    assert Product.objects.get(pk=first.product_id).heart_rank == 1
    assert Campaign.objects.get(pk=first.pk).status == Campaign.Status.SCORED
    assert Campaign.objects.get(pk=second.pk).status == Campaign.Status.OPEN
    assert run.products_published == 1


def test_a_buyer_invited_by_both_campaigns_of_a_product_is_one_buyer_invited() -> None:
    set_policy(min_votes_to_publish=1)
    first = campaign_for(_product())
    voters = votes_cast(first, [[4] * 5] * 4)
    accepted_invitation(campaign=first)  # a fifth buyer, who has not voted
    second = _roll_over(first)
    for vote in voters[:2]:
        _reinvite(vote, second)
    accepted_invitation(campaign=second)  # a buyer new to the second campaign
    other = campaign_for(_product())
    votes_cast(other, [[3] * 5] * 2)

    run = scoring.run_all(triggered_by="test")

    assert _published(first.product).invited == 6, "4 voters + 1 + 1 new; the 2 invited again count once"
    assert _published(other.product).invited == 2
    assert run.status == run.Status.FINISHED
    # a re-score reads the product alone: one more buyer invited, and one of the first campaign's invited again
    accepted_invitation(campaign=second)
    _reinvite(voters[2], second)
    assert scoring.rescore_request(campaign_id=second.pk)
    assert scoring.campaign_rescore(campaign_id=second.pk) is not None
    assert _published(first.product).invited == 7


def test_votes_leave_the_score_after_the_window_and_a_confirmation_brings_them_back() -> None:
    set_policy(min_votes_to_publish=1, score_window_days=365)
    first = campaign_for(_product(), opens_at=timezone.now() - timedelta(days=400))
    [old] = votes_cast(first, [[2] * 5], created_at=timezone.now() - timedelta(days=390))
    votes_cast(first, [[4] * 5], created_at=timezone.now() - timedelta(days=100))
    second = _roll_over(first)

    scoring.run_all(triggered_by="test")
    assert _published(first.product).counted == 1
    assert _published(first.product).comprehensive == pytest.approx(4)

    services.vote_confirm(invitation=_reinvite(old, second), user=old.user)
    scoring.run_all(triggered_by="test")

    assert _published(first.product).counted == 2
    assert _published(first.product).comprehensive == pytest.approx(3)


@pytest.mark.postgres  # verify_scores reads the database in PostgreSQL's SQL
def test_a_past_run_recomputes_exactly_after_later_amendments_exclusions_and_new_votes() -> None:
    set_policy(min_votes_to_publish=2)
    first = campaign_for(_product(), opens_at=timezone.now() - timedelta(days=20))
    votes = votes_cast(first, [[3] * 5, [4] * 5, [5] * 5], created_at=timezone.now() - timedelta(days=10))
    earlier = scoring.run_all(triggered_by="test", now=timezone.now() - timedelta(days=5))
    figures = _published(first.product).comprehensive

    # later: an amendment, an exclusion, a new vote, a rollover and a fresh run
    invitation = votes[0].invitation
    services.vote_submit(invitation=invitation, user=votes[0].user, scores=_scores(first, 1), amends_revision=0)
    Vote.objects.filter(pk=votes[1].pk).update(
        verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION, updated_at=timezone.now()
    )
    votes_cast(first, [[1] * 5])
    later = scoring.run_all(triggered_by="test")
    assert _published(first.product).comprehensive != pytest.approx(figures)

    for run in (earlier, later):
        report = verification.database_verify(run_id=run.pk)
        assert report.products == 1 and report.differences == []

    call_command("verify_scores", "--all", stdout=StringIO())

    # the check can fail: a figure tampered with is found
    ProductResult.objects.filter(run=earlier).update(comprehensive=F("comprehensive") - 0.25)
    found = verification.database_verify(run_id=earlier.pk).differences
    assert {d.product_id for d in found} == {first.product_id}
    with pytest.raises(CommandError, match="figures differ"):
        call_command("verify_scores", "--run", str(earlier.pk), stdout=StringIO())


def test_the_invitation_page_offers_to_confirm_or_amend_an_earlier_vote(client: Client) -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[4] * 5])
    invitation = _reinvite(vote, _roll_over(first))
    client.force_login(vote.user)

    page = client.get(invitation.get_absolute_url(), headers={"accept-language": "en"})
    assert "You have rated this product before" in page.content.decode()
    assert reverse("ratings:vote_confirm", args=[invitation.pk]) in page.content.decode()

    confirmed = client.post(
        reverse("ratings:vote_confirm", args=[invitation.pk]), follow=True, headers={"accept-language": "en"}
    )
    assert "Your vote is confirmed" in confirmed.content.decode()
    amend_form = client.get(reverse("ratings:vote", args=[invitation.pk]))
    assert amend_form.status_code == 200
    assert amend_form.content.decode().count("checked") >= 5, "the earlier scores are shown under the new factors"


@pytest.mark.postgres  # verify_scores reads the database in PostgreSQL's SQL
def test_a_simulated_year_of_monthly_runs_never_gives_two_votes_or_drops_a_published_score() -> None:
    """12 monthly eligibility runs with purchases arriving, votes, amendments, confirmations, second
    attempts and refunds; a full scoring run after each."""
    rng = random.Random(7)
    set_policy(
        min_votes_to_publish=3,
        products_per_category=3,
        campaign_days=28,
        invitation_days=20,
        max_open_invitations=10,
        use_days=7,
        min_account_days=0,
        active_days=400,
    )
    start = timezone.now() - timedelta(days=380)
    category, products = category_with_products(3)
    buyers = [active_buyer(date_joined=start - timedelta(days=30), last_seen_at=timezone.now()) for _ in range(24)]
    published_before: set[int] = set()
    runs = []
    for month in range(12):
        now = start + timedelta(days=30 * month)
        for buyer in rng.sample(buyers, 6):  # purchases arriving
            paid = now - timedelta(days=10)
            purchase(buyer, rng.choice(products), days_ago=(timezone.now() - paid).total_seconds() / 86400)
        plan = eligibility.run_start(triggered_by="test", now=now)
        for category_id, selected in plan.selections.items():
            eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
        eligibility.run_invite(run_id=plan.run.pk)
        for invitation in Invitation.objects.filter(run=plan.run).select_related("campaign", "user"):
            if rng.random() < 0.2:
                continue
            when = now + timedelta(days=1, hours=rng.randint(0, 48))
            services.invitation_accept(invitation=invitation, user=invitation.user, now=when)
            _rate(invitation, when=when, rng=rng)
        refunded = (
            Vote.objects.filter(invitation__purchase__status=OrderLine.Status.PAID)
            .order_by("pk")
            .values_list("invitation__purchase_id", flat=True)
        )
        if refunded and rng.random() < 0.6:  # a refund arrives from the store
            line = rng.choice(list(refunded))
            when = now + timedelta(days=5)
            OrderLine.objects.filter(pk=line).update(status=OrderLine.Status.REFUNDED, status_changed_at=when)
            purchases_withdrawn(order_line_ids=[line], now=when)
        runs.append(scoring.run_all(triggered_by="test", now=now + timedelta(days=20)))
        published = set(
            ProductResult.objects.filter(is_latest=True, published=True, product__category=category).values_list(
                "product_id", flat=True
            )
        )
        assert published_before <= published, f"month {month}: a published score disappeared"
        published_before = published
        twice = Vote.objects.values("product_id", "user_id").annotate(n=Count("pk")).filter(n__gt=1)
        assert not twice.exists()
        assert not Vote.objects.filter(
            verdict=Vote.Verdict.COUNTED, invitation__purchase__status=OrderLine.Status.REFUNDED
        ).exists(), "a vote counts on a refunded purchase"

    assert len(published_before) >= 2, "the year published scores"
    assert Campaign.objects.filter(status=Campaign.Status.SCORED).count() >= 10
    assert VoteRevision.objects.exists(), "re-invited voters confirmed or amended"
    assert Vote.objects.filter(exclusion_reason=Vote.ExclusionReason.REFUND).exists(), "refunds took votes back"
    reports = [verification.database_verify(run_id=run.pk) for run in runs]
    for run, report in zip(runs, reports, strict=True):
        assert report.differences == [], f"run {run.pk} does not recompute: {report.differences[:3]}"
    assert sum(report.products for report in reports) >= 12


def _rate(invitation: Invitation, *, when: datetime, rng: random.Random) -> None:
    """What a purchaser does with an accepted invitation: rate, confirm or amend, or try a second vote."""
    factors = list(invitation.campaign.factors.all())
    existing = Vote.objects.filter(product_id=invitation.campaign.product_id, user=invitation.user).first()
    scores = {factor.pk: rng.randint(1, 5) for factor in factors}
    if existing is None:
        outcome = services.vote_submit(invitation=invitation, user=invitation.user, scores=scores, now=when)
        assert outcome.status == services.VoteStatus.CREATED
        return
    choice = rng.random()
    if choice < 0.3:
        outcome = services.vote_submit(invitation=invitation, user=invitation.user, scores=scores, now=when)
        assert outcome.status == services.VoteStatus.ALREADY_RATED, "a second vote is never added"
    elif choice < 0.65:
        outcome = services.vote_confirm(invitation=invitation, user=invitation.user, now=when)
        assert outcome.status == services.VoteStatus.CONFIRMED
    else:
        outcome = services.vote_submit(
            invitation=invitation,
            user=invitation.user,
            scores=scores,
            amends_revision=existing.revision_count,
            now=when,
        )
        assert outcome.status == services.VoteStatus.AMENDED


def _factor_ids(campaign: Campaign) -> list[int]:
    return list(campaign.factors.order_by("position", "id").values_list("factor_id", flat=True))


def test_a_vote_excluded_for_a_refund_counts_again_when_confirmed_on_a_kept_purchase() -> None:
    first = campaign_for(_product())
    [vote] = votes_cast(first, [[4] * 5])
    line = vote.invitation.purchase
    OrderLine.objects.filter(pk=line.pk).update(status=OrderLine.Status.REFUNDED, status_changed_at=timezone.now())
    purchases_withdrawn(order_line_ids=[line.pk])
    assert Vote.objects.get(pk=vote.pk).exclusion_reason == Vote.ExclusionReason.REFUND

    # bought again, and invited again on the new purchase
    again = _reinvite(vote, _roll_over(first))
    assert again.purchase_id != line.pk
    services.vote_confirm(invitation=again, user=vote.user)

    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.COUNTED and vote.exclusion_reason == ""
