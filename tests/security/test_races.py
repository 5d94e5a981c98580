"""Many tabs, one click: the same request sent 16 and 64 times at once through the whole stack (HTTP,
sessions, middleware, views, services, PostgreSQL). Nothing is stored twice and nobody sees a 500.

tests/ratings/test_voting_concurrency.py races the voting service at 16 threads; here every request
goes through the test client, each thread with its own client in the same signed-in browser session
(the double click, the second tab), and the server errors are counted rather than raised.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import Notification, User
from moderation.models import Case, ManagerVote
from ratings.forms import form_token
from ratings.models import FactorScore, Invitation, Vote, VoteRevision
from tests import concurrency
from tests.moderation.factories import manager, note_case
from tests.ratings.factories import InvitationFactory, accepted_invitation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

#: 64 threads plus the test's own connection stay under PostgreSQL's default max_connections of 100.
SIZES = [16, 64]
JOIN_TIMEOUT = 60


def _free_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int - count(*) FROM pg_stat_activity"
        )
        (free,) = cursor.fetchone()
    return int(free)


def run_at_once(threads: int, work: Callable[[int], HttpResponse]) -> list[HttpResponse]:
    """Every response of ``work(i)`` sent from ``threads`` threads at once (a thread that raised fails the
    test: the clients answer a 500 rather than raise it, so those are counted by the caller)."""
    free = _free_connections()
    if free < threads + 2:
        pytest.skip(f"PostgreSQL has {free} free connections now; this race needs {threads + 2}")
    responses, errors = concurrency.run_at_once(work, threads=threads, timeout=JOIN_TIMEOUT)
    assert errors == []
    assert len(responses) == threads
    return responses


def same_browser(user: User, count: int, **headers: str) -> list[Client]:
    """``count`` clients sharing one signed-in session (English pages), answering 500s instead of raising."""
    first = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en", **headers)
    first.force_login(user)
    clients = [first]
    for _ in range(count - 1):
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en", **headers)
        client.cookies = first.cookies  # the same session cookie: tabs of one browser
        clients.append(client)
    return clients


def server_errors(responses: list[HttpResponse]) -> list[int]:
    return [response.status_code for response in responses if response.status_code >= 500]


def messages_of(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The same vote -------------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", SIZES)
def test_the_same_vote_sent_from_many_tabs_at_once_is_stored_once_and_every_tab_is_told_so(threads: int) -> None:
    # given
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())
    data = {"started": form_token(invitation_id=invitation.pk, amends_revision=None), "comment": "Gentle on hair"}
    data.update({f"factor_{factor.pk}": "4" for factor in factors})
    url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    clients = same_browser(invitation.user, threads, REMOTE_ADDR="198.51.100.7")

    # when
    responses = run_at_once(threads, lambda i: clients[i].post(url, data))

    # then
    assert server_errors(responses) == []
    assert {response.status_code for response in responses} == {302}
    notices = [messages_of(response) for response in responses]
    assert sum(any("recorded" in text for text in told) for told in notices) == 1
    assert sum(any("already rated" in text for text in told) for told in notices) == threads - 1
    assert Vote.objects.count() == 1
    assert FactorScore.objects.count() == len(factors)
    assert not VoteRevision.objects.exists()
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.VOTED


@pytest.mark.parametrize("threads", SIZES)
def test_the_same_amendment_sent_from_many_tabs_at_once_is_applied_once(threads: int) -> None:
    invitation = accepted_invitation()
    factors = list(invitation.campaign.factors.all())
    url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    clients = same_browser(invitation.user, threads)
    first = {"started": form_token(invitation_id=invitation.pk, amends_revision=None)}
    assert clients[0].post(url, first | {f"factor_{f.pk}": "2" for f in factors}).status_code == 302
    amended = {"started": form_token(invitation_id=invitation.pk, amends_revision=0), "comment": "Better now"}
    amended.update({f"factor_{f.pk}": "5" for f in factors})

    responses = run_at_once(threads, lambda i: clients[i].post(url, amended))

    assert server_errors(responses) == []
    vote = Vote.objects.get()
    assert vote.revision_count == VoteRevision.objects.count() == 1
    assert set(vote.scores.values_list("score", flat=True)) == {5}
    assert vote.comment == "Better now"


# --- The same manager vote --------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", SIZES)
def test_the_same_manager_vote_sent_at_once_is_counted_once(threads: int) -> None:
    case = note_case()
    judge = manager()
    url = reverse("moderation:case_vote", args=[case.pk])
    clients = same_browser(judge, threads, HTTP_ACCEPT="application/json")

    responses = run_at_once(threads, lambda i: clients[i].post(url, {"choice": "violates"}))

    assert server_errors(responses) == []
    answers = sorted((response.status_code, response.json()["ok"]) for response in responses)
    assert answers == [(200, True)] + [(409, False)] * (threads - 1)
    assert all("already" in response.json()["message"] for response in responses if response.status_code == 409)
    assert ManagerVote.objects.filter(case=case, manager=judge).count() == 1
    assert ManagerVote.objects.count() == 1
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN


def test_sixty_four_managers_voting_on_one_case_at_once_make_one_decision_from_a_quorum() -> None:
    threads = 64
    case = note_case()
    judges = [manager() for _ in range(threads)]
    url = reverse("moderation:case_vote", args=[case.pk])
    clients = []
    for judge in judges:
        client = Client(raise_request_exception=False, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(judge)
        clients.append(client)

    responses = run_at_once(threads, lambda i: clients[i].post(url, {"choice": "violates"}))

    assert server_errors(responses) == []
    quorum = 5  # the policy's default
    assert sum(response.status_code == 200 for response in responses) == quorum
    assert ManagerVote.objects.filter(case=case).count() == quorum
    case.refresh_from_db()
    assert (case.status, case.outcome) == (Case.Status.DECIDED, Case.Outcome.VIOLATES)
    assert Notification.objects.filter(kind=Notification.Kind.DECISION, subject_id=case.pk).count() == 1


# --- The same invitation acceptance ----------------------------------------------------------------------------


@pytest.mark.parametrize("threads", SIZES)
def test_accepting_the_same_invitation_from_many_tabs_at_once_accepts_it_once(threads: int) -> None:
    invitation = InvitationFactory()
    url = reverse("ratings:invitation_accept", args=[invitation.pk])
    clients = same_browser(invitation.user, threads)

    responses = run_at_once(threads, lambda i: clients[i].post(url))

    assert server_errors(responses) == []
    assert {response.status_code for response in responses} == {302}
    assert all(any("verified purchaser" in text for text in messages_of(response)) for response in responses)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.responded_at is not None
    assert Invitation.objects.filter(user=invitation.user).count() == 1


@pytest.mark.parametrize("threads", SIZES)
def test_accepting_and_declining_at_once_ends_in_one_answer_that_every_tab_agrees_with(threads: int) -> None:
    invitation = InvitationFactory()
    accept = reverse("ratings:invitation_accept", args=[invitation.pk])
    decline = reverse("ratings:invitation_decline", args=[invitation.pk])
    clients = same_browser(invitation.user, threads)

    def click(i: int) -> Any:
        response = clients[i].post(accept if i % 2 == 0 else decline)
        response.clicked = "accept" if i % 2 == 0 else "decline"
        return response

    responses = run_at_once(threads, click)

    assert server_errors(responses) == []
    invitation.refresh_from_db()
    assert invitation.status in (Invitation.Status.ACCEPTED, Invitation.Status.DECLINED)
    winner = "accept" if invitation.status == Invitation.Status.ACCEPTED else "decline"
    for response in responses:
        told = " ".join(messages_of(response))
        if response.clicked == winner:
            assert "verified purchaser" in told or "declined the invitation. You will not" in told, told
        else:
            assert "already accepted" in told or "declined this invitation" in told, told
