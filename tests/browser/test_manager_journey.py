"""A veteran passes the rules test, judges the queue with the keyboard, and a shopper reports a note."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from catalog.models import Note
from moderation import services
from moderation.models import Case, ManagerTerm, ManagerVote, ModerationPolicy, Report, TestAttempt
from tests.factories import DEFAULT_PASSWORD, NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, question_bank, veteran, vote_case
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTIONS = 15
ANSWERED_WRONGLY = 3  # enough to show the server scores the answers, too few to fail (9 of 15 pass)


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")


def press_on_case(page: Any, key: str, case: Case) -> None:
    """Press a voting key and wait until the script has the server's answer and takes the card away."""
    page.keyboard.press(key)
    expect(page.locator(f"#case-{case.pk}")).to_have_class(re.compile(r"\bdone\b"))


def test_a_veteran_passes_the_rules_test_and_decides_a_case_with_the_keyboard(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given the default figures: five non-skip votes decide a case, by a two-thirds majority
    ModerationPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "questions_per_attempt": QUESTIONS,
            "pass_mark": 9,
            "quorum": 5,
            "majority_numerator": 2,
            "majority_denominator": 3,
        },
    )
    spam = RuleFactory(code="spam", name_zh="垃圾广告", name_en="Spam")
    abuse = RuleFactory(code="abuse", name_zh="人身攻击", name_en="Personal attacks")
    question_bank(20, rule=spam)
    cream = ProductFactory(name_zh="保湿面霜", name_en="Moisturising Cream")
    advert = NoteFactory(mentions=[cream], title="加微信买便宜货", body="私信我，全网最低价，代购包邮。")
    kept = NoteFactory(mentions=[cream], title="用了一个月的感受", body="冬天用刚好，不油腻。")
    # the advert has four "violates" votes already: one more decides it
    deciding = note_case(note=advert, rule=spam, priority=10)
    for _ in range(4):
        services.vote_cast(manager=manager(), case_id=deciding.pk, choice=ManagerVote.Choice.VIOLATES)
    rating_campaign = campaign_for(ProductFactory(category=rating_ready_category(factors=5), name_zh="洁面乳"))
    (rude_vote,) = votes_cast(
        rating_campaign, [[1, 1, 1, 1, 1]], comment="卖家是骗子，" + "差评" * 40 + " https://example.com/" + "x" * 80
    )
    rating_case = vote_case(rude_vote, rule=abuse, priority=5)
    skipped = note_case(note=NoteFactory(title="有点夸张的测评"), rule=spam, priority=3)
    cleared = note_case(note=NoteFactory(title="成分表对比"), rule=spam, priority=2)
    veteran(email="hua@example.com", display_name="小华")
    page = browser_page

    # when the veteran signs in and opens the test page from the footer
    sign_in(page, live_server, "hua@example.com")
    page.locator("footer a[href='/moderation/test/']").click()
    page.wait_for_url(live_server.url + "/moderation/test/")
    assert page.locator("header a.manager-link").count() == 0
    screenshot(page, "01-test-page")

    # they start the test and answer every question, three of them wrongly
    page.locator("form[action$='/moderation/test/start/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/moderation/test/\d+/$"))
    questions = page.locator("fieldset.quiz-question")
    assert questions.count() == QUESTIONS
    for n in range(QUESTIONS):
        position = 1 if n < ANSWERED_WRONGLY else 0  # choices are in position order; position 0 is right
        questions.nth(n).locator("label.quiz-choice").nth(position).click()
    assert page.locator("fieldset.quiz-question input[type=radio]:checked").count() == QUESTIONS
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header would be drawn mid-page otherwise
    screenshot(page, "02-test-questions")
    page.locator("form.quiz input[name=confirm]").check()
    page.locator("form.quiz button[type=submit]").click()
    page.wait_for_selector(".big-result")

    # then the server scored them, made them a manager and the header links to the queue
    attempt = TestAttempt.objects.get(user__email="hua@example.com")
    assert (attempt.correct, attempt.passed) == (QUESTIONS - ANSWERED_WRONGLY, True)
    assert ManagerTerm.objects.filter(user__email="hua@example.com", status=ManagerTerm.Status.ACTIVE).exists()
    shown = set(re.findall(r"\d+", page.locator(".big-result").inner_text()))  # "15 题答对 12 题" / "12 of 15 correct"
    assert shown == {str(QUESTIONS - ANSWERED_WRONGLY), str(QUESTIONS)}
    assert page.locator("main .manager-badge").inner_text() == "生态管理员"
    assert page.locator("header a.manager-link").is_visible()
    screenshot(page, "03-test-result")

    # the queue holds the four cases, the most urgent first and current
    page.locator("header a.manager-link").click()
    page.wait_for_url(live_server.url + "/moderation/")
    order = [deciding, rating_case, skipped, cleared]
    assert page.locator(".case").evaluate_all("cards => cards.map(c => +c.dataset.case)") == [c.pk for c in order]
    expect(page.locator(".case.current:not(.done)")).to_have_attribute("data-case", str(deciding.pk))
    assert page.locator(f"#case-{rating_case.pk} .case-text").inner_text().startswith("卖家是骗子")
    screenshot(page, "04-queue-before")

    # V on the advert casts the fifth "violates" vote: the case is decided and the note hidden
    press_on_case(page, "v", deciding)
    deciding.refresh_from_db()
    assert (deciding.status, deciding.outcome) == (Case.Status.DECIDED, Case.Outcome.VIOLATES)
    assert Note.objects.get(pk=advert.pk).visibility == Note.Visibility.HIDDEN
    expect(page.locator(".case.current:not(.done)")).to_have_attribute("data-case", str(rating_case.pk))
    screenshot(page, "05-queue-after-deciding-vote")

    # J moves past the rating comment, S skips the next note, N clears the one after
    page.keyboard.press("j")
    expect(page.locator(".case.current:not(.done)")).to_have_attribute("data-case", str(skipped.pk))
    press_on_case(page, "s", skipped)
    press_on_case(page, "n", cleared)
    mine = dict(ManagerVote.objects.filter(manager__email="hua@example.com").values_list("case_id", "choice"))
    assert mine == {
        deciding.pk: ManagerVote.Choice.VIOLATES,
        skipped.pk: ManagerVote.Choice.SKIP,
        cleared.pk: ManagerVote.Choice.COMPLIES,
    }
    assert set(Case.objects.filter(pk__in=[skipped.pk, cleared.pk]).values_list("status", flat=True)) == {"open"}
    assert page.locator(".case:not(.done)").evaluate_all("cards => cards.map(c => +c.dataset.case)") == [rating_case.pk]
    screenshot(page, "06-queue-after")

    # the advert is gone from its product's page; the other note stays
    page.goto(live_server.url + cream.get_absolute_url())
    notes = page.locator("li.note h3")
    expect(notes).to_have_count(1)
    assert notes.inner_text() == kept.title
    screenshot(page, "07-product-after-decision")

    # and the queue reads well on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/moderation/")
    assert page.locator(".case").count() == 1
    # focusing the current case scrolled the page; the sticky header would be drawn mid-page
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "08-queue-phone")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the queue scrolls sideways on a phone"


