"""A buyer with an invitation signs in, accepts it, rates the product with the keyboard, then amends the vote."""

from typing import Any

import pytest

from accounts.models import Notification
from ratings.models import Vote, VoteRevision
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import InvitationFactory, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_SCORES = [5, 4, 3, 4, 5, 2]


def choose_with_keyboard(page: Any, factor_pk: int, score: int) -> None:
    """Focus the group's first heart, select it with Space, then walk right with the arrow key."""
    page.focus(f"#id_factor_{factor_pk}_0")
    page.keyboard.press("Space")
    for _ in range(score - 1):
        page.keyboard.press("ArrowRight")


def test_a_buyer_accepts_an_invitation_rates_with_the_keyboard_and_amends(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a shampoo being rated on six factors, and a buyer invited to rate it
    shampoo = rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo")
    product = ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo")
    campaign = campaign_for(product)
    buyer = UserFactory(email="mei@example.com", display_name="小美")
    invitation = InvitationFactory(campaign=campaign, user=buyer)
    Notification.objects.create(
        user=buyer, kind=Notification.Kind.INVITATION, subject_id=invitation.pk, url=invitation.get_absolute_url()
    )
    factors = list(campaign.factors.all())
    page = browser_page

    # when they sign in, the header shows one unread message
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", "mei@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("header .badge").inner_text().startswith("1")
    screenshot(page, "01-signed-in-badge")

    # the inbox holds the invitation; opening the inbox reads it
    page.locator("header a.inbox-link").click()
    page.wait_for_url(live_server.url + "/inbox/")
    assert page.locator(".inbox-item.unread").count() == 1
    screenshot(page, "02-inbox")
    page.locator(".inbox-item a.inbox-title").first.click()
    page.wait_for_url(live_server.url + invitation.get_absolute_url())
    assert page.locator("header .badge").count() == 0
    assert page.get_by_role("heading", name="丝滑洗发露").is_visible()
    assert page.locator(".rate-product-image").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "03-invitation")

    # they accept and become a verified purchaser
    page.locator("form[action$='/accept/'] button").click()
    page.wait_for_url(live_server.url + invitation.get_absolute_url())
    assert page.locator(".rate-product .verified-badge").is_visible()
    assert page.locator("fieldset.factor-field").count() == len(factors)
    screenshot(page, "04-accepted-form")

    # they score every factor with the keyboard and write a comment
    for factor, score in zip(factors, FIRST_SCORES, strict=True):
        choose_with_keyboard(page, factor.pk, score)
        assert page.locator(f"input[name=factor_{factor.pk}]:checked").get_attribute("value") == str(score)
    page.focus("textarea[name=comment]")
    page.keyboard.type("洗完很顺滑，味道淡淡的。<b>not bold</b>")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header would be drawn mid-page otherwise
    screenshot(page, "05-form-filled")
    page.focus("form[data-rating-form] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".vote-summary")

    # the vote is recorded and shown
    vote = Vote.objects.get(user=buyer)
    assert dict(vote.scores.values_list("factor_id", "score")) == {
        f.pk: s for f, s in zip(factors, FIRST_SCORES, strict=True)
    }
    assert vote.seconds_to_fill is not None
    shown = [int(n.get_attribute("data-score")) for n in page.locator(".vote-summary [data-score]").all()]
    assert shown == FIRST_SCORES
    assert page.locator(".vote-comment").inner_text().endswith("<b>not bold</b>")
    screenshot(page, "06-vote-recorded")

    # they amend the first factor from 5 to 3 hearts with the arrow keys
    page.locator("a[href$='/vote/']").click()
    page.wait_for_selector("form[data-rating-form]")
    assert page.locator(f"input[name=factor_{factors[0].pk}]:checked").get_attribute("value") == "5"
    page.focus(f"input[name=factor_{factors[0].pk}]:checked")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    screenshot(page, "07-amending")
    page.focus("form[data-rating-form] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".vote-summary")
    shown = [int(n.get_attribute("data-score")) for n in page.locator(".vote-summary [data-score]").all()]
    assert shown == [3, *FIRST_SCORES[1:]]
    vote.refresh_from_db()
    assert vote.revision_count == 1
    assert VoteRevision.objects.get(vote=vote).scores[str(factors[0].pk)] == 5
    assert Vote.objects.count() == 1
    screenshot(page, "08-amended")

    # and in English
    page.locator("header .lang button[value=en]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Silky Shampoo").is_visible()
    assert page.get_by_role("heading", name="Your vote").is_visible()
    assert page.locator(".verified-badge").first.inner_text() == "Verified purchaser"
    screenshot(page, "09-amended-en")
    page.locator("header").get_by_role("link", name="My invitations").click()
    page.wait_for_load_state()
    assert page.locator("#voted .invite-row").count() == 1
    screenshot(page, "10-my-invitations-en")

    # and the form reads well on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + f"/invitations/{invitation.pk}/vote/")
    screenshot(page, "11-form-en-phone")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways on a phone"
    box = page.locator(f"label[for=id_factor_{factors[0].pk}_0]").bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44, "hearts are big enough to tap"


def test_a_buyer_sees_every_section_of_my_invitations_and_a_clear_error_for_a_missing_score(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from ratings.models import Invitation
    from tests.ratings.factories import accepted_invitation, vote_for

    buyer = UserFactory(email="lei@example.com", display_name="小雷")
    pending = InvitationFactory(user=buyer)
    accepted = accepted_invitation(user=buyer)
    vote_for(accepted_invitation(user=buyer), comment="不错")
    InvitationFactory(user=buyer, status=Invitation.Status.DECLINED)
    past = timezone.now() - timedelta(days=20)
    InvitationFactory(user=buyer, created_at=past, expires_at=past + timedelta(days=14))
    page = browser_page
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", "lei@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/invitations/")
    for section in ("pending", "accepted", "voted", "closed"):
        assert page.locator(f"#{section} .invite-row").count() >= 1
    screenshot(page, "01-my-invitations-all-sections")

    # the browser's own check is bypassed, as a script or an old browser might: the server still refuses
    page.goto(live_server.url + accepted.get_absolute_url())
    factors = list(accepted.campaign.factors.all())
    for factor in factors[1:]:
        page.focus(f"#id_factor_{factor.pk}_0")
        page.keyboard.press("Space")
    page.evaluate("document.querySelector('form[data-rating-form]').noValidate = true")
    page.locator("form[data-rating-form] button[type=submit]").click()
    page.wait_for_selector(".factor-field.has-error")
    assert page.locator(".factor-field.has-error").count() == 1
    assert not Vote.objects.filter(invitation=accepted).exists()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "02-missing-score-error")

    page.goto(live_server.url + "/me/")
    assert page.locator(".verified-badge").count() == 2
    screenshot(page, "03-profile")
    page.goto(live_server.url + pending.get_absolute_url())
    page.locator("details.decline summary").click()
    page.locator("form[action$='/decline/'] button").click()
    page.wait_for_url(live_server.url + "/invitations/")
    screenshot(page, "04-declined")
