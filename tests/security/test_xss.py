"""Script typed into a rating comment, a community note, a display name or a product/brand name is
shown as text on every page that shows it, and the Content-Security-Policy stops an inline script
that got into a page some other way.

The same visits run twice: through Django's test client (the HTML holds the escaped text and never
the markup, on any database, without Chromium) and in real Chromium (no dialog opens, no element
carries an event handler from the data, and the payload is on screen as text).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import escape

from accounts.models import Notification
from catalog.models import Product
from moderation import services as moderation_services
from moderation.models import Case
from tests.browser import conftest as browser_conftest
from tests.factories import (
    BrandFactory,
    EngagementFactory,
    NoteFactory,
    ProductFactory,
    UserFactory,
    brand_account,
    rating_ready_category,
)
from tests.moderation.factories import manager, note_case, vote_case
from tests.ratings.factories import accepted_invitation, campaign_for, vote_for

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "<svg onload=alert(1)>"
JS_LINK = "javascript:alert(1)"

# Every value fits its column (a display name holds 60 characters, names 120), so each is stored whole.
PRODUCT_NAME = f"Glow {SCRIPT} {IMG} {SVG} {JS_LINK}"
BRAND_NAME = f"Brand {SCRIPT} {IMG} {SVG}"
VOTER_NAME = f"{IMG}{SVG}"
AUTHOR_NAME = f"{SCRIPT} {JS_LINK}"
COMMENT = f"Loved it {SCRIPT} {IMG} {SVG} {JS_LINK}"
NOTE_TITLE = f"Review {SCRIPT} {IMG} {SVG}"
NOTE_BODY = f"Try {JS_LINK} {SCRIPT} {IMG} {SVG}"
#: The placeholder image prints the first 18 characters of the brand's English name.
BRAND_ON_IMAGE = BRAND_NAME[:18]

# The suite's Chromium fixture (tests/browser/conftest.py), made available to this folder's tests.
browser_page = browser_conftest.browser_page

#: Markup that can only come from the data above: none of it may ever reach a page unescaped.
RAW_MARKUP = ("<script>alert(", "<img src=x onerror", "<svg onload")
JAVASCRIPT_URL = re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
#: Elements the data would create if it were parsed as markup.
INJECTED_ELEMENTS = "[onerror], [onload], [href^='javascript:' i], [src^='javascript:' i], [action^='javascript:' i]"


@dataclass(frozen=True)
class Visit:
    """One page, seen by one person: the payload-bearing values it shows as text and in form fields."""

    who: str  # "anonymous" or a key of Scene.users
    path: str
    texts: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # (CSS selector of a form field, the value it holds)

    @property
    def is_svg(self) -> bool:
        return self.path.endswith(".svg")


@dataclass(frozen=True)
class Scene:
    users: dict[str, Any]
    visits: list[Visit] = field(default_factory=list)


def build_scene() -> Scene:
    """A product, brand, rater, note author and notes all carrying script, seen from every side."""
    category = rating_ready_category()
    brand = BrandFactory(name_zh=BRAND_NAME, name_en=BRAND_NAME)
    product = ProductFactory(category=category, brand=brand, name_zh=PRODUCT_NAME, name_en=PRODUCT_NAME)
    campaign = campaign_for(product)
    voter = UserFactory(display_name=VOTER_NAME)
    invitation = accepted_invitation(campaign=campaign, user=voter)
    vote = vote_for(invitation, comment=COMMENT)
    Notification.objects.create(
        user=voter, kind=Notification.Kind.INVITATION, subject_id=invitation.pk, url=f"/invitations/{invitation.pk}/"
    )
    author = UserFactory(display_name=AUTHOR_NAME)
    note = NoteFactory(author=author, title=NOTE_TITLE, body=NOTE_BODY, mentions=[product])
    EngagementFactory(note=note)  # popular this month: the product shows on the home page
    # Listed on the Little Red Heart list, as a published re-score would leave it.
    Product.objects.filter(pk=product.pk).update(rating_score=4.5, ranking_score=4.4, rated_by=1, heart_rank=1)
    note_in_queue = note_case(note=note)
    vote_case(vote)
    hidden = NoteFactory(author=author, title=NOTE_TITLE, body=NOTE_BODY, mentions=[product])
    decided = moderation_services.decision_apply(case=note_case(note=hidden), outcome=Case.Outcome.VIOLATES)
    users = {
        "voter": voter,
        "author": author,
        "manager": manager(display_name="Manager"),
        "staff": UserFactory(display_name="Staff", is_staff=True, is_superuser=True),
        "shopper": UserFactory(display_name="Shopper"),
        "brand": brand_account(brand=brand),
    }
    visits = [
        Visit(
            "anonymous",
            product.get_absolute_url(),
            texts=(PRODUCT_NAME, BRAND_NAME, COMMENT, VOTER_NAME, NOTE_TITLE, NOTE_BODY, AUTHOR_NAME),
        ),
        Visit("anonymous", f"/products/{product.slug}/image.svg", texts=(BRAND_ON_IMAGE,)),
        Visit("anonymous", "/", texts=(PRODUCT_NAME, BRAND_NAME)),
        Visit("anonymous", category.get_absolute_url(), texts=(PRODUCT_NAME, BRAND_NAME)),
        Visit("anonymous", "/search/?q=Glow", texts=(PRODUCT_NAME, BRAND_NAME)),
        Visit("anonymous", "/little-red-heart/", texts=(PRODUCT_NAME, BRAND_NAME)),
        # What a visitor types into the search box comes back in the heading and in the box itself.
        Visit("anonymous", "/search/?q=" + IMG.replace(" ", "+"), texts=(IMG,), fields=(("#site-search", IMG),)),
        Visit("voter", "/inbox/", texts=(PRODUCT_NAME, BRAND_NAME, VOTER_NAME)),
        Visit("voter", "/invitations/", texts=(PRODUCT_NAME, BRAND_NAME, VOTER_NAME)),
        Visit("voter", f"/invitations/{invitation.pk}/", texts=(PRODUCT_NAME, BRAND_NAME, COMMENT)),
        Visit(
            "voter",
            f"/invitations/{invitation.pk}/vote/",
            texts=(PRODUCT_NAME, BRAND_NAME),
            fields=(("textarea[name=comment]", COMMENT),),
        ),
        Visit("voter", product.get_absolute_url(), texts=(PRODUCT_NAME, COMMENT, VOTER_NAME, NOTE_TITLE)),
        Visit("shopper", f"/moderation/report/rating/{vote.pk}/", texts=(COMMENT, VOTER_NAME, PRODUCT_NAME)),
        Visit("shopper", f"/moderation/report/note/{note.pk}/", texts=(NOTE_TITLE, NOTE_BODY, AUTHOR_NAME)),
        Visit("manager", "/moderation/", texts=(NOTE_TITLE, NOTE_BODY, AUTHOR_NAME, COMMENT, PRODUCT_NAME, VOTER_NAME)),
        Visit("author", f"/moderation/decisions/{decided.pk}/", texts=(NOTE_TITLE, NOTE_BODY, AUTHOR_NAME)),
        Visit("author", "/inbox/", texts=(AUTHOR_NAME,)),
        Visit("brand", "/brand/", texts=(PRODUCT_NAME, BRAND_NAME, COMMENT)),
        Visit("staff", "/admin/ratings/vote/", texts=(VOTER_NAME, PRODUCT_NAME)),
        Visit("staff", f"/admin/ratings/vote/{vote.pk}/change/", texts=(COMMENT, VOTER_NAME, PRODUCT_NAME)),
        Visit("staff", "/admin/catalog/note/", texts=(NOTE_TITLE, AUTHOR_NAME)),
        Visit(
            "staff",
            f"/admin/catalog/note/{note.pk}/change/",
            texts=(AUTHOR_NAME,),
            fields=(("input[name=title]", NOTE_TITLE), ("textarea[name=body]", NOTE_BODY)),
        ),
        Visit("staff", "/admin/accounts/user/", texts=(VOTER_NAME, AUTHOR_NAME)),
        Visit("staff", f"/admin/accounts/user/{voter.pk}/change/", fields=(("input[name=display_name]", VOTER_NAME),)),
        Visit("staff", "/admin/moderation/case/"),
        Visit("staff", f"/admin/moderation/case/{note_in_queue.pk}/change/", texts=(NOTE_TITLE,)),
        Visit("staff", f"/admin/catalog/product/{product.pk}/change/", fields=(("input[name=name_en]", PRODUCT_NAME),)),
    ]
    return Scene(users=users, visits=visits)


def signed_in_clients(users: dict[str, Any]) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for who, user in users.items():
        clients[who] = Client()
        clients[who].force_login(user)
    return clients


# --- Without a browser: what the server sends -------------------------------------------------------


@pytest.mark.django_db
def test_every_page_sends_the_payloads_escaped_and_never_as_markup() -> None:
    # given script in a comment, two notes, two display names, a product and its brand
    scene = build_scene()
    clients = signed_in_clients(scene.users)

    for visit in scene.visits:
        # when each page that shows them is opened by someone allowed to see it
        response = clients[visit.who].get(visit.path)

        # then the page holds every value, escaped, and none of the markup in it
        assert response.status_code == 200, f"{visit.path} as {visit.who}: {response.status_code}"
        html = response.content.decode()
        for text in (*visit.texts, *(value for _selector, value in visit.fields)):
            assert escape(text) in html, f"{visit.path} as {visit.who} does not show {text!r} escaped"
        for markup in RAW_MARKUP:
            assert markup not in html, f"{visit.path} as {visit.who} holds raw markup {markup!r}"
        assert not JAVASCRIPT_URL.search(html), f"{visit.path} as {visit.who} links to a javascript: URL"


@pytest.mark.django_db
def test_a_javascript_url_as_the_next_page_never_becomes_a_redirect(client: Client) -> None:
    # when a visitor switches language with a javascript: URL as the page to return to
    response = client.post("/i18n/setlang/", {"language": "en", "next": JS_LINK}, HTTP_REFERER=JS_LINK)

    # then they are sent back to a page of this site instead
    assert response.status_code == 302
    assert not response["Location"].lower().startswith("javascript:")


def policy_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


@pytest.mark.django_db
def test_every_html_page_carries_a_content_security_policy_that_forbids_inline_script(staff: Any) -> None:
    # given pages of every kind: public, cached for visitors, sign-in, signed-in, the admin
    product = ProductFactory()
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(staff)
    pages = [
        (anonymous, "/"),
        (anonymous, product.get_absolute_url()),
        (anonymous, product.get_absolute_url()),  # the second visit is served from the page cache
        (anonymous, "/search/?q=x"),
        (anonymous, "/accounts/login/"),
        (signed_in, "/inbox/"),
        (signed_in, "/admin/"),
        (signed_in, "/admin/catalog/note/"),
    ]
    for client, path in pages:
        # when the page is fetched
        response = client.get(path)

        # then its policy lets scripts come only from this site, never inline
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html"), path
        assert "Content-Security-Policy" in response.headers, f"{path} has no Content-Security-Policy"
        directives = policy_directives(response["Content-Security-Policy"])
        script_sources = directives.get("script-src", directives.get("default-src"))
        assert script_sources is not None, f"{path}: the policy does not govern scripts"
        assert "'self'" in script_sources, path
        for name in ("script-src", "script-src-elem", "script-src-attr", "default-src"):
            assert "'unsafe-inline'" not in directives.get(name, []), f"{path}: {name} allows inline script"
            assert "*" not in directives.get(name, []), f"{path}: {name} allows script from anywhere"


# --- In Chromium: what a person's browser does -------------------------------------------------------


@pytest.fixture
def watched_page(browser_page: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The browser page, with every dialog it tries to open and every CSP violation it reports."""
    dialogs: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    browser_page.on("dialog", on_dialog)
    browser_page.on("console", on_console)
    yield browser_page, dialogs, violations


