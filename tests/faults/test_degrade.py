"""Redis dies under a running site: pages, sign-in and votes go on, and the probes tell the truth.

A private redis-server on a free port is the cache and the broker of a real gunicorn running the
production settings module (the test client caches in-process and would hide a page that needs Redis).
The test kills that Redis, never the one other tests and processes share.
"""

import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import User
from ratings import open_data, scoring
from ratings.models import Campaign, Vote
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory, brand_account, rating_ready_category
from tests.faults.conftest import (
    Browser,
    LocalRedis,
    Response,
    WebServer,
    free_port,
    lenient_policy,
    on_postgres,
    wait_for,
)
from tests.faults.test_redis_down import vote_form
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast
from xhs.cache import FailSoftRedisCache

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def private_redis() -> Iterator[LocalRedis]:
    """A redis-server of this test's own, stopped at the end whatever happened."""
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("needs redis-server and redis-cli on PATH")
    redis = LocalRedis(free_port())
    redis.start()
    try:
        yield redis
    finally:
        if redis.ping():
            redis.stop()


@pytest.fixture
def site(transactional_db: None, private_redis: LocalRedis, tmp_path: Path) -> Iterator[WebServer]:
    """gunicorn with the production settings, its cache and broker on the private Redis."""
    if not on_postgres():
        pytest.skip("a web server process needs PostgreSQL (it cannot see SQLite's in-memory test database)")
    server = WebServer(
        tmp_path / "gunicorn.log",
        env={"REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0", "MEDIA_ROOT": str(tmp_path / "media")},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def readiness(browser: Browser) -> tuple[int, dict[str, object]]:
    answer = browser.get("/readyz/")
    return answer.status, json.loads(answer.body)


def sign_in(browser: Browser, email: str) -> Response:
    """Sign in through allauth's form as a person would (the form page sets the CSRF cookie)."""
    assert browser.get(reverse("account_login")).status == 200
    return browser.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})


def test_with_redis_dead_the_site_serves_signs_in_and_saves_votes_while_readiness_names_what_failed(
    site: WebServer, private_redis: LocalRedis
) -> None:
    # given: a product on sale with an open campaign, a purchaser on its rating form, a shopper with an account
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    product_url = reverse("catalog:product", kwargs={"slug": campaign.product.slug})
    invitation = accepted_invitation(campaign=campaign)
    purchaser = site.browser(invitation.user)
    vote_url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    assert purchaser.get(vote_url).status == 200
    shopper = UserFactory()
    # the web server runs the production hashers, not the suite's fast one
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=shopper.pk).update(password=hasher.encode(DEFAULT_PASSWORD, hasher.salt()))
    anonymous = Browser(site.base, {})
    # the pages were served once through the cache, and every dependency answers
    assert anonymous.get("/").status == 200
    assert anonymous.get(product_url).status == 200
    assert readiness(anonymous) == (
        200,
        {"status": "ok", "failed": [], "checks": {"database": "ok", "cache": "ok", "broker": "ok"}},
    )

    # when: Redis dies
    private_redis.stop()

    # then: anonymous pages are served from the database
    for path in ("/", product_url, reverse("ratings:heart_list"), reverse("catalog:categories")):
        page = anonymous.get(path)
        assert page.status == 200, (path, site.log_text()[-3000:])
    assert campaign.product.name_en in anonymous.get(product_url).body
    # and sign-in works: the rate limits fail open rather than lock everyone out
    signing_in = Browser(site.base, {})
    signed_in = sign_in(signing_in, shopper.email)
    assert signed_in.status == 302, signed_in.body[-3000:]
    assert signing_in.get(reverse("accounts:profile")).status == 200
    # and the purchaser's vote is saved, its re-score flagged for the sweep (tests/faults/test_redis_down.py)
    submitted = purchaser.post(vote_url, vote_form(invitation, 4))
    assert submitted.status == 302, submitted.body[-2000:]
    assert Vote.objects.filter(campaign=campaign, user=invitation.user).exists()
    assert Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()
    # and liveness says the process is up while readiness names the cache and the broker
    assert anonymous.get("/healthz/").status == 200
    assert readiness(anonymous) == (
        503,
        {
            "status": "unavailable",
            "failed": ["broker", "cache"],
            "checks": {"database": "ok", "cache": "unavailable", "broker": "unavailable"},
        },
    )
    # and the outage was logged as a warning, not as errors per request
    log = site.log_text()
    assert "Cache unavailable" in log
    assert not re.search(r"Internal Server Error", log), log[-3000:]

    # when: Redis is back
    private_redis.start()

    # then: readiness says so, and the pages still answer
    wait_for(lambda: readiness(anonymous)[0] == 200, timeout=15, what="/readyz/ to answer 200 again")
    assert anonymous.get(product_url).status == 200


