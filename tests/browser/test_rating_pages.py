"""A shopper browses the Little Red Heart list: home → category → product, switches language, reads the method."""

import importlib
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.apps import apps as django_apps

from ratings import scoring
from ratings.models import RatingPolicy
from tests.factories import CategoryFactory, FactorFactory, ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_shopper_follows_the_list_to_a_product_reads_its_charts_and_the_methodology(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a shampoo category with a listed product, a fair one and one still gathering votes
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 12, "prior_strength": 10})
    hair = CategoryFactory(name_zh="洗护发", name_en="Hair care", slug="hair-care")
    shampoo = rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo", parent=hair)
    rng = np.random.default_rng(5)
    best = campaign_for(ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo"))
    fair = campaign_for(ProductFactory(category=shampoo, name_zh="清爽洗发水", name_en="Fresh Shampoo"))
    young = campaign_for(ProductFactory(category=shampoo, name_zh="新品洗发水", name_en="New Shampoo"))
    votes_cast(best, np.clip(rng.normal(4.5, 0.6, size=(24, 6)).round(), 1, 5).astype(int).tolist(), comment="很好用")
    votes_cast(fair, np.clip(rng.normal(3.2, 0.9, size=(20, 6)).round(), 1, 5).astype(int).tolist())
    votes_cast(young, [[5] * 6] * 4)
    scoring.run_all(triggered_by="browser test")
    page = browser_page

    # the home page shows the list, grouped by category, in Chinese for a Chinese browser
    page.goto(live_server.url + "/")
    list_section = page.locator("section[aria-labelledby=heart-list-title]")
    assert list_section.get_by_role("heading", name="洗发水").is_visible()
    assert list_section.get_by_text("丝滑洗发露").is_visible()
    assert list_section.get_by_text("清爽洗发水").count() == 0
    screenshot(page, "01-home-list-zh")

    # the category page ranks its products with scores and the badge
    list_section.get_by_role("link", name="洗发水", exact=True).click()
    page.wait_for_url(live_server.url + shampoo.get_absolute_url())
    names = page.locator(".card-name").all_inner_texts()
    assert names.index("丝滑洗发露") < names.index("清爽洗发水") < names.index("新品洗发水")
    assert page.locator(".card .heart-badge").count() == 1
    screenshot(page, "02-category-ranked-zh")

    # the product page: score, charts, a table for screen readers, comments
    page.get_by_text("丝滑洗发露").first.click()
    page.wait_for_url(live_server.url + best.product.get_absolute_url())
    best.product.refresh_from_db()
    assert page.locator(".big-score strong").inner_text() == f"{best.product.rating_score:.1f}"
    assert page.locator("svg.chart-radar").is_visible() and page.locator("svg.chart-bars").is_visible()
    assert page.locator(".factor-table tbody tr").count() == 6
    assert page.get_by_text("很好用").first.is_visible()
    screenshot(page, "03-product-zh")

    # switching to English keeps the shopper on the page
    page.locator("header .lang button[value=en]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Rated by 24 verified purchasers.").is_visible()
    screenshot(page, "04-product-en")

    # a product still gathering votes shows progress, not a score
    page.goto(live_server.url + young.product.get_absolute_url())
    assert page.get_by_text("4 of the 12 counted votes needed before the score is published.").is_visible()
    assert page.locator(".big-score").count() == 0
    screenshot(page, "05-product-unpublished-en")

    # the methodology states the live parameters
    page.get_by_role("link", name="How these numbers are made").click()
    assert page.get_by_role("heading", name="How the ratings are made").is_visible()
    assert page.get_by_text("at least 12 counted votes").is_visible()
    screenshot(page, "06-methodology-en")

    # and the product page reads well on a phone
    page.goto(live_server.url + best.product.get_absolute_url())
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "07-product-en-phone")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"


def _schedule_of_a_fresh_database() -> None:
    """The periodic jobs a fresh database gets (an earlier transactional test may have flushed them)."""
    migration = importlib.import_module("ratings.migrations.0006_periodic_tasks")
    migration.create_periodic_tasks(django_apps, None)


def test_a_shopper_reads_when_ratings_update_and_which_factors_weigh_more(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a face cream category whose first two factors weigh more, and a published cream
    _schedule_of_a_fresh_database()
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 3})
    cream = CategoryFactory(name_zh="面霜", name_en="Face cream", slug="face-cream")
    factors = [("保湿", "Moisturising", "3"), ("温和不刺激", "Gentle on skin", "2"), ("吸收速度", "Absorption", "1")]
    factors += [("香味", "Scent", "1"), ("包装", "Packaging", "1"), ("性价比", "Value for money", "1")]
    for position, (name_zh, name_en, weight) in enumerate(factors):
        FactorFactory(category=cream, name_zh=name_zh, name_en=name_en, weight=Decimal(weight), position=position)
    cream.rating_ready = True
    cream.save(update_fields=["rating_ready"])
    campaign = campaign_for(ProductFactory(category=cream, name_zh="水润面霜", name_en="Dewy Cream"))
    votes_cast(campaign, [[5, 4, 4, 3, 4, 5], [4, 4, 5, 4, 3, 4], [5, 5, 4, 4, 4, 4]])
    scoring.run_all(triggered_by="browser test")
    page = browser_page

    # the product page says, beside the score, that the factors weigh unequally
    page.goto(live_server.url + campaign.product.get_absolute_url())
    notice = page.locator(".weights-notice")
    assert (
        notice.inner_text()
        == "这一类的因素权重不相等：保湿 33.3%、温和不刺激 22.2%、吸收速度 11.1%、香味 11.1%、包装 11.1%、性价比 11.1%"
    )
    screenshot(page, "01-product-unequal-weights-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    assert notice.is_visible()
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"
    screenshot(page, "02-product-unequal-weights-zh-phone")

    # the methodology tells the next monthly update and lists the category
    page.goto(live_server.url + "/methodology/")
    assert "下次更新" in page.locator("#next-update").inner_text()
    assert page.locator(".weight-list li").all_inner_texts() == [
        "面霜：保湿 33.3%、温和不刺激 22.2%、吸收速度 11.1%、香味 11.1%、包装 11.1%、性价比 11.1%"
    ]
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"
    screenshot(page, "03-methodology-zh-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "04-methodology-zh")

    # and in English
    page.locator("header .lang button[value=en]").click()
    page.wait_for_load_state()
    assert page.locator("#next-update").inner_text().startswith("Products are selected and buyers invited")
    assert page.locator(".weight-list li").all_inner_texts() == [
        "Face cream: Moisturising 33.3%, Gentle on skin 22.2%, Absorption 11.1%, Scent 11.1%, Packaging 11.1%, "
        "Value for money 11.1%"
    ]
    screenshot(page, "05-methodology-en")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "06-methodology-en-phone")
    page.goto(live_server.url + campaign.product.get_absolute_url())
    assert notice.inner_text().startswith("The factors of this category do not weigh equally: Moisturising 33.3%")
    screenshot(page, "07-product-unequal-weights-en-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "08-product-unequal-weights-en")
