"""Only kept purchases count: a refund or cancellation takes back the invitation and the vote it earned."""

import csv
import io
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification
from catalog.models import OrderLine
from catalog.purchase_import import ImportReport, import_purchases
from moderation import screening
from moderation import services as moderation_services
from moderation.models import Case
from ratings import scoring, services
from ratings.models import Invitation, ProductResult, Vote
from ratings.purchases import Withdrawal, purchases_withdrawn, vote_reinstate
from tests.factories import ProductFactory, rating_ready_category
from tests.moderation.factories import vote_case
from tests.ratings.factories import InvitationFactory, accepted_invitation, campaign_for, vote_for, votes_cast

pytestmark = pytest.mark.django_db


def refund_file(*lines: OrderLine, status: str = "refunded") -> str:
    """The store's later export, saying these order lines were refunded (or cancelled)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["order_ref", "line_no", "buyer_email", "product_slug", "quantity", "unit_price", "paid_at"]
    writer.writerow([*header, "status", "status_changed_at"])
    for line in lines:
        writer.writerow(
            [
                line.order_ref,
                line.line_no,
                line.buyer.email,
                line.product.slug,
                line.quantity,
                line.unit_price,
                line.paid_at.isoformat(),
                status,
                timezone.now().isoformat(),
            ]
        )
    return out.getvalue()


def import_refunds(*lines: OrderLine, status: str = "refunded") -> ImportReport:
    return import_purchases(stream=io.StringIO(refund_file(*lines, status=status)))


def signed_in(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def latest_result(product_id: int) -> ProductResult:
    return ProductResult.objects.get(product_id=product_id, is_latest=True)


# --- a pending invitation ---------------------------------------------------------------------------------


def test_a_refund_imported_for_the_purchase_behind_a_pending_invitation_means_the_buyer_cannot_accept() -> None:
    # given a pending invitation earned by a purchase
    invitation = InvitationFactory()

    # when the store's export says the purchase was refunded
    report = import_refunds(invitation.purchase)

    # then the invitation is revoked, accepting it says why, and nothing is accepted
    assert report.updated == 1
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    client = signed_in(invitation.user)
    response = client.post(reverse("ratings:invitation_accept", kwargs={"pk": invitation.pk}), follow=True)
    assert response.status_code == 200
    assert "This invitation was withdrawn because the purchase was refunded or cancelled." in response.text
    assert 'data-state="revoked"' in response.text
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    with pytest.raises(services.RatingError, match="withdrawn"):
        services.invitation_decline(invitation=invitation, user=invitation.user)


def test_an_accepted_invitation_whose_purchase_was_cancelled_cannot_be_used_to_vote() -> None:
    invitation = accepted_invitation()
    import_refunds(invitation.purchase, status="cancelled")
    client = signed_in(invitation.user)

    page = client.get(reverse("ratings:vote", kwargs={"pk": invitation.pk}), follow=True)
    with pytest.raises(services.RatingError, match="withdrawn"):
        services.vote_submit(
            invitation=invitation,
            user=invitation.user,
            scores={factor.pk: 4 for factor in invitation.campaign.factors.all()},
        )

    assert "This invitation was withdrawn because the purchase was refunded or cancelled." in page.text
    assert not Vote.objects.exists()


def test_my_invitations_lists_a_revoked_invitation_as_closed_not_waiting() -> None:
    invitation = InvitationFactory()
    import_refunds(invitation.purchase)

    response = signed_in(invitation.user).get(reverse("ratings:invitations"))

    assert 'id="pending"' not in response.text
    assert 'id="closed"' in response.text and "Purchase refunded" in response.text


def test_importing_refunds_takes_back_their_invitations_in_the_same_few_queries_however_many(
    django_assert_max_num_queries: Any,
) -> None:
    few = [InvitationFactory() for _ in range(2)]
    many = [InvitationFactory() for _ in range(12)]
    exports = [refund_file(*(invitation.purchase for invitation in group)) for group in (few, many)]
    with CaptureQueriesContext(connection) as baseline:
        import_purchases(stream=io.StringIO(exports[0]))

    with django_assert_max_num_queries(len(baseline)):
        report = import_purchases(stream=io.StringIO(exports[1]))

    assert report.updated == 12
    assert Invitation.objects.filter(status=Invitation.Status.REVOKED).count() == 14


# --- a vote -----------------------------------------------------------------------------------------------


@pytest.fixture
def rated() -> tuple[Vote, Any]:
    """A product scored from two 4-heart votes and one 1-heart vote whose purchase will be refunded."""
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 2)
    vote = vote_for(accepted_invitation(campaign=campaign), score=1)
    scoring.run_all(triggered_by="test")
    return vote, campaign


def test_a_refund_behind_a_vote_excludes_it_rescore_the_product_without_it_and_tells_the_buyer_once(
    rated: tuple[Vote, Any], django_capture_on_commit_callbacks: Any
) -> None:
    vote, campaign = rated
    assert latest_result(campaign.product_id).counted == 3

    export = refund_file(vote.invitation.purchase)
    with django_capture_on_commit_callbacks(execute=True):
        report = import_purchases(stream=io.StringIO(export))

    assert report.updated == 1
    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.REFUND)
    assert Invitation.objects.get(pk=vote.invitation_id).status == Invitation.Status.REVOKED
    result = latest_result(campaign.product_id)
    assert (result.counted, result.excluded_refund, result.excluded_screening, result.comprehensive) == (2, 1, 0, 4.0)
    [message] = Notification.objects.filter(user=vote.user)
    assert (message.kind, message.subject_id, message.context) == ("refund", vote.invitation_id, {"voted": True})

    # when the same export is imported again, nothing changes and nobody is told twice
    versions = ProductResult.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = import_purchases(stream=io.StringIO(export))

    assert (again.updated, again.unchanged) == (0, 1)
    assert callbacks == []
    assert Notification.objects.filter(user=vote.user).count() == 1
    assert ProductResult.objects.count() == versions


def test_the_product_page_counts_refund_exclusions_apart(
    rated: tuple[Vote, Any], django_capture_on_commit_callbacks: Any
) -> None:
    vote, campaign = rated
    with django_capture_on_commit_callbacks(execute=True):
        purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])

    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(campaign.product.get_absolute_url())

    assert "<dt>Excluded: purchase refunded</dt><dd>1</dd>" in response.text


def test_the_buyer_reads_why_in_the_inbox_in_either_language(rated: tuple[Vote, Any]) -> None:
    vote, campaign = rated
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])
    client = Client()
    client.force_login(vote.user)

    with translation.override("zh-hans"):
        chinese = client.get(reverse("accounts:inbox"), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    english = client.get(reverse("accounts:inbox"), HTTP_ACCEPT_LANGUAGE="en").text

    assert f"你购买的{campaign.product.name_zh}已退款或取消" in chinese
    assert "因此你对它的评分不再计入" in chinese
    assert f"Your purchase of {campaign.product.name_en} was refunded or cancelled" in english
    assert "so your rating of it no longer counts" in english


def test_the_buyer_sees_the_vote_no_longer_counts_and_cannot_amend_it(rated: tuple[Vote, Any]) -> None:
    vote, _campaign = rated
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])
    client = signed_in(vote.user)

    page = client.get(vote.invitation.get_absolute_url())
    with pytest.raises(services.RatingError, match="withdrawn"):
        services.vote_submit(
            invitation=vote.invitation,
            user=vote.user,
            scores={factor.pk: 5 for factor in vote.campaign.factors.all()},
            amends_revision=0,
        )

    assert "so your rating no longer counts and can no longer be changed" in page.text
    assert "Amend my vote" not in page.text
    vote.refresh_from_db()
    assert vote.revision_count == 0


def _refunded(line: OrderLine) -> int:
    OrderLine.objects.filter(pk=line.pk).update(status=OrderLine.Status.REFUNDED, status_changed_at=timezone.now())
    return line.pk


# --- the service's contract -------------------------------------------------------------------------------


def test_a_line_still_paid_takes_nothing_back() -> None:
    invitation = InvitationFactory()

    assert purchases_withdrawn(order_line_ids=[invitation.purchase_id]) == Withdrawal()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_a_second_call_changes_nothing_and_tells_nobody_twice() -> None:
    pending, declined = InvitationFactory(), InvitationFactory(status=Invitation.Status.DECLINED)
    ids = [_refunded(pending.purchase), _refunded(declined.purchase)]

    first = purchases_withdrawn(order_line_ids=ids)
    second = purchases_withdrawn(order_line_ids=ids)

    assert first == Withdrawal(revoked=1, excluded=0, notified=1)
    assert second == Withdrawal()
    assert Invitation.objects.get(pk=declined.pk).status == Invitation.Status.DECLINED
    assert Notification.objects.filter(kind="refund").count() == 1


def test_a_vote_excluded_by_moderation_keeps_its_reason_and_one_excluded_by_screening_takes_the_refund() -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    judged = vote_for(accepted_invitation(campaign=campaign), verdict="excluded", exclusion_reason="moderation")
    screened = vote_for(accepted_invitation(campaign=campaign), verdict="excluded", exclusion_reason="screening")
    held = vote_for(accepted_invitation(campaign=campaign), verdict="review")

    outcome = purchases_withdrawn(order_line_ids=[_refunded(v.invitation.purchase) for v in (judged, screened, held)])

    assert outcome.excluded == 2
    reasons = dict(Vote.objects.values_list("pk", "exclusion_reason"))
    assert (reasons[judged.pk], reasons[screened.pk], reasons[held.pk]) == ("moderation", "refund", "refund")


# --- nothing undoes it ------------------------------------------------------------------------------------


def test_managers_clearing_a_refunded_vote_leave_it_excluded_for_the_refund(staff: Any) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    vote = vote_for(accepted_invitation(campaign=campaign), verdict="review")
    case = vote_case(vote, source=Case.Source.SCREENING)
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])

    moderation_services.decision_apply(case=case, outcome=Case.Outcome.COMPLIES, staff=staff)

    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.REFUND)


def test_an_overturned_moderation_exclusion_of_a_refunded_vote_becomes_a_refund_exclusion() -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    vote = vote_for(accepted_invitation(campaign=campaign), verdict="excluded", exclusion_reason="moderation")
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])

    assert vote_reinstate(vote_id=vote.pk) is True
    assert vote_reinstate(vote_id=vote.pk) is False

    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.REFUND)


def test_screening_never_counts_a_refunded_vote_again() -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4, 3, 4, 5, 4], [3, 4, 4, 4, 5], [5, 4, 3, 4, 4]])
    vote = vote_for(accepted_invitation(campaign=campaign), verdict="excluded", exclusion_reason="screening")
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])

    screening.votes_screen()

    vote.refresh_from_db()
    assert (vote.verdict, vote.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.REFUND)


def test_screening_opens_no_case_for_managers_about_a_refunded_vote() -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4, 3, 4, 5, 4], [3, 4, 4, 4, 5], [5, 4, 3, 4, 4]])
    vote = vote_for(accepted_invitation(campaign=campaign))
    purchases_withdrawn(order_line_ids=[_refunded(vote.invitation.purchase)])

    outcome = screening._verdicts_apply(
        model=screening.screener_train(),
        vote_id=np.array([vote.pk]),
        score=np.array([0.6]),
        verdict=np.array(["review"]),
        reasons=[[]],
    )

    assert outcome.review == 0
    assert not Case.objects.exists()


# --- staff in the admin -----------------------------------------------------------------------------------


def test_staff_marking_an_order_line_refunded_in_the_admin_revokes_its_invitation(staff: Any) -> None:
    invitation = InvitationFactory()
    line = invitation.purchase
    client = signed_in(staff)
    url = reverse("admin:catalog_orderline_change", args=[line.pk])
    local = timezone.localtime(line.paid_at)
    now = timezone.localtime()

    response = client.post(
        url,
        {
            "order_ref": line.order_ref,
            "line_no": line.line_no,
            "buyer": line.buyer_id,
            "product": line.product_id,
            "store": line.store_id,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "paid_at_0": local.strftime("%Y-%m-%d"),
            "paid_at_1": local.strftime("%H:%M:%S"),
            "status": "refunded",
            "status_changed_at_0": now.strftime("%Y-%m-%d"),
            "status_changed_at_1": now.strftime("%H:%M:%S"),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Purchase withdrawn: 1 invitation(s) revoked, 0 vote(s) excluded." in response.text
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
