"""A refund racing the buyer's first vote (PostgreSQL): the vote never ends up counted."""

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import OrderLine
from ratings import services
from ratings.models import Invitation, Vote
from ratings.purchases import purchases_withdrawn
from tests import concurrency
from tests.ratings.factories import accepted_invitation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAIRS = 8


def test_a_refund_and_a_first_vote_at_the_same_moment_never_leave_a_counted_vote() -> None:
    # given eight accepted invitations, each about to be used by its buyer as its purchase is refunded
    invitations = [accepted_invitation() for _ in range(PAIRS)]
    scores = [{factor.pk: 4 for factor in invitation.campaign.factors.all()} for invitation in invitations]

    def work(i: int) -> str:
        invitation = Invitation.objects.get(pk=invitations[i // 2].pk)
        if i % 2 == 0:
            try:
                return services.vote_submit(
                    invitation=invitation, user=invitation.user, scores=scores[i // 2]
                ).status.value
            except services.RatingError as error:
                return str(error.message)
        with transaction.atomic():
            OrderLine.objects.filter(pk=invitation.purchase_id).update(
                status=OrderLine.Status.REFUNDED, status_changed_at=timezone.now()
            )
            return str(purchases_withdrawn(order_line_ids=[invitation.purchase_id]))

    # when both happen at once
    _results, errors = concurrency.run_at_once(work, threads=2 * PAIRS)

    # then every invitation is revoked and any vote that got in is excluded for the refund
    assert errors == []
    assert set(Invitation.objects.values_list("status", flat=True)) == {Invitation.Status.REVOKED}
    assert not Vote.objects.exclude(
        verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.REFUND
    ).exists()
