"""The home page and the category pages are kept rendered, and renewed when what they show changes."""

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import page_cache
from catalog.models import Category
from ratings import scoring
from ratings.models import Campaign, RatingPolicy
from tests.factories import BrandFactory, ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db

HOME = "/"


def _rated(*, score: int, category: Category) -> Campaign:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 1, "prior_strength": 0})
    campaign = campaign_for(ProductFactory(category=category, name_en=f"Product scored {score}"))
    votes_cast(campaign, [[score] * 5])
    return campaign


def _get(client: Client, path: str) -> str:
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize("path", ["home", "categories", "category"])
def test_an_anonymous_visitor_gets_a_kept_listing_in_one_round_trip_and_no_query(
    client: Client, django_assert_num_queries: Any, cache_calls: list[str], path: str
) -> None:
    category = rating_ready_category(name_en="Hair wash")
    ProductFactory(category=category)
    url = {"home": HOME, "categories": "/categories/"}.get(path) or category.get_absolute_url()
    first = _get(client, url)
    cache_calls.clear()

    with django_assert_num_queries(0):
        second = _get(client, url)

    assert second == first and "Hair wash" in second
    assert cache_calls == ["get_many"], "the generations and the page come together"
    assert "csrfmiddlewaretoken" not in first


@pytest.mark.parametrize("path", ["home", "category"])
def test_a_signed_in_reader_gets_the_kept_part_in_their_kept_shell_in_one_round_trip_and_no_query(
    cache_calls: list[str], django_assert_num_queries: Any, path: str
) -> None:
    category = rating_ready_category(name_en="Hair wash")
    ProductFactory(category=category)
    url = HOME if path == "home" else category.get_absolute_url()
    _get(Client(), url)  # an anonymous visit keeps the part
    reader = Client()
    reader.force_login(UserFactory(display_name="Reader Lin"))
    other = "/categories/no-such-category/" if path == "home" else HOME
    for visited in (other, url):  # the hint cookie set, then the reader's shell kept from this page
        _get(reader, visited)
    cache_calls.clear()

    with django_assert_num_queries(0):
        page = _get(reader, url)

    assert cache_calls == ["get_many"], "the session, the account, its shell and the part together"
    assert "Hair wash" in page and "Reader Lin" in page and "csrfmiddlewaretoken" in page
    cache.clear()
    assert _without_tokens(page) == _without_tokens(_get(reader, url))


def _without_tokens(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)


def test_a_rescore_renews_the_home_page_and_the_category_page_for_everyone(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    category = rating_ready_category()
    campaign = _rated(score=3, category=category)
    scoring.run_all(triggered_by="test")
    reader = Client()
    reader.force_login(UserFactory())
    for visitor in (client, reader):
        assert "♥ 3.0" in _get(visitor, category.get_absolute_url())
        _get(visitor, HOME)
    votes_cast(campaign, [[5] * 5])

    scoring.rescore_request(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        scoring.campaign_rescore(campaign_id=campaign.pk)

    for visitor in (client, reader):
        assert "♥ 4.0" in _get(visitor, category.get_absolute_url())
        assert "Product scored 3" in _get(visitor, HOME)  # on the list now (its threshold is 4.0)


def test_a_product_taken_off_sale_leaves_its_category_page_and_the_trees_counts(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    category = rating_ready_category(name_en="Shampoo")
    product = ProductFactory(category=category, name_en="Silky Shampoo")
    assert "Silky Shampoo" in _get(client, category.get_absolute_url())
    for tree in (HOME, "/categories/"):
        assert '<span class="count">1</span>' in _get(client, tree)

    with django_capture_on_commit_callbacks(execute=True):
        product.is_active = False
        product.save(update_fields=["is_active"])

    assert "Silky Shampoo" not in _get(client, category.get_absolute_url())
    for tree in (HOME, "/categories/"):
        assert '<span class="count">0</span>' in _get(client, tree)


def test_a_renamed_brand_or_category_shows_on_every_kept_listing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    category = rating_ready_category(name_en="Shampoo")
    brand = BrandFactory(name_en="Old Brand")
    ProductFactory(category=category, brand=brand)
    _get(client, HOME)
    _get(client, category.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        brand.name_en = "New Brand"
        brand.save()
        category.name_en = "Hair wash"
        category.save()

    assert "Hair wash" in _get(client, HOME)
    page = _get(client, category.get_absolute_url())
    assert "New Brand" in page and "<title>Hair wash" in page


def test_each_language_is_kept_apart(client: Client) -> None:
    rating_ready_category(name_zh="洗发水", name_en="Shampoo")

    chinese = client.get(HOME, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "洗发水" in chinese and "Shampoo" not in chinese
    assert "Shampoo" in english and "洗发水" not in english


def test_only_category_pages_that_exist_asked_for_by_one_canonical_number_are_kept(client: Client) -> None:
    category = rating_ready_category()
    ProductFactory(category=category)
    url = category.get_absolute_url()
    for query in ("?page=2", "?page=02", "?page=1&sort=x", "?page=99999999"):
        assert client.get(url + query).status_code == 200
    assert client.get(url + "?page=1").status_code == 200

    kept = [key for key in cache._cache if ":catalog:listing:category:" in key]  # type: ignore[attr-defined]
    assert kept and all(f"category:{category.slug}:1:" in key for key in kept), kept


def test_a_listing_built_from_rows_read_before_a_change_is_never_served_after_it() -> None:
    category = rating_ready_category()
    name = f"category:{category.slug}:1"
    slot, kept, _ = page_cache.ListingSlot.find(name, category_slug=category.slug)
    assert kept is None
    # the page is built from the rows as they were; meanwhile a product changes and its listings are renewed
    product = ProductFactory(category=category)
    page_cache.forget([product.pk])
    slot.keep(page_cache.Listing(title="", content=b"the page before the change"))

    _, found, _ = page_cache.ListingSlot.find(name, category_slug=category.slug)

    assert found is None


def test_a_change_to_a_product_off_the_list_renews_its_category_page_not_the_home_page(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Re-scores come all day: only one of a listed product (or one moving the list) renews the home page."""
    category = rating_ready_category()
    listed = _rated(score=5, category=category)
    unlisted = _rated(score=2, category=category)
    with django_capture_on_commit_callbacks(execute=True):
        scoring.run_all(triggered_by="test")
    page_stamp = page_cache.ListingSlot.keys("its page", category_slug=category.slug)[1]
    home, page = cache.get(page_cache.HOME_GENERATION_KEY), cache.get(page_stamp)
    assert home is not None and page is not None

    page_cache.forget([unlisted.product_id])
    assert cache.get(page_cache.HOME_GENERATION_KEY) == home
    assert cache.get(page_stamp) != page

    page_cache.forget([listed.product_id])
    assert cache.get(page_cache.HOME_GENERATION_KEY) != home


def test_a_product_moved_to_another_category_leaves_the_first_ones_page(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = rating_ready_category(), rating_ready_category()
    product = ProductFactory(category=first, name_en="Silky Shampoo")
    assert "Silky Shampoo" in _get(client, first.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        product.category = second
        product.save(update_fields=["category"])

    assert "Silky Shampoo" not in _get(client, first.get_absolute_url())
    assert "Silky Shampoo" in _get(client, second.get_absolute_url())