def test_with_redis_dead_the_brand_page_the_open_data_and_the_api_still_answer(
    site: WebServer, private_redis: LocalRedis, settings: Any, tmp_path: Path
) -> None:
    # given: a brand's scored product, rated last month, whose month is released as open data (in the
    # media folder the web server reads), and the brand's team signed in
    settings.MEDIA_ROOT = tmp_path / "media"
    lenient_policy()
    product = ProductFactory(category=rating_ready_category(), name_en="Acme cream")
    start, end = open_data.Month.previous().bounds()
    votes_cast(campaign_for(product), [[4, 5, 4, 3, 4]] * 5, created_at=start + (end - start) / 2)
    scoring.run_all(triggered_by="test")
    release = open_data.release_build(month=open_data.Month.previous(), min_raters=1)
    team = site.browser(brand_account(brand=product.brand))
    anonymous = Browser(site.base, {})
    pages = {
        "/brand/": (team, "Acme cream"),
        "/brand/export.csv": (team, "Acme cream"),
        "/open-data/": (anonymous, f"{release.month:%Y-%m}.zip"),
        f"/open-data/{release.month:%Y-%m}.zip": (anonymous, ""),
        "/api/v1/list/": (anonymous, ""),
        f"/api/v1/products/{product.slug}/": (anonymous, "Acme cream"),
        f"/api/v1/categories/{product.category.slug}/": (anonymous, "Acme cream"),
    }
    for path, (browser, _shown) in pages.items():
        assert browser.get(path).status == 200, path  # served once through the cache

    # when: Redis dies
    private_redis.stop()

    # then: each page is built from the database, with what it showed before
    for path, (browser, shown) in pages.items():
        page = browser.get(path)
        assert (page.status, shown in page.body) == (200, True), (path, site.log_text()[-3000:])
    assert not re.search(r"Internal Server Error", site.log_text())


def test_with_redis_hung_readiness_and_a_purchasers_vote_answer_instead_of_waiting_on_it(
    site: WebServer, private_redis: LocalRedis
) -> None:
    # given: a purchaser on an open campaign's rating form
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    invitation = accepted_invitation(campaign=campaign)
    purchaser = site.browser(invitation.user)
    vote_url = reverse("ratings:vote", kwargs={"pk": invitation.pk})
    assert purchaser.get(vote_url).status == 200
    anonymous = Browser(site.base, {})

    # when: Redis stops answering but keeps its connections open (hung, failing over, a dropped NAT flow)
    with private_redis.hung():
        ready = readiness(anonymous)
        submitted = purchaser.post(vote_url, vote_form(invitation, 4))

    # then: readiness names the cache and the broker instead of holding the web worker, and the vote is
    # saved and the purchaser sent on (its enqueues given up, the re-score flagged for the sweep)
    assert ready == (
        503,
        {
            "status": "unavailable",
            "failed": ["broker", "cache"],
            "checks": {"database": "ok", "cache": "unavailable", "broker": "unavailable"},
        },
    )
    assert submitted.status == 302, submitted.body[-2000:]
    assert Vote.objects.filter(campaign=campaign, user=invitation.user).exists()
    assert Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()


