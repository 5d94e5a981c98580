"""Each role's own pages, as a person in that role meets them on a phone and on a laptop, in Chinese and English.

For every role (a shopper with no role, a buyer with an invitation, an ecosystem manager, a candidate who
meets the entry bar, staff) at 390 and 1280 px and in both languages: the person is signed in, opens the
pages they came for, and checks what they would check: the page is in their language, nothing scrolls
sideways, a Chinese page speaks Chinese outside what people wrote, and on a phone what they came for (the
score, the first factor to rate, the first case, the start button, the admin's table) is in the first
screen. Every page is kept as a screenshot under test-artifacts/. Failures are gathered and reported at
once, as in the phone-width test whose checks these are.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from accounts.models import User
from ratings import scoring
from ratings.models import RatingPolicy
from tests.browser.test_manager_desk import signed_in
from tests.browser.test_phone_widths import LATIN_OUTSIDE_USER_CONTENT, WIDEST
from tests.factories import CategoryFactory, NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, veteran
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 390
HEIGHTS = {PHONE: 844, 1280: 900}

# Where an element's bottom edge sits in the page (not the viewport), so a page the script scrolled on
# load (the desk focuses its current case) is measured as it first reads.
BOTTOM_IN_PAGE = "element => element.getBoundingClientRect().bottom + window.scrollY"


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    # what the person came for, which a phone must show before any scrolling
    key: str | None = None
    user_text: tuple[str, ...] = ()


def _community_rules() -> None:
    RuleFactory(
        code="spam",
        name_zh="垃圾广告",
        name_en="Spam",
        description_zh="不得发布广告、联系方式或引流链接。",
        description_en="No advertising, contact details or links that lead elsewhere.",
    )


def _shopper() -> tuple[User, list[Visit]]:
    """A shopper with no role reads the home page and a rated product's score."""
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 12, "prior_strength": 10})
    shampoo = rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo")
    campaign = campaign_for(ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo"))
    rng = np.random.default_rng(5)
    votes = votes_cast(
        campaign, np.clip(rng.normal(4.2, 0.8, size=(14, 6)).round(), 1, 5).astype(int).tolist(), comment="挺好用的。"
    )
    User.objects.filter(votes__in=votes).update(display_name="小红薯")
    scoring.run_all(triggered_by="browser test")
    shopper = UserFactory(display_name="小雨")
    return shopper, [
        Visit("home", "/"),
        Visit("product", campaign.product.get_absolute_url(), key=".score-line-number"),
    ]


def _buyer() -> tuple[User, list[Visit]]:
    """A buyer who accepted an invitation finds it in their list and rates the product."""
    shampoo = rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo")
    buyer = UserFactory(display_name="小美")
    product = ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo")
    invitation = accepted_invitation(campaign=campaign_for(product), user=buyer)
    return buyer, [
        Visit("my-invitations", "/invitations/", key="#accepted .invite-row"),
        Visit("rating-form", invitation.get_absolute_url(), key="fieldset.factor-field"),
    ]


def _manager() -> tuple[User, list[Visit]]:
    """A manager opens the desk with a reported note waiting."""
    _community_rules()
    author = UserFactory(display_name="小王")
    note_case(
        note=NoteFactory(author=author, title="加微信买便宜货", body="私信我，全网最低价，代购包邮。"),
        rule=RuleFactory(code="spam"),
    )
    return manager(display_name="小李"), [Visit("desk", "/moderation/", key=".case .case-text")]


def _candidate() -> tuple[User, list[Visit]]:
    """A long-standing buyer who meets the entry bar reads the rules and can start the test."""
    _community_rules()
    return veteran(display_name="小华"), [
        Visit("rules-test", "/moderation/test/", key="form[action$='/moderation/test/start/'] button")
    ]


def _staff() -> tuple[User, list[Visit]]:
    """Staff open the admin and the products list."""
    names_en = ("Moisturising Cream", "Skin care")
    ProductFactory(
        name_zh="保湿面霜", name_en=names_en[0], category=CategoryFactory(name_zh="护肤", name_en=names_en[1])
    )
    staff = UserFactory(display_name="管理员", is_staff=True, is_superuser=True)
    # the admin greets staff by their address and lists both names of what staff edit in both languages
    own = (staff.email,)
    return staff, [
        Visit("admin-index", "/admin/", key="#content-main table", user_text=own),
        Visit(
            "admin-products",
            "/admin/catalog/product/",
            key="#result_list",
            user_text=(*own, *names_en),
        ),
    ]


ROLES: dict[str, Callable[[], tuple[User, list[Visit]]]] = {
    "shopper": _shopper,
    "buyer": _buyer,
    "manager": _manager,
    "candidate": _candidate,
    "staff": _staff,
}


def _check(page: Any, visit: Visit, language: str, width: int) -> list[str]:
    where = f"{visit.name} ({language}, {width} px)"
    failures = []
    if page.locator("html").get_attribute("lang") != language:
        failures.append(f"{where}: not in {language}")
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        failures.append(f"{where}: scrolls sideways, widest {page.evaluate(WIDEST)}")
    if language == "zh-hans" and (latin := page.evaluate(LATIN_OUTSIDE_USER_CONTENT, visit.user_text)):
        failures.append(f"{where}: English in the site's own words: {latin}")
    if visit.key is not None:
        key = page.locator(visit.key).first
        if not key.is_visible():
            failures.append(f"{where}: {visit.key} is not shown")
        elif width == PHONE and (bottom := key.evaluate(BOTTOM_IN_PAGE)) > HEIGHTS[PHONE]:
            failures.append(f"{where}: {visit.key} ends at {bottom:.0f} px, below the first screen")
    return failures


def _cases() -> list[Any]:
    return [
        pytest.param(
            role,
            width,
            language,
            id=f"{role}-{width}-{language}",
        )
        for role, width, language in itertools.product(ROLES, (PHONE, 1280), ("zh-hans", "en"))
    ]


@pytest.mark.parametrize(("role", "width", "language"), _cases())
def test_each_role_finds_what_it_came_for_on_pages_that_fit_and_speak_its_language(
    live_server: Any, browser_page: Any, screenshot: Any, role: str, width: int, language: str
) -> None:
    # given the role's person and what they have to look at
    person, visits = ROLES[role]()
    page = browser_page
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
    if language == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    signed_in(page, live_server, person)

    # when they open each page, then it reads as it should
    failures = []
    for visit in visits:
        response = page.goto(live_server.url + visit.path)
        if response.status != 200:
            failures.append(f"{visit.name}: status {response.status}")
        failures += _check(page, visit, language, width)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header would be drawn mid-page otherwise
        screenshot(page, visit.name)
    assert not failures, "\n".join(failures)
