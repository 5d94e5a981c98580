"""The cache cannot be filled at will: keys come from validated values only, and the cache lives apart
from the broker.

Against a real Redis of the test's own (a redis-server on a free port), counting its keys with redis-py.
"""

import random
import shutil
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from catalog import page_cache
from catalog.models import Product
from tests.factories import ProductFactory, rating_ready_category
from tests.faults.conftest import LocalRedis, free_port
from tests.ratings.factories import campaign_for, votes_cast
from xhs.cache_url import cache_redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_redis() -> Iterator[redis.Redis]:
    """A private redis-server as the site's cache (database 1), left stopped at the end."""
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("needs redis-server and redis-cli on PATH")
    server = LocalRedis(free_port())
    server.start()
    url = f"redis://127.0.0.1:{server.port}/1"
    try:
        with override_settings(CACHES={"default": {"BACKEND": "xhs.cache.FailSoftRedisCache", "LOCATION": url}}):
            yield redis.Redis.from_url(url)
    finally:
        server.stop()


def product_with_two_comment_pages() -> Product:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 15, comment="Lathers well, rinses clean.")
    return campaign.product


def junk(rng: random.Random, size: int = 12) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_%.") for _ in range(size))


def hostile_queries(rng: random.Random) -> Iterator[str]:
    """Page numbers past the last page, padded or foreign digits, repeated pages, words, other names."""
    for _ in range(200):
        yield rng.choice(
            [
                f"page={rng.randint(3, 10**9)}",
                f"page={rng.randint(0, 9):0>{rng.randint(2, 6)}}",
                f"page={quote('٢')}",
                f"page=1&page={rng.randint(1, 2)}",
                f"page={junk(rng)}",
                f"page=-{rng.randint(1, 99)}",
                f"{junk(rng, 5)}={junk(rng)}",
                f"page=2&{junk(rng, 5)}=1",
                f"q={junk(rng)}&page={rng.randint(1, 10**6)}",
                f"sort={junk(rng, 6)}&factor={rng.randint(1, 10**6)}&score={rng.randint(1, 5)}",
            ]
        )


def test_random_query_strings_add_no_key_to_the_cache(cache_redis: redis.Redis) -> None:
    # given: the pages a shopper reads, each visited once as it is meant to be read
    product = product_with_two_comment_pages()
    pages = [
        reverse("catalog:home"),
        reverse("catalog:categories"),
        reverse("catalog:category", args=[product.category.slug]),
        product.get_absolute_url(),
        reverse("catalog:search"),
        reverse("ratings:heart_list"),
    ]
    client = Client()
    for path in pages:
        assert client.get(path).status_code == 200
    assert client.get(f"{product.get_absolute_url()}?page=2").status_code == 200
    keys_before = cache_redis.dbsize()
    product_pages = [key for key in cache_redis.keys("*") if b"product-page:" in key]
    assert len(product_pages) == 2, "the product's two comment pages are cached"

    # when: 200 anonymous requests carry random query strings
    rng = random.Random(15)
    answers = []
    for query in hostile_queries(rng):
        response = client.get(f"{rng.choice(pages)}?{query}")
        answers.append(response.status_code)

    # then: they were answered, and the cache holds exactly the keys it held before
    assert set(answers) <= {200, 400, 404}, sorted(set(answers))
    assert cache_redis.dbsize() == keys_before


def test_a_page_number_past_the_last_page_shows_the_last_pages_copy_and_adds_no_key(
    cache_redis: redis.Redis, django_assert_num_queries: Any
) -> None:
    # given: a product with two comment pages, asked for a page it does not have
    product = product_with_two_comment_pages()
    client = Client()
    first = client.get(f"{product.get_absolute_url()}?page=999")
    assert first.status_code == 200
    assert first.context["comments"].number == 2
    kept = sorted(key for key in cache_redis.keys("*") if b"product-page" in key and b"generation" not in key)

    # when: more numbers past the end are asked for
    with django_assert_num_queries(0):
        answers = [client.get(f"{product.get_absolute_url()}?page={number}") for number in (3, 1000, 999999)]

    # then: each shows the last page from its copy, and the cache holds the last page and the page count only
    assert {answer.content for answer in answers} == {first.content}
    assert len(kept) == 2
    assert sorted(key for key in cache_redis.keys("*") if b"product-page" in key and b"generation" not in key) == kept


def test_a_changed_product_is_never_served_from_its_old_copy_past_the_last_page(cache_redis: redis.Redis) -> None:
    # given: the last page's copy, reached through a number past it
    product = product_with_two_comment_pages()
    client = Client()
    client.get(f"{product.get_absolute_url()}?page=5")
    assert client.get(f"{product.get_absolute_url()}?page=6").content.count(b"Lathers well") > 0

    # when: the product changes and its page gets a new generation (what the admin and moderation do)
    Product.objects.filter(pk=product.pk).update(
        description_en="Now in a refill pouch", description_zh="Now in a refill pouch"
    )
    page_cache.forget([product.pk])

    # then: the next visit past the end renders the page afresh
    assert b"Now in a refill pouch" in client.get(f"{product.get_absolute_url()}?page=7").content


@pytest.mark.parametrize(
    ("broker", "cache"),
    [
        ("redis://redis:6379/0", "redis://redis:6379/1"),
        ("redis://redis:6379", "redis://redis:6379/1"),
        ("rediss://:secret@redis:6380/15", "rediss://:secret@redis:6380/14"),
        ("redis://redis:6379/2?socket_timeout=1", "redis://redis:6379/3?socket_timeout=1"),
        ("unix:///run/redis.sock?db=4", "unix:///run/redis.sock?db=5"),
    ],
)
def test_without_its_own_url_the_cache_takes_another_database_than_the_broker(broker: str, cache: str) -> None:
    assert cache_redis_url(broker, None) == cache


def test_the_cache_url_given_wins_and_nothing_is_derived_without_redis() -> None:
    assert cache_redis_url("redis://redis:6379/0", "redis://cache:6379/0") == "redis://cache:6379/0"
    assert cache_redis_url(None, None) is None


@pytest.mark.parametrize("broker", ["redis://redis:6379/16", "redis://redis:6379/x", "http://redis:6379/0"])
def test_a_broker_url_naming_no_usable_database_stops_the_start(broker: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        cache_redis_url(broker, None)


def test_the_site_caches_in_a_database_of_its_own(settings: Any) -> None:
    # Production settings (xhs.settings, through the test settings) with REDIS_URL set, as in CI.
    if settings.REDIS_URL is None:
        pytest.skip("needs REDIS_URL")
    assert settings.CACHE_REDIS_URL not in (None, settings.REDIS_URL)
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
