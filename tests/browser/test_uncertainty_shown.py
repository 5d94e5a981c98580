"""The uncertainty shown (issue 18, item 6) in a real browser: the list's places with their intervals, the
product page's agreement in words and its robustness line, at a desktop and a phone width."""

from typing import Any

import numpy as np
import pytest

from ratings import scoring
from ratings.models import RatingPolicy, Vote
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_a_shopper_sees_how_sure_each_place_and_each_factor_is(
    live_server: Any, browser_page: Any, screenshot: Any, width: int
) -> None:
    # given a category of four listed serums, two of them close, and one with votes held or excluded
    RatingPolicy.objects.update_or_create(
        pk=1, defaults={"min_votes_to_publish": 8, "prior_strength": 5, "list_threshold": 3}
    )
    serums = rating_ready_category(name_zh="精华", name_en="Serums", slug="serums")
    rng = np.random.default_rng(18)
    campaigns = []
    for name, mean in (("Glow Serum", 4.6), ("Calm Serum", 4.0), ("Dew Serum", 3.95), ("Plain Serum", 3.5)):
        campaign = campaign_for(ProductFactory(category=serums, name_en=name, name_zh=name))
        votes_cast(campaign, np.clip(rng.normal(mean, 0.8, size=(15, 5)).round(), 1, 5).astype(int).tolist())
        campaigns.append(campaign)
    votes_cast(campaigns[0], [[1] * 5] * 2, verdict=Vote.Verdict.REVIEW)
    scoring.run_all(triggered_by="browser test")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])

    # the category page shows each place with its interval, on one line with the badge, inside the card
    page.goto(live_server.url + serums.get_absolute_url())
    intervals = page.locator(".card .rank-interval")
    assert intervals.count() == 4
    assert intervals.first.inner_text() == "place certain"
    assert any(text.startswith("likely #") for text in intervals.all_inner_texts())
    card = page.locator(".card").first.bounding_box()
    interval = intervals.first.bounding_box()
    assert card and interval and interval["x"] + interval["width"] <= card["x"] + card["width"] + 1
    screenshot(page, f"01-category-intervals-{width}")

    # the product page says how far raters agree, and what the held votes would have made of the score
    page.goto(live_server.url + campaigns[0].product.get_absolute_url())
    assert page.locator(".agreement-words li").count() == 5
    assert page.get_by_text("Had all 2 held or excluded votes been counted:").is_visible()
    scrolled = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not scrolled
    screenshot(page, f"02-product-agreement-{width}")
