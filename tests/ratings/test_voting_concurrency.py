"""One person, one vote under real concurrency (PostgreSQL): the unique constraint is the guarantee."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ratings import services
from ratings.forms import form_token
from ratings.models import Campaign, FactorScore, Invitation, Vote, VoteRevision
from tests import concurrency
from tests.ratings.factories import accepted_invitation, campaign_for, vote_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def run_at_once(work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    return concurrency.run_at_once(work, threads=THREADS)


def test_sixteen_simultaneous_first_votes_store_exactly_one() -> None:
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())

    def submit(i: int) -> services.VoteStatus:
        fresh = Invitation.objects.get(pk=invitation.pk)
        scores = {factor.pk: 1 + i % 5 for factor in factors}
        return services.vote_submit(invitation=fresh, user=fresh.user, scores=scores, seconds_to_fill=30).status

    statuses, errors = run_at_once(submit)

    assert errors == []
    assert statuses.count(services.VoteStatus.CREATED) == 1
    assert statuses.count(services.VoteStatus.ALREADY_RATED) == THREADS - 1
    assert Vote.objects.count() == 1
    assert FactorScore.objects.count() == len(factors)
    assert len(set(FactorScore.objects.values_list("score", flat=True))) == 1, "one submission's scores, whole"
    assert not VoteRevision.objects.exists()


def test_sixteen_simultaneous_amendments_of_the_same_form_are_stored_once() -> None:
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())
    services.vote_submit(invitation=invitation, user=invitation.user, scores={f.pk: 3 for f in factors})

    def amend(i: int) -> services.VoteStatus:
        fresh = Invitation.objects.get(pk=invitation.pk)
        scores = {factor.pk: 5 for factor in factors}
        return services.vote_submit(invitation=fresh, user=fresh.user, scores=scores, amends_revision=0).status

    statuses, errors = run_at_once(amend)

    assert errors == []
    assert statuses.count(services.VoteStatus.AMENDED) == 1
    vote = Vote.objects.get()
    assert vote.revision_count == VoteRevision.objects.count() == 1
    assert set(vote.scores.values_list("score", flat=True)) == {5}


def test_amendments_from_different_forms_at_once_keep_every_revision_consistently() -> None:
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())
    services.vote_submit(invitation=invitation, user=invitation.user, scores={f.pk: 3 for f in factors})

    def amend(i: int) -> int:
        # each thread amends whatever it reads; the row lock serialises them
        applied = 0
        while True:
            current = Vote.objects.get(invitation_id=invitation.pk).revision_count
            outcome = services.vote_submit(
                invitation=invitation,
                user=invitation.user,
                scores={f.pk: 1 + i % 5 for f in factors},
                amends_revision=current,
            )
            if outcome.status == services.VoteStatus.AMENDED:
                applied += 1
                return applied

    results, errors = run_at_once(amend)

    assert errors == []
    assert sum(results) == THREADS
    vote = Vote.objects.get()
    assert vote.revision_count == VoteRevision.objects.count() == THREADS
    assert FactorScore.objects.count() == len(factors)


def test_sixteen_simultaneous_posts_of_the_form_answer_without_errors_and_store_one_vote() -> None:
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())
    data = {"started": form_token(invitation_id=invitation.pk, amends_revision=None), "comment": "Nice"}
    data.update({f"factor_{factor.pk}": "4" for factor in factors})
    url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    clients = []
    for _ in range(THREADS):
        client = Client(REMOTE_ADDR="198.51.100.4")
        client.force_login(invitation.user)
        clients.append(client)

    def post(i: int) -> int:
        return clients[i].post(url, data).status_code

    codes, errors = run_at_once(post)

    assert errors == []
    assert len(codes) == THREADS
    assert all(200 <= code < 400 for code in codes), codes
    assert Vote.objects.count() == 1
    assert FactorScore.objects.count() == len(factors)
    assert not VoteRevision.objects.exists()


def test_sixteen_simultaneous_confirmations_and_second_votes_on_a_reinvitation_leave_one_vote() -> None:
    # given a vote in a closed campaign, and its author invited again in the product's next campaign
    earlier = accepted_invitation()
    vote = vote_for(earlier, score=2)
    Campaign.objects.filter(pk=earlier.campaign_id).update(status=Campaign.Status.CLOSED)
    again = accepted_invitation(campaign=campaign_for(earlier.campaign.product), user=earlier.user)
    factors = list(again.campaign.factors.all())

    def act(i: int) -> services.VoteStatus:
        fresh = Invitation.objects.get(pk=again.pk)
        if i % 2:
            return services.vote_confirm(invitation=fresh, user=fresh.user).status
        scores = {factor.pk: 5 for factor in factors}
        return services.vote_submit(invitation=fresh, user=fresh.user, scores=scores).status

    # when confirmations and first-vote submissions race
    statuses, errors = run_at_once(act)

    # then one vote, confirmed once, and no second vote
    assert errors == []
    assert statuses.count(services.VoteStatus.CONFIRMED) == 1
    assert statuses.count(services.VoteStatus.CREATED) == 0
    assert Vote.objects.filter(user=earlier.user).count() == 1
    moved = Vote.objects.get(pk=vote.pk)
    assert moved.campaign_id == again.campaign_id and moved.revision_count == VoteRevision.objects.count() == 1
    assert set(FactorScore.objects.filter(vote=moved).values_list("score", flat=True)) == {2}