def test_the_cache_misses_quietly_while_redis_is_dead_and_serves_again_once_it_is_back(
    private_redis: LocalRedis, caplog: pytest.LogCaptureFixture
) -> None:
    # given: the fail-soft cache on the private Redis, holding a value
    cache = FailSoftRedisCache(f"redis://127.0.0.1:{private_redis.port}/0", {"OPTIONS": {"socket_timeout": 1}})
    cache.set("figure", 42)
    assert cache.get("figure") == 42

    # when: Redis dies
    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="xhs.cache")

    # then: reads miss, writes store nothing, and an add-lock is granted (allauth's rate limits fail open)
    assert cache.get("figure") is None
    assert cache.get("figure", "default") == "default"
    assert cache.get_or_set("figure", lambda: 7) == 7
    assert cache.get_many(["figure"]) == {}
    assert cache.add("lock", True) is True
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    cache.delete("figure")
    with pytest.raises(ValueError, match="not found"):
        cache.incr("counter")
    with pytest.raises(RedisConnectionError):
        cache.ping()
    # and the outage is one warning, not one per call
    warnings = [r for r in caplog.records if r.getMessage().startswith("Cache unavailable")]
    assert len(warnings) == 1

    # when: Redis is back (empty: it kept nothing) and the backend's pause has passed
    private_redis.start()
    cache._skip_until = 0.0  # the pause after a failure is RETRY_AFTER seconds; skip the wait

    # then: the cache stores and serves again, and says it recovered
    cache.set("figure", 43)
    assert cache.get("figure") == 43
    assert any(r.getMessage().startswith("Cache reachable again") for r in caplog.records)


def test_a_pages_round_trip_reconnects_after_redis_restarts_instead_of_missing(private_redis: LocalRedis) -> None:
    """``get_many`` reads on a connection each thread keeps past the pool (xhs.cache._ClientPerPool.read_many): one
    that Redis closed is made again, and the read answers, not a miss; a thread of its own keeps its own."""
    cache = FailSoftRedisCache(f"redis://127.0.0.1:{private_redis.port}/0", {"OPTIONS": {"socket_timeout": 1}})
    cache.set_many({"figure": 42, "parts": ("kept", 1)})
    assert cache.get_many(["figure", "parts", "absent"]) == {"figure": 42, "parts": ("kept", 1)}

    private_redis.stop()  # every connection closed under the kept one
    assert cache.get_many(["figure"]) == {}
    private_redis.start()
    cache._skip_until = 0.0  # the pause after a failure is RETRY_AFTER seconds; skip the wait
    cache.set("figure", 43)

    assert cache.get_many(["figure"]) == {"figure": 43}
    private_redis.stop()
    private_redis.start()  # closed while idle: the next read reconnects
    cache.set("figure", 44)
    assert cache.get_many(["figure"]) == {"figure": 44}, "a reconnect, not a miss"
    answers: list[dict[str, Any]] = []
    other = threading.Thread(target=lambda: answers.append(cache.get_many(["figure"])))
    other.start()
    other.join()
    assert answers == [{"figure": 44}]


def test_with_the_database_unreachable_readiness_names_it_while_liveness_still_answers(
    transactional_db: None, private_redis: LocalRedis, tmp_path: Path
) -> None:
    # given: a web server whose database is a port where nothing listens (no shared service is stopped)
    if not on_postgres():
        pytest.skip("a web server process needs PostgreSQL settings to point elsewhere")
    server = WebServer(
        tmp_path / "gunicorn.log",
        env={
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/gone",
            "REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
        },
    )
    server.start()
    try:
        anonymous = Browser(server.base, {})

        # then: the process is alive, not ready, and says why without leaking hosts or ports
        assert anonymous.get("/healthz/").status == 200
        answer = anonymous.get("/readyz/")
        assert (answer.status, json.loads(answer.body)) == (
            503,
            {
                "status": "unavailable",
                "failed": ["database"],
                "checks": {"database": "unavailable", "cache": "ok", "broker": "ok"},
            },
        )
        assert "127.0.0.1" not in answer.body
        assert "Readiness: database unavailable" in server.log_text()
    finally:
        server.stop()
