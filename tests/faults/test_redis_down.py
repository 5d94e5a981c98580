"""Redis down while a purchaser votes: the vote is kept, the purchaser sees success, the sweeps repair it.

Through a real web server (gunicorn with the production settings module: Redis is its broker and its
cache), because the test client runs with an in-process cache and would hide a page that needs Redis.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from moderation.models import VoteScreening
from moderation.tasks import sweep_unscreened
from ratings import scoring
from ratings.eligibility import policy_get
from ratings.forms import form_token
from ratings.models import Campaign, Invitation, ProductResult, Vote
from ratings.tasks import sweep_rescores
from tests.faults.conftest import LocalRedis, WebServer, Worker, screenable_votes, wait_for
from tests.ratings.factories import accepted_invitation

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def vote_form(invitation: Invitation, score: int) -> dict[str, Any]:
    data: dict[str, Any] = {"started": form_token(invitation_id=invitation.pk, amends_revision=None), "comment": ""}
    for factor in invitation.campaign.factors.all():
        data[f"factor_{factor.pk}"] = str(score)
    return data


def latest_voted(campaign: Campaign) -> int:
    return int(ProductResult.objects.get(product_id=campaign.product_id, is_latest=True).voted)


def test_a_purchaser_voting_while_redis_is_down_sees_success_and_the_sweeps_repair_it_later(
    local_redis: LocalRedis, web_server: WebServer, new_worker: Callable[..., Worker]
) -> None:
    # given: a scored product and a purchaser on its rating form (the page sets the CSRF cookie)
    votes = screenable_votes()
    campaign = votes[0].campaign
    scoring.run_all(triggered_by="setup")
    voted_before = latest_voted(campaign)
    invitation = accepted_invitation(campaign=campaign)
    browser = web_server.browser(invitation.user)
    url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    assert browser.get(url).status == 200

    # when: Redis stops, and the purchaser submits
    local_redis.stop()
    try:
        submitted = browser.post(url, vote_form(invitation, 2))
        shown = browser.get(submitted.location) if submitted.status == 302 else submitted
    finally:
        local_redis.start()

    # then: the vote is stored and the purchaser is told so
    assert submitted.status == 302, submitted.body[-2000:]
    assert shown.status == 200
    assert "Your vote is recorded" in shown.body
    vote = Vote.objects.get(campaign=campaign, user=invitation.user)
    # the lost enqueues were logged, not raised; the campaign keeps its re-score flag for the sweep
    log = web_server.log_text()
    assert "in on_commit()" in log and "OperationalError" in log, log[-3000:]
    assert Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()
    assert not VoteScreening.objects.filter(vote=vote).exists()

    # when: Redis is back and, minutes later, beat runs the sweeps (time moved on: flag and vote are older)
    late = timedelta(seconds=policy_get().rescore_delay_seconds) + scoring.SWEEP_GRACE + timedelta(minutes=1)
    Campaign.objects.filter(pk=campaign.pk).update(rescore_requested_at=F("rescore_requested_at") - late)
    Vote.objects.filter(pk=vote.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    worker = new_worker()
    sweep_rescores.delay()
    sweep_unscreened.delay()

    # then: the product is re-scored with the vote, and the vote is screened
    wait_for(
        lambda: (
            latest_voted(campaign) == voted_before + 1
            and VoteScreening.objects.filter(vote=vote).exists()
            and not Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()
        ),
        timeout=60,
        what="the sweeps to re-score the product and screen the vote",
        detail=worker.log_tail,
    )
