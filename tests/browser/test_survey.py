"""A buyer ranks a factor survey's candidates on a phone: with the up/down buttons, or without JavaScript."""

from typing import Any

import pytest

from ratings.models import SurveyResponse
from tests.factories import DEFAULT_PASSWORD
from tests.ratings.test_surveys import ids, open_survey_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, live_server: Any, email: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")


def test_a_buyer_moves_a_factor_up_and_sends_the_ranking_from_a_phone(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    survey, [buyer] = open_survey_with()
    c = ids(survey)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, live_server, buyer.email)

    page.goto(live_server.url + survey.get_absolute_url())
    page.locator("[data-survey-item]").nth(2).get_by_role("button", name="Move Candidate 3 up").click()
    page.locator("[data-survey-item]").nth(1).get_by_role("button", name="Move Candidate 3 up").click()
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"
    screenshot(page, "01-moved")
    page.get_by_role("button", name="Send my ranking").click()
    page.wait_for_url(live_server.url + survey.get_absolute_url())

    response = SurveyResponse.objects.get()
    assert list(response.ranks.order_by("rank").values_list("candidate_id", flat=True)) == [c[2], c[0], c[1], *c[3:]]
    assert page.get_by_text("Your answer").is_visible()
    screenshot(page, "02-answered")


def test_without_javascript_the_place_selects_rank_the_factors(live_server: Any, browser_page: Any) -> None:
    survey, [buyer] = open_survey_with()
    c = ids(survey)
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    _sign_in(page, live_server, buyer.email)

    page.goto(live_server.url + survey.get_absolute_url())
    assert not page.get_by_role("button", name="Move Candidate 1 up").is_visible()
    page.select_option(f"select[name=place_{c[0]}]", "2")
    page.select_option(f"select[name=place_{c[1]}]", "1")
    page.get_by_role("button", name="Send my ranking").click()
    page.wait_for_load_state()
    context.close()

    response = SurveyResponse.objects.get()
    assert list(response.ranks.order_by("rank").values_list("candidate_id", flat=True)) == [c[1], c[0], *c[2:]]
