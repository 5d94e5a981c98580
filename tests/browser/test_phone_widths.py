"""Every public page fits a phone: nothing scrolls sideways at 360 and 390 px, in Chinese and in English.

One test per language walks every page a shopper can reach without an account, at both widths, and
reports every page that fails at once (a list of failures reads better than the first one alone).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from accounts.models import User
from ratings import scoring
from ratings.models import RatingPolicy
from tests.factories import BrandFactory, CategoryFactory, ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 390)
PHONE_HEIGHT = 780

# Text a person reads on a Chinese page that is not Chinese: two Latin letters in a row, anywhere in the
# page once what people wrote themselves (a review, a search) is taken out. Elements marked with another
# language (the "EN" switch) are skipped, as a screen reader would.
LATIN_OUTSIDE_USER_CONTENT = """
(userText) => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const marked = node.parentElement.closest('[lang]');
    if (marked && !marked.lang.startsWith('zh')) continue;
    if (node.parentElement.closest('script, style')) continue;
    const text = userText.reduce((rest, own) => rest.replaceAll(own, ''), node.textContent);
    if (/[A-Za-z]{2,}/.test(text)) found.push(text.trim());
  }
  return found;
}
"""

# The widest element, to say what overflows when a page does.
WIDEST = """
() => {
  const found = [];
  for (const element of document.querySelectorAll('body *')) {
    const right = Math.max(element.getBoundingClientRect().right,
                           element.getBoundingClientRect().left + element.scrollWidth);
    if (right > window.innerWidth + 0.5) {
      found.push(`${element.tagName.toLowerCase()}.${element.className.baseVal ?? element.className} ` +
                 `(${Math.round(right)} px): ${(element.textContent || '').trim().slice(0, 30)}`);
    }
  }
  return found.slice(-3);
}
"""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    status: int = 200
    score_first: bool = False
    user_text: tuple[str, ...] = ()


def _shop() -> list[Page]:
    """A catalogue with what stretches a narrow screen: long names, a long URL in a review, eight factors."""
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 12, "prior_strength": 10})
    hair = CategoryFactory(name_zh="洗护发", name_en="Hair care", slug="hair-care")
    shampoo = rating_ready_category(
        factors=8, name_zh="去屑止痒洗发水", name_en="Anti-dandruff and anti-itch shampoo", slug="shampoo", parent=hair
    )
    brand = BrandFactory(name_zh="施华蔻专业线", name_en="Schwarzkopf Professional Laboratories")
    long_name_en = "Extra-Strength Anti-Dandruff Clarifying Shampoo for Oily and Sensitive Scalps (750 ml)"
    best = campaign_for(
        ProductFactory(
            category=shampoo,
            brand=brand,
            name_zh="强效去屑控油清爽洗发露（敏感头皮适用）750毫升超大容量家庭装",
            name_en=long_name_en,
            slug="silky-shampoo",
        )
    )
    young = campaign_for(
        ProductFactory(category=shampoo, brand=brand, name_zh="新品洗发水", name_en="New Shampoo", slug="new-shampoo")
    )
    ProductFactory(category=shampoo, name_zh="未评分洗发水", name_en="Unrated Shampoo", slug="unrated-shampoo")
    rng = np.random.default_rng(7)
    comment = (
        "用了一个月，头屑少了很多。详情见https://example.com/reviews/2026/an-unusually-long-path-without-any-breaks"
    )
    votes = votes_cast(
        best, np.clip(rng.normal(4.4, 0.7, size=(20, 8)).round(), 1, 5).astype(int).tolist(), comment=comment
    )
    User.objects.filter(votes__in=votes).update(display_name="小红薯")
    votes_cast(young, [[5] * 8] * 4)
    nothing = "nothingmatchesthisratherlongsearchforashampoothatdoesnotexist"
    scoring.run_all(triggered_by="browser test")
    return [
        Page("home", "/"),
        Page("categories", "/categories/"),
        Page("category", shampoo.get_absolute_url()),
        Page("product-rated", best.product.get_absolute_url(), score_first=True, user_text=(comment,)),
        Page("product-gathering", young.product.get_absolute_url()),
        Page("product-unrated", "/products/unrated-shampoo/"),
        Page("heart-list", "/little-red-heart/"),
        Page("methodology", "/methodology/"),
        Page("search", "/search/?q=%E6%B4%97%E5%8F%91"),
        Page("search-nothing", f"/search/?q={nothing}", user_text=(nothing,)),
        Page("sign-in", "/accounts/login/"),
        Page("sign-up", "/accounts/signup/"),
        Page("password-reset", "/accounts/password/reset/"),
        Page("not-found", "/products/no-such-product/", status=404),
    ]


def _walk(page: Any, base_url: str, pages: list[Page], language: str, screenshot: Any) -> list[str]:
    failures = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": PHONE_HEIGHT})
        for target in pages:
            where = f"{target.name} ({language}, {width} px)"
            response = page.goto(base_url + target.path)
            if response.status != target.status:
                failures.append(f"{where}: status {response.status}")
            if page.locator("html").get_attribute("lang") != language:
                failures.append(f"{where}: not in {language}")
            if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                failures.append(f"{where}: scrolls sideways, widest {page.evaluate(WIDEST)}")
            if target.score_first:
                box = page.locator(".score-line-number").bounding_box()
                if box is None or box["y"] + box["height"] > PHONE_HEIGHT:
                    failures.append(f"{where}: the score is not in the first screen ({box})")
            if language == "zh-hans" and (latin := page.evaluate(LATIN_OUTSIDE_USER_CONTENT, target.user_text)):
                failures.append(f"{where}: English in the site's own words: {latin}")
            path = screenshot(page, f"{target.name}-{width}")
            # and what a phone shows before any scrolling
            page.screenshot(path=str(path.with_name(f"{target.name}-{width}-first-screen.png")))
            if target.score_first:
                page.locator("#rating").screenshot(path=str(path.with_name(f"{target.name}-{width}-rating.png")))
    return failures


def test_every_public_page_fits_a_chinese_phone_with_the_score_in_the_first_screen(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    pages = _shop()
    failures = _walk(browser_page, live_server.url, pages, "zh-hans", screenshot)
    assert not failures, "\n".join(failures)


def test_every_public_page_fits_an_english_phone_with_the_score_in_the_first_screen(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    pages = _shop()
    browser_page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    failures = _walk(browser_page, live_server.url, pages, "en", screenshot)
    assert not failures, "\n".join(failures)
