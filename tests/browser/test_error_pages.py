"""A person who follows a dead link on a phone sees the site, in their language, and a way back."""

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dead_link_on_a_phone_shows_a_page_that_fits_and_leads_home(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    # when
    response = page.goto(f"{live_server.url}/product/999999/")
    # then
    assert response.status == 404
    assert page.get_by_role("heading", name="页面不存在").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "404-zh-phone")
    page.get_by_role("link", name="返回首页").click()
    page.wait_for_url(f"{live_server.url}/")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="EN").first.click()
    response = page.goto(f"{live_server.url}/nowhere/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    screenshot(page, "404-en-desktop")
