"""A partner's developer opens the API's docs page: Swagger UI runs from our own static files, under our CSP."""

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_page_shows_every_endpoint_with_nothing_refused_by_the_csp(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    page = browser_page
    refusals: list[str] = []
    page.on(
        "console", lambda message: refusals.append(message.text) if "Content Security Policy" in message.text else None
    )
    outside: list[str] = []
    page.on(
        "request", lambda request: outside.append(request.url) if not request.url.startswith(live_server.url) else None
    )
    # when
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    # then
    assert response.status == 200
    page.get_by_text("Little Red Heart API").first.wait_for()
    for path in ("/api/v1/list/", "/api/v1/categories/{slug}/", "/api/v1/products/{slug}/", "/api/v1/methodology/"):
        assert page.get_by_text(path, exact=True).first.is_visible()
    screenshot(page, "api-docs")
    assert refusals == [] and [url for url in outside if not url.startswith("data:")] == []
