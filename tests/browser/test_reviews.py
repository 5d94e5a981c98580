"""A signed-in shopper reads a product's reviews on a phone: the most critical first, the ones that
gave one factor a 1, each with its factor scores, and marks one helpful."""

from typing import Any

import pytest

from ratings.models import ReviewHelpful
from tests.browser.test_manager_journey import sign_in
from tests.factories import UserFactory
from tests.ratings.factories import CampaignFactory, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_shopper_sorts_and_filters_reviews_on_a_phone_and_marks_one_helpful(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a product with three reviews, one of them critical of its first factor
    campaign = CampaignFactory()
    votes_cast(campaign, [[5, 5, 4, 5, 4]], comment="洗完很清爽，味道也淡，会回购。")
    votes_cast(campaign, [[4, 3, 4, 4, 3]], comment="中规中矩，控油一般，价格还可以。")
    [critical] = votes_cast(campaign, [[1, 2, 3, 2, 2]], comment="用了两周头皮发痒，不适合敏感头皮。")
    first_factor = campaign.factors.order_by("position", "id")[0]
    UserFactory(email="reader@example.com", display_name="小读者")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "reader@example.com")

    # when they open the product's reviews, sort by lowest and keep those that gave the first factor a 1
    page.goto(f"{live_server.url}{campaign.product.get_absolute_url()}#comments")
    page.select_option("#id_sort", "lowest")
    page.select_option("#id_factor", str(first_factor.factor_id))
    page.select_option("#id_score", "1")
    page.locator(".review-filter button[type=submit]").click()
    page.wait_for_url(lambda url: "sort=lowest" in url)

    # then only the critical review shows, with its scores per factor
    assert page.locator(".comment").count() == 1
    assert page.locator(".comment").first.get_by_text("头皮发痒").is_visible()
    assert page.locator(".comment .review-scores li").count() == 5
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator(f"#review-{critical.pk}").scroll_into_view_if_needed()
    screenshot(page, "01-filtered-reviews-phone")

    # and marking it helpful keeps their order and filter and counts one
    page.locator(f"#review-{critical.pk} button.helpful").click()
    page.wait_for_url(lambda url: "sort=lowest" in url and "score=1" in url)
    assert page.locator(f"#review-{critical.pk} button.helpful").get_attribute("aria-pressed") == "true"
    assert ReviewHelpful.objects.filter(vote=critical).count() == 1
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="EN").first.click()
    page.goto(f"{live_server.url}{campaign.product.get_absolute_url()}?sort=helpful#comments")
    screenshot(page, "02-reviews-by-helpful-en")