def sign_in_as(page: Any, live_server: Any, client: Client) -> None:
    """Carry the test client's session into the browser (the sign-in form is tested elsewhere)."""
    page.context.clear_cookies()
    session = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if session is not None:
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session.value, "url": live_server.url}]
        )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_payloads_show_as_text_and_never_run(live_server: Any, watched_page: Any) -> None:
    # given script in a comment, two notes, two display names, a product and its brand
    page, dialogs, violations = watched_page
    scene = build_scene()
    clients = signed_in_clients(scene.users)

    for visit in sorted(scene.visits, key=lambda v: v.who):
        # when each page is opened in Chromium by someone allowed to see it
        sign_in_as(page, live_server, clients[visit.who])
        response = page.goto(live_server.url + visit.path, wait_until="load")  # after every image's error event
        where = f"{visit.path} as {visit.who}"
        assert response is not None and response.status == 200, where

        # then the values are on screen as text, and the data made no element, handler or script
        # An SVG document has no <body>, and Playwright reads no inner text from SVG elements.
        shown = (page.locator(":root").text_content() or "") if visit.is_svg else page.locator("body").inner_text()
        for text in visit.texts:
            assert text in shown, f"{where} does not show {text!r} as text"
        for selector, value in visit.fields:
            assert page.locator(selector).input_value() == value, f"{where}: {selector}"
        assert page.locator(INJECTED_ELEMENTS).count() == 0, f"{where} has an element made from the data"
        assert page.locator("script", has_text="alert(").count() == 0, f"{where} has a script made from the data"
        assert dialogs == [], f"{where}: a payload ran: {dialogs}"

    assert dialogs == [], f"a payload ran: {dialogs}"
    # A violation would mean markup from the data reached the page, or that the site itself relies on
    # inline script that the policy now blocks.
    assert violations == [], violations


