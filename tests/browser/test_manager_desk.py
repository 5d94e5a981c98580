"""A manager works the desk with the keyboard alone: reads the rule and the reporters' words, votes, sees
the confirmation beside the case, undoes, and opens a case on its own page."""

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from moderation import services
from moderation.models import ManagerVote, ModerationPolicy
from tests.factories import NoteFactory, UserFactory
from tests.moderation.factories import RuleFactory, manager, note_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(page: Any, live_server: Any, user: Any) -> None:
    """The manager's session in the browser (signing in is another test's journey)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def current(page: Any) -> Any:
    return page.locator(".case.current:not(.done)")


def test_a_manager_votes_undoes_and_opens_a_case_with_the_keyboard_alone(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a daily cap of 10 votes, 30 seconds to undo, and three cases
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 10, "undo_seconds": 30})
    spam = RuleFactory(
        code="spam", name_zh="垃圾广告", name_en="Spam", description_zh="不得发布广告、联系方式或引流链接。"
    )
    advert = NoteFactory(title="加微信买便宜货", body="私信我，全网最低价，代购包邮。")
    services.report_submit(reporter=UserFactory(), rule=spam, note=advert, comment="留了微信号，让人私下交易")
    services.report_submit(reporter=UserFactory(), rule=spam, note=advert, comment="纯广告")
    second = note_case(note=NoteFactory(title="用了一个月的感受", body="冬天用刚好。"), rule=spam, priority=2)
    third = note_case(note=NoteFactory(title="成分表对比", body="两款面霜的成分。"), rule=spam, priority=1)
    first = advert.case_set.get()
    judge = manager(display_name="小李")
    page = browser_page
    signed_in(page, live_server, judge)

    # when they open the desk
    page.goto(live_server.url + "/moderation/")
    expect(current(page)).to_have_attribute("data-case", str(first.pk))
    card = page.locator(f"#case-{first.pk}")
    expect(card.locator(".case-rule")).to_contain_text("不得发布广告、联系方式或引流链接。")
    expect(card.locator(".reporter-reasons li")).to_have_count(2)
    expect(card.locator(".reporter-reasons")).to_contain_text("留了微信号，让人私下交易")
    expect(page.locator("[data-votes-left]")).to_have_attribute("data-votes-left", "10")
    labels = card.locator("form.case-vote button").evaluate_all("bs => bs.map(b => b.value + ':' + b.className)")
    assert labels == ["complies:secondary vote-choice", "violates:secondary vote-choice", "skip:secondary vote-choice"]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "01-desk")

    # V votes "violates": the card folds into a confirmation with an undo, the next case is current
    page.keyboard.press("v")
    confirm = card.locator("form.case-confirm")
    expect(confirm).to_be_visible()
    expect(confirm.locator(".case-confirm-text")).to_contain_text(f"{first.pk}")
    expect(confirm.locator(".case-confirm-text")).to_contain_text("违规")
    expect(confirm.locator(".case-undo")).to_be_visible()
    expect(current(page)).to_have_attribute("data-case", str(second.pk))
    expect(page.locator("[data-votes-left]")).to_have_attribute("data-votes-left", "9")
    assert ManagerVote.objects.get(case=first, manager=judge).choice == "violates"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "02-voted-with-undo")

    # U takes it back: the vote is gone, the card is whole and current again, the count restored
    page.keyboard.press("u")
    expect(confirm).to_be_hidden()
    expect(current(page)).to_have_attribute("data-case", str(first.pk))
    expect(page.locator("[data-votes-left]")).to_have_attribute("data-votes-left", "10")
    assert not ManagerVote.objects.filter(case=first).exists()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "03-undone")

    # N on it, J past the second, S skips the third
    page.keyboard.press("n")
    expect(current(page)).to_have_attribute("data-case", str(second.pk))
    page.keyboard.press("j")
    expect(current(page)).to_have_attribute("data-case", str(third.pk))
    page.keyboard.press("s")
    expect(page.locator(f"#case-{third.pk}")).to_have_class(re.compile(r"\bdone\b"))
    mine = dict(ManagerVote.objects.filter(manager=judge).values_list("case_id", "choice"))
    assert mine == {first.pk: "complies", third.pk: "skip"}
    expect(page.locator("[data-votes-left]")).to_have_attribute("data-votes-left", "8")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "04-after-votes")

    # the case page: Tab to the second case's link, Enter opens it; its buttons are reachable by Tab too
    expect(current(page)).to_have_attribute("data-case", str(second.pk))
    page.keyboard.press("Tab")
    for _ in range(20):
        if page.evaluate("document.activeElement.classList.contains('case-link')"):
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/moderation/cases/{second.pk}/"
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + f"/moderation/cases/{second.pk}/")
    expect(page.locator("h3")).to_have_text("用了一个月的感受")
    screenshot(page, "05-case-page")
    page.keyboard.press("v")
    expect(page.locator(f"#case-{second.pk} form.case-confirm")).to_be_visible()
    assert ManagerVote.objects.get(case=second, manager=judge).choice == "violates"
    screenshot(page, "06-case-page-voted")
