"""A visitor signs up, confirms their email, signs in, switches language and opens a product."""

import re
from typing import Any

import pytest
from django.core import mail

from tests.factories import CategoryFactory, ProductFactory, rating_ready_category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_signs_up_confirms_signs_in_switches_language_and_opens_a_product(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a shampoo on sale
    hair = CategoryFactory(name_zh="洗护发", name_en="Hair care", slug="hair-care")
    shampoo = rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo", parent=hair)
    product = ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo")
    page = browser_page

    # a Chinese browser is shown Chinese
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="值得信赖的商品评分").is_visible()
    screenshot(page, "01-home-zh")

    # when they sign up
    page.get_by_role("link", name="注册").click()
    page.fill("input[name=email]", "lin@example.com")
    page.fill("input[name=display_name]", "小林")
    page.fill("input[name=password1]", "a-long-unusual-passphrase")
    page.fill("input[name=password2]", "a-long-unusual-passphrase")
    screenshot(page, "02-signup")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    screenshot(page, "03-check-your-email")

    # then they confirm through the link in the captured email
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    confirm_path = re.sub(r"^https?://[^/]+", "", link.group(0))
    page.goto(live_server.url + confirm_path)
    page.locator("main form button[type=submit]").click()

    # and confirming signed them in, with no second form to fill
    page.wait_for_url(live_server.url + "/")
    assert page.locator("header").get_by_text("小林").is_visible()

    # signing out and in again works with the password they chose
    page.locator("header form[action$='/accounts/logout/'] button").click()
    page.wait_for_url(re.compile(r".*"))
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", "lin@example.com")
    page.fill("input[name=password]", "a-long-unusual-passphrase")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")
    assert page.locator("header").get_by_text("小林").is_visible()

    # switching to English overrides the browser's language, on every page after
    page.locator("header .lang button[value=en]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Product ratings you can trust").is_visible()
    screenshot(page, "04-home-en-signed-in")

    # the product page shows its details and the factors it will be rated on
    page.goto(live_server.url + product.get_absolute_url())
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Silky Shampoo").is_visible()
    for factor in shampoo.factors.all():
        assert page.locator("#rating").get_by_text(factor.name_en, exact=True).is_visible()
    assert page.locator("img.product-image").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "05-product-en")

    # and reads well on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "06-product-en-phone")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways on a phone"
