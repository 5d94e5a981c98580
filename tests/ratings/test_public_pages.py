"""The shopper's rating pages: what they show, in both languages, at a constant number of queries."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Product
from ratings import scoring
from ratings.models import Campaign, RatingPolicy, Vote
from tests.factories import ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _rated(*, votes: int, score: int = 4, factors: int = 5, comment: str = "", category: Any = None) -> Campaign:
    category = category or rating_ready_category(factors=factors)
    campaign = campaign_for(ProductFactory(category=category))
    votes_cast(campaign, [[score] * factors] * votes, comment=comment)
    return campaign


def _publish_at(count: int) -> None:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": count, "prior_strength": 0})


def test_a_published_product_shows_its_score_every_factor_and_who_rated(client: Client) -> None:
    _publish_at(3)
    campaign = _rated(votes=4, score=4, comment="香味很好闻")
    scoring.run_all(triggered_by="test")

    page = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Rated by 4 verified purchasers." in html
    assert html.count('<tr><th scope="row">') == 5  # the text table has every factor
    assert 'class="chart chart-radar' in html and 'class="chart chart-histogram' in html
    assert "香味很好闻" in html and "Verified purchaser" in html
    assert reverse("ratings:methodology") in html


def test_an_unpublished_product_shows_progress_not_a_score(client: Client) -> None:
    _publish_at(30)
    campaign = _rated(votes=7)
    scoring.run_all(triggered_by="test")

    html = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "7 of the 30 counted votes needed before the score is published." in html
    assert '<progress class="vote-progress" max="30" value="7">' in html
    assert "Rated by" not in html


def test_the_chinese_page_speaks_chinese(client: Client) -> None:
    _publish_at(3)
    campaign = _rated(votes=3)
    scoring.run_all(triggered_by="test")

    html = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "小红心评分" in html and "已验证购买者" in html
    assert "Rated by" not in html


def test_a_script_in_a_comment_is_shown_as_text(client: Client) -> None:
    _publish_at(1)
    campaign = _rated(votes=1, comment="<script>alert('x')</script>")
    scoring.run_all(triggered_by="test")

    html = client.get(campaign.product.get_absolute_url()).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_comments_are_paginated_and_excluded_votes_say_nothing(client: Client) -> None:
    _publish_at(1)
    campaign = _rated(votes=12, comment="counted comment")
    votes_cast(
        campaign,
        [[1] * 5],
        comment="excluded comment",
        verdict=Vote.Verdict.EXCLUDED,
        exclusion_reason=Vote.ExclusionReason.SCREENING,
    )
    scoring.run_all(triggered_by="test")

    first = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    second = client.get(campaign.product.get_absolute_url() + "?page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert first.count("counted comment") == 10 and second.count("counted comment") == 2
    assert "excluded comment" not in first + second
    assert "Page 1 of 2" in first


def test_the_product_page_runs_the_same_queries_however_many_votes_factors_and_comments(
    client: Client, django_assert_num_queries: Any
) -> None:
    _publish_at(2)
    client.force_login(UserFactory())  # signed in: past the anonymous page cache, to count the real work
    small = _rated(votes=2, factors=5, comment="ok")
    big = _rated(votes=40, factors=10, comment="great")
    first = _rated(votes=2, factors=5, comment="fine")
    scoring.run_all(triggered_by="test")
    client.get("/")  # the signed-in header's figures are kept from here on, for every page alike
    client.get(first.product.get_absolute_url())  # the reader's shell and helpful marks too, for every product
    with CaptureQueriesContext(connection) as small_cold:
        client.get(small.product.get_absolute_url())
    with CaptureQueriesContext(connection) as small_warm:
        client.get(small.product.get_absolute_url())

    with django_assert_num_queries(len(small_cold)):
        client.get(big.product.get_absolute_url())
    with django_assert_num_queries(len(small_warm)):
        response = client.get(big.product.get_absolute_url())

    assert response.status_code == 200
    # kept with the product's parts (catalog.page_cache.PartsSlot): the product's row, the rating's result,
    # factors and their reliability, the units sold, the notes and the category's factors; the comments section
    # (catalog.kept_comments): the reviews, their count and their factor scores; per reader, the shell of their
    # pages (accounts.kept_pages) and the reviews they marked helpful. Nothing is left to read.
    assert len(small_cold) == 10
    assert len(small_warm) == 0


def test_a_cached_rating_is_dropped_when_the_product_is_rescored(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _publish_at(2)
    campaign = _rated(votes=2, score=3)
    scoring.run_all(triggered_by="test")
    assert "3.0" in client.get(campaign.product.get_absolute_url()).content.decode()
    votes_cast(campaign, [[5] * 5] * 2)

    scoring.rescore_request(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        scoring.campaign_rescore(campaign_id=campaign.pk)

    html = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Rated by 4 verified purchasers." in html
    assert "<strong>4.0</strong>" in html


def test_the_category_page_ranks_products_and_shows_their_badges(client: Client) -> None:
    _publish_at(3)
    category = rating_ready_category()
    good = _rated(votes=3, score=5, category=category)
    fair = _rated(votes=3, score=3, category=category)
    unrated = ProductFactory(category=category)
    scoring.run_all(triggered_by="test")

    html = client.get(category.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    positions = [html.index(p.name) for p in (good.product, fair.product, unrated)]
    assert positions == sorted(positions)
    assert html.count('class="heart-badge"') == 1  # only the product over the threshold


def test_the_home_page_and_the_list_show_the_listed_products_by_category(client: Client) -> None:
    _publish_at(3)
    listed = _rated(votes=3, score=5)
    not_listed = _rated(votes=3, score=2)
    scoring.run_all(triggered_by="test")

    home = client.get(reverse("catalog:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    full = client.get(reverse("ratings:heart_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for html in (home, full):
        assert listed.product.name in html and listed.category.name in html
        assert not_listed.product.name not in html
    assert "1 product earned a Little Red Heart" in full


@pytest.mark.parametrize("path", ["catalog:home", "ratings:heart_list"])
def test_list_pages_run_the_same_queries_however_many_products_are_listed(
    client: Client, django_assert_num_queries: Any, path: str
) -> None:
    _publish_at(1)
    _rated(votes=1, score=5)
    scoring.run_all(triggered_by="test")
    cache.clear()
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(path))
    for _ in range(6):
        _rated(votes=2, score=5)
    scoring.run_all(triggered_by="test")
    cache.clear()

    with django_assert_num_queries(len(few)):
        client.get(reverse(path))


def test_the_methodology_states_the_live_parameters_in_both_languages(client: Client) -> None:
    RatingPolicy.objects.update_or_create(
        pk=1, defaults={"min_votes_to_publish": 42, "prior_strength": 17, "list_size": 8}
    )
    category = rating_ready_category(min_votes_to_publish=12)

    english = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "at least 42 counted votes" in english
    assert "17 more votes" in english and "at most 8 per category" in english
    assert f"{category.name_en} (12)" in english
    assert "42" in chinese and "17" in chinese and "评分方法" in chinese


def test_products_carry_the_badge_in_search_results_too(client: Client) -> None:
    _publish_at(1)
    campaign = _rated(votes=1, score=5)
    scoring.run_all(triggered_by="test")
    product = Product.objects.get(pk=campaign.product_id)

    html = client.get(reverse("catalog:search"), {"q": product.name_en}, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert product.heart_rank == 1
    assert 'class="heart-badge"' in html


def test_the_category_page_runs_the_same_queries_however_many_rated_products(
    client: Client, django_assert_num_queries: Any
) -> None:
    _publish_at(1)
    category = rating_ready_category()
    _rated(votes=1, score=5, category=category)
    scoring.run_all(triggered_by="test")
    with CaptureQueriesContext(connection) as few:
        client.get(category.get_absolute_url())
    for score in (1, 2, 3, 4, 5, 5):
        _rated(votes=2, score=score, category=category)
    scoring.run_all(triggered_by="test")
    cache.clear()  # the page as built, not its kept copy

    with django_assert_num_queries(len(few)):
        response = client.get(category.get_absolute_url())

    assert response.context["page"].paginator.count == 7


def _weigh(category: Any, weights: list[str]) -> None:
    for factor, weight in zip(category.factors.order_by("position", "id"), weights, strict=True):
        factor.weight = Decimal(weight)
        factor.save(update_fields=["weight"])


def test_a_category_weighing_its_factors_unequally_says_so_next_to_the_score(client: Client) -> None:
    # given: the first factor weighs twice the others
    _publish_at(1)
    category = rating_ready_category(factors=5)
    _weigh(category, ["2", "1", "1", "1", "1"])
    campaign = _rated(votes=2, category=category)
    scoring.run_all(triggered_by="test")
    first, second = category.factors.order_by("position", "id")[:2]

    # when
    english = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then
    assert "The factors of this category do not weigh equally:" in english
    assert f"{first.name_en} 33.3%, {second.name_en} 16.7%" in english
    assert "这一类的因素权重不相等：" in chinese
    assert f"{first.name_zh} 33.3%、{second.name_zh} 16.7%" in chinese


def test_equal_weights_need_no_notice(client: Client) -> None:
    _publish_at(1)
    campaign = _rated(votes=2)
    scoring.run_all(triggered_by="test")

    product_page = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    methodology = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Rated by 2 verified purchasers." in product_page
    assert "do not weigh equally" not in product_page
    assert "Every category weighs its factors equally." in methodology


def test_the_methodology_lists_the_categories_weighing_their_factors_unequally(client: Client) -> None:
    # given: one unequal category, one equal, one whose only different weight is on an inactive factor
    unequal = rating_ready_category(factors=5)
    _weigh(unequal, ["3", "1", "1", "1", "4"])
    rating_ready_category(factors=5)
    retired = rating_ready_category(factors=6)
    retired_factor = retired.factors.order_by("position", "id").last()
    assert retired_factor is not None
    retired_factor.weight, retired_factor.active = Decimal("5"), False
    retired_factor.save(update_fields=["weight", "active"])
    first = unequal.factors.order_by("position", "id").first()
    assert first is not None

    # when
    english = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then
    assert "These categories do not weigh their factors equally:" in english
    listed = english.split('<ul class="weight-list">')[1].split("</ul>")[0]
    assert listed.count("<li>") == 1
    assert f"<strong>{unequal.name_en}</strong>: {first.name_en} 30%, " in listed
    assert f"<strong>{unequal.name_zh}</strong>：{first.name_zh} 30%、" in chinese
