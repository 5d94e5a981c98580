"""Brands as users, who can never steer: an account staff link to a brand or a store is never invited to rate
its products, and cannot rate, report, judge, appeal or mark helpful anything about them. Each refusal
stores nothing and answers 403 with the reason; its votes on other brands' products go through as anyone's.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification
from catalog.models import BrandAccount, Product
from catalog.stakes import BrandStakeRefused, has_stake
from moderation import selectors as moderation_selectors
from moderation import services as moderation_services
from moderation.models import Appeal, Case, ManagerVote, Report, VoteScreening
from ratings import scoring
from ratings import services as rating_services
from ratings.forms import form_token
from ratings.models import Invitation, ProductResult, ReviewHelpful, Vote
from ratings.purchases import vote_reinstate
from tests.factories import (
    BrandFactory,
    NoteFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
    brand_account,
    rating_ready_category,
)
from tests.moderation.factories import RuleFactory, manager, note_case, vote_case
from tests.ratings.eligibility_factories import active_buyer, category_with_products, purchase, set_policy
from tests.ratings.factories import InvitationFactory, accepted_invitation, campaign_for, vote_for, votes_cast

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def campaign() -> Any:
    from tests.ratings.factories import CampaignFactory

    return CampaignFactory()


def signed_in(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def refused(response: Any, words: str) -> None:
    assert response.status_code == 403
    assert words in response.content.decode()


# --- The link ---------------------------------------------------------------------------------------


def test_a_link_names_exactly_one_brand_or_store() -> None:
    user, brand, store = UserFactory(), BrandFactory(), StoreFactory()
    for target in ({}, {"brand": brand, "store": store}):
        with pytest.raises(IntegrityError), transaction.atomic():
            BrandAccount.objects.create(user=user, **target)
    assert not BrandAccount.objects.exists()


def test_an_account_is_linked_to_a_brand_or_a_store_once() -> None:
    user, brand, store = UserFactory(), BrandFactory(), StoreFactory()
    brand_account(user=user, brand=brand)
    brand_account(user=user, store=store)
    for target in ({"brand": brand}, {"store": store}):
        with pytest.raises(IntegrityError), transaction.atomic():
            BrandAccount.objects.create(user=user, **target)
    assert BrandAccount.objects.count() == 2


def test_staff_link_an_account_in_the_admin_and_a_duplicate_is_a_form_error(staff: Any) -> None:
    user, brand = UserFactory(), BrandFactory()
    client = signed_in(staff)
    url = reverse("admin:catalog_brandaccount_add")

    first = client.post(url, {"user": user.pk, "brand": brand.pk, "note": "asked by the brand"})
    again = client.post(url, {"user": user.pk, "brand": brand.pk})
    neither = client.post(url, {"user": user.pk})

    assert first.status_code == 302
    assert again.status_code == 200 and "linked to this brand already" in again.content.decode()
    assert neither.status_code == 200 and "one of the two" in neither.content.decode()
    assert BrandAccount.objects.count() == 1


def test_an_account_has_a_stake_in_its_brands_and_its_stores_products_only() -> None:
    brand, store = BrandFactory(), StoreFactory()
    own_brand, own_store, other = ProductFactory(brand=brand), ProductFactory(store=store), ProductFactory()
    user = brand_account(brand=brand)
    brand_account(user=user, store=store)

    assert has_stake(user_id=user.pk, product_ids=[own_brand.pk])
    assert has_stake(user_id=user.pk, product_ids=[own_store.pk])
    assert not has_stake(user_id=user.pk, product_ids=[other.pk])
    assert not has_stake(user_id=UserFactory().pk, product_ids=[own_brand.pk])


# --- Never invited ------------------------------------------------------------------------------------


def test_the_eligibility_job_never_invites_an_account_linked_to_the_products_brand_or_store(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from ratings.tasks import run_eligibility

    set_policy()
    _category, [product] = category_with_products()
    team, shop, elsewhere, shopper = active_buyer(), active_buyer(), active_buyer(), active_buyer()
    for buyer in (team, shop, elsewhere, shopper):
        purchase(buyer, product, days_ago=30)
    brand_account(user=team, brand=product.brand)
    brand_account(user=shop, store=product.store)
    brand_account(user=elsewhere, brand=BrandFactory())

    with django_capture_on_commit_callbacks(execute=True):
        run_eligibility.delay("test").get()

    invited = set(Invitation.objects.filter(campaign__product=product).values_list("user_id", flat=True))
    assert invited == {elsewhere.pk, shopper.pk}


# --- Never rates its products ------------------------------------------------------------------------


def test_an_invitation_from_before_the_link_cannot_be_accepted(campaign: Any) -> None:
    invitation = InvitationFactory(campaign=campaign)
    brand_account(user=invitation.user, brand=campaign.product.brand)

    with pytest.raises(BrandStakeRefused):
        rating_services.invitation_accept(invitation=invitation, user=invitation.user)
    response = signed_in(invitation.user).post(reverse("ratings:invitation_accept", args=[invitation.pk]))

    refused(response, "speaks for this product")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_a_linked_account_cannot_vote_on_its_brands_product(campaign: Any) -> None:
    invitation = accepted_invitation(campaign=campaign)
    brand_account(user=invitation.user, store=campaign.product.store)
    scores = {factor.pk: 5 for factor in campaign.factors.all()}
    form = {f"factor_{pk}": "5" for pk in scores} | {
        "started": form_token(invitation_id=invitation.pk, amends_revision=None)
    }

    with pytest.raises(BrandStakeRefused):
        rating_services.vote_submit(invitation=invitation, user=invitation.user, scores=scores)
    client = signed_in(invitation.user)
    page = client.get(reverse("ratings:vote", args=[invitation.pk]))
    sent = client.post(reverse("ratings:vote", args=[invitation.pk]), form)
    detail = client.get(invitation.get_absolute_url())

    refused(page, "speaks for this product")
    refused(sent, "speaks for this product")
    refused(detail, "speaks for this product")
    assert not Vote.objects.exists()


def test_a_linked_account_cannot_confirm_an_earlier_vote_on_its_brands_product(campaign: Any) -> None:
    from tests.ratings.factories import CampaignFactory

    earlier = CampaignFactory(product=campaign.product, category=campaign.category, status="closed")
    user = UserFactory()
    vote = vote_for(accepted_invitation(campaign=earlier, user=user))
    later = accepted_invitation(campaign=campaign, user=user)
    brand_account(user=user, brand=campaign.product.brand)

    with pytest.raises(BrandStakeRefused):
        rating_services.vote_confirm(invitation=later, user=user)
    response = signed_in(user).post(reverse("ratings:vote_confirm", args=[later.pk]))

    refused(response, "speaks for this product")
    vote.refresh_from_db()
    assert vote.campaign_id == earlier.pk


def test_a_linked_account_votes_on_another_brands_product_as_anyone_does_and_is_screened(
    campaign: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invitation = accepted_invitation(campaign=campaign)
    brand_account(user=invitation.user, brand=BrandFactory())
    scores = {factor.pk: 4 for factor in campaign.factors.all()}

    with django_capture_on_commit_callbacks(execute=True):
        outcome = rating_services.vote_submit(invitation=invitation, user=invitation.user, scores=scores)

    assert outcome.status == rating_services.VoteStatus.CREATED
    assert VoteScreening.objects.filter(vote=outcome.vote).exists()


def test_a_linked_account_cannot_mark_a_review_of_its_brands_product_helpful(campaign: Any) -> None:
    [review] = votes_cast(campaign, [[4] * campaign.factors.count()], comment="Lovely.")
    team = brand_account(brand=campaign.product.brand)

    with pytest.raises(BrandStakeRefused):
        rating_services.review_helpful_toggle(user=team, vote_id=review.pk)
    response = signed_in(team).post(reverse("ratings:review_helpful", args=[review.pk]))

    refused(response, "mark reviews of it as helpful")
    assert not ReviewHelpful.objects.exists()


# --- Never reports, judges or appeals anything about its products -----------------------------------


def test_a_linked_account_cannot_report_a_note_that_mentions_its_product() -> None:
    product, rule = ProductFactory(), RuleFactory()
    note = NoteFactory(mentions=[product, ProductFactory()])
    team = brand_account(brand=product.brand)

    with pytest.raises(BrandStakeRefused):
        moderation_services.report_submit(reporter=team, rule=rule, note=note)
    client = signed_in(team)
    page = client.get(reverse("moderation:report", args=["note", note.pk]))
    sent = client.post(reverse("moderation:report", args=["note", note.pk]), {"rule": rule.pk, "comment": "fake"})

    refused(page, "cannot report it")
    refused(sent, "cannot report it")
    assert not Report.objects.exists() and not Case.objects.exists()


def test_a_linked_account_cannot_report_a_rating_of_its_product(campaign: Any) -> None:
    [rating] = votes_cast(campaign, [[1] * campaign.factors.count()], comment="Awful.")
    team, rule = brand_account(store=campaign.product.store), RuleFactory()

    with pytest.raises(BrandStakeRefused):
        moderation_services.report_submit(reporter=team, rule=rule, vote=rating)
    response = signed_in(team).post(
        reverse("moderation:report", args=["rating", rating.pk]), {"rule": rule.pk, "comment": "a competitor"}
    )

    refused(response, "cannot report it")
    rating.refresh_from_db()
    assert rating.verdict == Vote.Verdict.COUNTED
    assert not Report.objects.exists() and not Case.objects.exists()


def test_a_manager_linked_to_the_brand_never_sees_nor_judges_its_cases(campaign: Any) -> None:
    [rating] = votes_cast(campaign, [[2] * campaign.factors.count()], comment="Meh.")
    about_rating = vote_case(rating)
    about_note = note_case(note=NoteFactory(mentions=[campaign.product]))
    elsewhere = note_case()
    judge = manager()
    brand_account(user=judge, brand=campaign.product.brand)

    queue = {entry.pk for entry in moderation_selectors.queue_entries(manager=judge)}
    with pytest.raises(BrandStakeRefused):
        moderation_services.vote_cast(manager=judge, case_id=about_note.pk, choice="complies")
    client = signed_in(judge)
    sent = client.post(reverse("moderation:case_vote", args=[about_rating.pk]), {"choice": "violates"})
    as_json = client.post(
        reverse("moderation:case_vote", args=[about_rating.pk]), {"choice": "violates"}, HTTP_ACCEPT="application/json"
    )
    page = client.get(reverse("moderation:case", args=[about_rating.pk]))

    assert queue == {elsewhere.pk}
    refused(sent, "others judge it")
    assert as_json.status_code == 403 and "others judge it" in as_json.json()["message"]
    assert page.status_code == 404
    assert not ManagerVote.objects.exists()
    kept = moderation_selectors.case_conflicts(about_note)
    assert kept == {judge: [moderation_selectors.Conflict.BRAND]}


def test_a_linked_account_cannot_appeal_a_decision_about_its_product() -> None:
    product = ProductFactory()
    team = brand_account(brand=product.brand)
    note = NoteFactory(author=team, mentions=[product], visibility="hidden")
    decided = note_case(
        note=note,
        status=Case.Status.DECIDED,
        outcome=Case.Outcome.VIOLATES,
        decided_at=timezone.now(),
        decided_by=Case.DecidedBy.MANAGERS,
    )

    with pytest.raises(BrandStakeRefused):
        moderation_services.appeal_submit(author=team, case_id=decided.pk, reason="It was fair.")
    response = signed_in(team).post(reverse("moderation:decision", args=[decided.pk]), {"reason": "It was fair."})

    refused(response, "cannot appeal it")
    assert not Appeal.objects.exists()


def test_staff_linked_to_the_brand_cannot_decide_its_cases(staff: Any) -> None:
    product = ProductFactory()
    brand_account(user=staff, brand=product.brand)
    case = note_case(note=NoteFactory(mentions=[product]))

    with pytest.raises(BrandStakeRefused):
        moderation_services.decision_apply(case=case, outcome=Case.Outcome.VIOLATES, staff=staff)
    response = signed_in(staff).post(
        reverse("admin:moderation_case_changelist"),
        {"action": "decide_violates", "_selected_action": [case.pk]},
        follow=True,
    )

    assert "others judge it" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_an_unlinked_account_still_reports_the_same_note() -> None:
    product = ProductFactory()
    brand_account(brand=product.brand)
    note = NoteFactory(mentions=[product])

    case = moderation_services.report_submit(reporter=UserFactory(), rule=RuleFactory(), note=note)

    assert case.reports_count == 1
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.fixture
def rated_by_the_brand() -> tuple[Vote, Any]:
    """A product scored from two 4-heart votes and a 5-heart one by an account the brand will ask staff to link."""
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 2)
    vote = vote_for(accepted_invitation(campaign=campaign), score=5)
    scoring.run_all(triggered_by="test")
    return vote, campaign


def test_staff_linking_an_account_exclude_its_earlier_ratings_of_the_brand_and_the_product_is_rescored(
    staff: Any, rated_by_the_brand: tuple[Vote, Any], django_capture_on_commit_callbacks: Any
) -> None:
    vote, campaign = rated_by_the_brand
    assert ProductResult.objects.get(product=campaign.product, is_latest=True).counted == 3

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(staff).post(
            reverse("admin:catalog_brandaccount_add"),
            {"user": vote.user_id, "brand": campaign.product.brand_id},
            follow=True,
        )

    assert "This account rated 1 product it now speaks for: that rating no longer counts" in response.text
    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.STAKE)
    result = ProductResult.objects.get(product=campaign.product, is_latest=True)
    assert (result.counted, result.excluded_moderation, result.comprehensive) == (2, 1, 4.0)
    [message] = Notification.objects.filter(user=vote.user)
    assert (message.kind, message.url) == (Notification.Kind.STAKE, reverse("ratings:brand"))
    inbox = signed_in(vote.user).get(reverse("accounts:inbox")).text
    assert "Your earlier ratings of the products you now speak for no longer count" in inbox


def test_linking_through_the_service_excludes_once_and_leaves_other_brands_votes_counted(
    rated_by_the_brand: tuple[Vote, Any],
) -> None:
    vote, campaign = rated_by_the_brand
    elsewhere = vote_for(accepted_invitation(campaign=campaign_for(ProductFactory()), user=vote.user))
    refunded = vote_for(
        accepted_invitation(campaign=campaign_for(ProductFactory(brand=campaign.product.brand)), user=vote.user),
        verdict="excluded",
        exclusion_reason="refund",
    )

    link = rating_services.brand_account_link(user=vote.user, brand=campaign.product.brand, note="asked by mail")

    assert link.pk is not None
    assert rating_services.stake_votes_exclude(link=link) == 0, "a repeat excludes nothing"
    assert Vote.objects.get(pk=vote.pk).exclusion_reason == Vote.ExclusionReason.STAKE
    assert Vote.objects.get(pk=elsewhere.pk).verdict == Vote.Verdict.COUNTED
    assert Vote.objects.get(pk=refunded.pk).exclusion_reason == Vote.ExclusionReason.REFUND
    assert Notification.objects.filter(user=vote.user, kind=Notification.Kind.STAKE).count() == 1


def test_a_cleared_moderation_decision_never_counts_a_brands_own_vote_again(staff: Any) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    vote = vote_for(accepted_invitation(campaign=campaign), verdict="excluded", exclusion_reason="moderation")
    rating_services.brand_account_link(user=vote.user, brand=campaign.product.brand)

    assert vote_reinstate(vote_id=vote.pk) is False

    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.STAKE)


def test_linking_twice_to_the_same_brand_is_refused_and_stores_nothing(rated_by_the_brand: tuple[Vote, Any]) -> None:
    vote, campaign = rated_by_the_brand
    rating_services.brand_account_link(user=vote.user, brand=campaign.product.brand)

    with pytest.raises(ValidationError, match="linked to this brand already"):
        rating_services.brand_account_link(user=vote.user, brand=campaign.product.brand)

    assert BrandAccount.objects.filter(user=vote.user).count() == 1


# --- Counterfeit claims: never reported, judged or decided by the brand -------------------------------


def test_a_linked_account_cannot_report_its_product_as_counterfeit() -> None:
    from moderation import counterfeits
    from moderation.models import CounterfeitCase
    from tests.factories import OrderLineFactory

    product = ProductFactory()
    team = OrderLineFactory(product=product, store=product.store).buyer  # even one who bought it
    brand_account(user=team, brand=product.brand)

    with pytest.raises(BrandStakeRefused):
        counterfeits.report_submit(reporter=team, product=product, store_id=product.store_id, description="fake")
    client = signed_in(team)
    url = reverse("moderation:counterfeit_report", args=[product.slug])
    page = client.get(url)
    sent = client.post(url, {"store": product.store_id, "description": "fake"})

    refused(page, "cannot report it")
    refused(sent, "cannot report it")
    assert not CounterfeitCase.objects.exists()


def test_a_manager_linked_to_the_store_never_sees_nor_judges_its_counterfeit_claims() -> None:
    from moderation import counterfeits
    from moderation.models import CounterfeitVote
    from tests.factories import OrderLineFactory

    product = ProductFactory()
    claim = counterfeits.report_submit(
        reporter=OrderLineFactory(product=product, store=product.store).buyer,
        product=product,
        store_id=product.store_id,
        description="The batch code does not exist.",
    )
    judge = manager()
    brand_account(user=judge, store=product.store)

    queue = moderation_selectors.counterfeit_queue(manager=judge)
    with pytest.raises(BrandStakeRefused):
        counterfeits.vote_cast(manager=judge, case_id=claim.pk, choice="genuine")
    response = signed_in(judge).post(reverse("moderation:counterfeit_vote", args=[claim.pk]), {"choice": "genuine"})

    assert queue == []
    refused(response, "others judge it")
    assert not CounterfeitVote.objects.exists()


def test_staff_linked_to_the_brand_cannot_decide_its_counterfeit_claims(staff: Any) -> None:
    from moderation import counterfeits
    from moderation.models import CounterfeitCase
    from tests.factories import OrderLineFactory

    product = ProductFactory()
    claim = counterfeits.report_submit(
        reporter=OrderLineFactory(product=product, store=product.store).buyer,
        product=product,
        store_id=product.store_id,
        description="The batch code does not exist.",
    )
    brand_account(user=staff, brand=product.brand)

    with pytest.raises(BrandStakeRefused):
        counterfeits.decide(case=claim, confirmed=False, staff=staff)

    claim.refresh_from_db()
    assert claim.status == CounterfeitCase.Status.OPEN
