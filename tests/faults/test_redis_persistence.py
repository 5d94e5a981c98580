"""Queued jobs survive a Redis restart when Redis keeps an append-only file, as production's does."""

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from ratings import scoring
from ratings.models import Campaign, ProductResult
from ratings.tasks import rescore_campaign
from tests.faults.conftest import LocalRedis, Worker, free_port, scored_catalogue, wait_for
from xhs.celery import app


def test_production_redis_keeps_an_append_only_file() -> None:
    compose = (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()
    # The redis service's block: from its key to the next service's key.
    service = re.search(r"^  redis:\n((?:    .*\n|\s*\n)+)", compose, flags=re.MULTILINE)
    assert service is not None, "docker-compose.yml has no redis service"
    assert re.search(r"command:.*--appendonly\W+yes", service.group(1)), service.group(1)


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A redis-server of the test's own, on a free port, writing an append-only file in a temp dir."""
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on PATH")
    port = free_port()
    service = LocalRedis(port, extra=("--appendonly", "yes", "--dir", str(tmp_path)))
    service.start()
    try:
        yield service
    finally:
        subprocess.run(  # noqa: S603 - fixed argv
            ["redis-cli", "-p", str(port), "shutdown", "nosave"],  # noqa: S607 - found on PATH above
            capture_output=True,
            timeout=10,
            check=False,
        )


@pytest.mark.postgres
@pytest.mark.redis
def test_jobs_queued_before_a_redis_restart_are_still_there_and_a_worker_runs_them(
    persistent_redis: LocalRedis, new_worker: Callable[..., Worker]
) -> None:
    # given: three products waiting for a re-score, their jobs queued while no worker runs
    campaigns = scored_catalogue(categories=1, products=3)
    broker = f"redis://127.0.0.1:{persistent_redis.port}/0"
    for campaign in campaigns:
        assert scoring.rescore_request(campaign_id=campaign.pk)
    with app.connection_for_write(broker) as connection:
        for campaign in campaigns:
            rescore_campaign.apply_async((campaign.pk,), connection=connection)
        queue = app.conf.task_default_queue
        assert connection.default_channel.client.llen(queue) == 3

    # when
    persistent_redis.stop()
    persistent_redis.start()

    # then: the jobs are still queued, and a worker started now runs every one of them
    with app.connection_for_write(broker) as connection:
        assert connection.default_channel.client.llen(queue) == 3
    worker = new_worker(broker_url=broker)
    wait_for(
        lambda: (
            ProductResult.objects.filter(product__campaigns__in=campaigns, is_latest=True).count() == 3
            and not Campaign.objects.filter(rescore_requested_at__isnull=False).exists()
        ),
        timeout=60,
        what="the queued re-scores to run",
        detail=worker.log_tail,
    )
