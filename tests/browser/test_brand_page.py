"""A brand's page in a real browser: charts first, readable on a phone, in both languages."""

import random
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from catalog.models import Factor
from ratings import scoring
from ratings.models import RatingPolicy, Vote
from tests.factories import BrandFactory, ProductFactory, brand_account, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FACTORS = [
    ("清洁力", "Cleansing"),
    ("香味", "Aroma"),
    ("去屑", "Dandruff control"),
    ("柔顺", "Conditioning"),
    ("保湿", "Moisturizing"),
]


def brand_with_history() -> Any:
    """A shampoo brand with three products: two published with eight months of votes, one still collecting."""
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 20, "prior_strength": 0})
    category = rating_ready_category(name_zh="洗发水", name_en="Shampoo")
    for factor, (zh, en) in zip(Factor.objects.filter(category=category).order_by("position"), FACTORS, strict=True):
        Factor.objects.filter(pk=factor.pk).update(name_zh=zh, name_en=en)
    brand = BrandFactory(name_zh="清风", name_en="Breeze")
    rng = random.Random(7)
    now = timezone.now()
    products = [
        ("清风去屑洗发水", "Breeze anti-dandruff shampoo", 40, 4),
        ("清风柔顺洗发露", "Breeze smooth shampoo", 30, 3),
        ("清风植萃洗发水", "Breeze botanical shampoo", 6, 4),
    ]
    for zh, en, votes, centre in products:
        product = ProductFactory(category=category, brand=brand, name_zh=zh, name_en=en)
        rows = [[min(5, max(1, centre + rng.choice([-1, 0, 0, 1]))) for _ in FACTORS] for _ in range(votes)]
        votes_cast(campaign_for(product), rows, comment="")
        for i, pk in enumerate(Vote.objects.filter(product=product).order_by("pk").values_list("pk", flat=True)):
            when = now - timedelta(days=30 * (i % 8), hours=i)
            comment = "洗完头皮很清爽，味道淡淡的。" if i % 9 == 0 else ""
            Vote.objects.filter(pk=pk).update(created_at=when, submitted_at=when, comment=comment)
    for n in range(3):  # the category's other brands
        rival = ProductFactory(category=category, name_zh=f"别家洗发水{n}", name_en=f"Rival shampoo {n}")
        votes_cast(campaign_for(rival), [[3 + (i + n) % 2 for _ in FACTORS] for i in range(25)])
    scoring.run_all(triggered_by="test")
    return brand_account(brand=brand)


def signed_in(page: Any, live_server: Any, user: Any, language: str) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [
            {"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url},
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        ]
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_brand_team_reads_its_page_on_a_desktop_and_a_phone(
    live_server: Any, browser_page: Any, screenshot: Any, language: str
) -> None:
    team = brand_with_history()
    signed_in(browser_page, live_server, team, language)

    for width in (1280, 390):
        browser_page.set_viewport_size({"width": width, "height": 900})
        browser_page.goto(f"{live_server.url}/brand/")
        screenshot(browser_page, f"brand-{language}-{width}")

        assert browser_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        first_chart = browser_page.locator("svg.chart-compare").first.bounding_box()
        assert first_chart is not None and first_chart["y"] < 900  # a chart in the first screen
        assert browser_page.locator("svg.chart-trend").count() == 3