def test_a_signed_in_shopper_reports_a_note_from_its_product_page(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a note about a cream that reads like an advert
    RuleFactory(code="spam", name_zh="垃圾广告", name_en="Spam")
    RuleFactory(code="abuse", name_zh="人身攻击", name_en="Personal attacks")
    cream = ProductFactory(name_zh="保湿面霜", name_en="Moisturising Cream")
    NoteFactory(mentions=[cream], title="用了一个月的感受", body="冬天用刚好，不油腻。")
    advert = NoteFactory(mentions=[cream], title="加微信买便宜货", body="私信我，全网最低价，代购包邮。")
    shopper = UserFactory(email="yu@example.com", display_name="小雨")
    page = browser_page

    # when a signed-in shopper follows the note's Report link
    sign_in(page, live_server, "yu@example.com")
    page.goto(live_server.url + cream.get_absolute_url())
    page.locator("li.note", has_text=advert.title).locator("a.report-link").click()
    page.wait_for_url(live_server.url + f"/moderation/report/note/{advert.pk}/")
    assert page.locator("blockquote.reported").inner_text().startswith(advert.title)
    page.locator("fieldset.rule-choice label.quiz-choice", has_text="垃圾广告").click()
    page.fill("textarea[name=comment]", "在引导私下交易")
    screenshot(page, "01-report-form")
    page.locator("main form button[type=submit]").click()

    # then they are back on the product page with a thank-you, and managers have a case to judge
    page.wait_for_url(live_server.url + cream.get_absolute_url())
    assert page.locator(".messages .message.success").is_visible()
    report = Report.objects.select_related("case", "rule").get(reporter=shopper)
    assert (report.rule.code, report.comment) == ("spam", "在引导私下交易")
    assert (report.case.note_id, report.case.status, report.case.source) == (advert.pk, "open", "report")
    assert report.case.reports_count == 1
    screenshot(page, "02-product-after-report")