INJECTED = (
    '<script id="injected-script">alert("inline script")</script>'
    '<img id="injected-handler" src="/no-such-image.png" onerror="alert(\'inline handler\')" alt="">'
)


def inject_into(page: Any, url: str, *, keep_policy: bool) -> None:
    """Serve the real page with an inline script and handler added, as if a payload had slipped past
    escaping; with keep_policy=False the server's Content-Security-Policy header is dropped too."""

    def handle(route: Any) -> None:
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if keep_policy or k.lower() != "content-security-policy"}
        body = response.text().replace("</main>", INJECTED + "</main>", 1)
        route.fulfill(status=response.status, headers=headers, body=body)

    page.route(url, handle)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_policy_blocks_an_inline_script_that_slipped_into_a_page(
    live_server: Any, watched_page: Any
) -> None:
    page, dialogs, violations = watched_page
    product = ProductFactory()
    protected = live_server.url + product.get_absolute_url()
    unprotected = live_server.url + product.get_absolute_url() + "?page=1"

    # given a product page that an inline script and an inline event handler got into
    inject_into(page, protected, keep_policy=True)

    # when Chromium opens it
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.goto(protected, wait_until="load")

    # then neither runs, and Chromium reports that the policy refused them
    assert page.locator("#injected-script").count() == 1, "the injection did not reach the page"
    assert page.locator("#injected-handler").count() == 1, "the injection did not reach the page"
    assert dialogs == [], f"an inline script ran despite the policy: {dialogs}"
    assert any("inline" in text for text in violations), violations

    # while the same page without the header does run the script: the dialog check can fail, and it
    # is the policy that stops the script
    inject_into(page, unprotected, keep_policy=False)
    with page.expect_event("dialog"):
        page.goto(unprotected, wait_until="load")
    assert dialogs, "the injected script did not run even without a policy"
