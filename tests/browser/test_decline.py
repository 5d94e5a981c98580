"""Declining an invitation is final, so a buyer is asked once more before it happens."""

from typing import Any

import pytest

from ratings.models import Invitation
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import InvitationFactory, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _status(invitation: Invitation) -> str:
    return Invitation.objects.values_list("status", flat=True).get(pk=invitation.pk)


def test_a_buyer_who_taps_decline_is_asked_first_and_declines_only_on_the_second_tap(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a buyer invited to rate two shampoos, reading English on a phone
    shampoo = rating_ready_category(factors=5, name_zh="洗发水", name_en="Shampoo", slug="shampoo")
    buyer = UserFactory(email="mei@example.com", display_name="小美")
    kept, declined = (
        InvitationFactory(campaign=campaign_for(ProductFactory(category=shampoo, name_en=name)), user=buyer)
        for name in ("Silky Shampoo", "Fresh Shampoo")
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", "mei@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")

    # when they tap "Decline" on their list, they are asked, and nothing has happened yet
    page.goto(live_server.url + "/invitations/")
    row = page.locator(".invite-row", has_text="Silky Shampoo")
    row.get_by_text("Decline", exact=True).click()
    assert row.get_by_text("Decline for good?").is_visible()
    assert row.get_by_role("button", name="Yes, decline").is_visible()
    assert _status(kept) == Invitation.Status.PENDING
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"
    screenshot(page, "01-list-asked")

    # and on the invitation page the second tap declines
    page.goto(live_server.url + declined.get_absolute_url())
    page.locator("details.decline summary").click()
    assert page.get_by_text("this cannot be undone").is_visible()
    screenshot(page, "02-invitation-asked")
    page.get_by_role("button", name="Yes, decline").click()
    page.wait_for_url(live_server.url + "/invitations/")
    assert _status(declined) == Invitation.Status.DECLINED
    assert _status(kept) == Invitation.Status.PENDING
    assert page.get_by_text("You declined the invitation.").is_visible()
    screenshot(page, "03-declined")
