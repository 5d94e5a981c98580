"""PostgreSQL restarted under a running site: no request fails, a task whose connection drops retries and
writes once."""

import pytest
from django.urls import reverse

from ratings import scoring
from ratings.models import Campaign, ScoringRun
from ratings.tasks import rescore_campaign
from tests.factories import UserFactory
from tests.faults.conftest import (
    LocalPostgres,
    WebServer,
    Worker,
    clean_run_state,
    differences,
    raw_connection,
    scored_catalogue,
    table_locked,
    visible_state,
    wait_for,
)
from tests.ratings.factories import votes_cast

pytestmark = [pytest.mark.postgres]


def test_no_request_fails_when_postgresql_restarts_between_requests(
    local_postgres: LocalPostgres, web_server: WebServer
) -> None:
    # given: a signed-in user's page served once, so the server holds a persistent connection
    user = UserFactory(display_name="Restart Reader")
    browser = web_server.browser(user)
    page = reverse("ratings:invitations")
    first = browser.get(page)
    assert first.status == 200 and "Restart Reader" in first.body

    # when
    local_postgres.restart()

    # then
    second = browser.get(page)
    assert second.status == 200, web_server.log_text()[-3000:]
    assert "Restart Reader" in second.body


def _terminate(pid: int) -> None:
    probe = raw_connection()
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        probe.commit()
    finally:
        probe.close()


@pytest.mark.redis
def test_a_rescore_whose_connection_drops_mid_write_retries_and_writes_once(worker: Worker) -> None:
    # given: a scored product with new votes and its re-score requested
    campaign, *_others = scored_catalogue(categories=1, products=2)
    scoring.run_all(triggered_by="setup")
    votes_cast(campaign, [[1] * 5] * 4)
    assert scoring.rescore_request(campaign_id=campaign.pk)
    expected = clean_run_state(lambda: rescore_campaign.apply((campaign.pk,)))

    # when: its connection is dropped while it is inside its transaction (claimed flag, run row written)
    with table_locked("ratings_productresult") as lock:
        rescore_campaign.delay(campaign.pk)
        [backend] = lock.wait_for_waiter()
        _terminate(backend)

    # then: it retries, and the outcome is one clean re-score
    wait_for(
        lambda: (
            ScoringRun.objects.filter(kind=ScoringRun.Kind.PRODUCT, status=ScoringRun.Status.FINISHED).exists()
            and not Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()
        ),
        timeout=60,
        what="the re-score to be retried and finish",
        detail=worker.log_tail,
    )
    actual = visible_state()
    assert actual == expected, differences(actual, expected)
    assert list(ScoringRun.objects.filter(kind=ScoringRun.Kind.PRODUCT).values_list("status", flat=True)) == [
        ScoringRun.Status.FINISHED
    ]
