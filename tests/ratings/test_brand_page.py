"""A brand's own page (/brand/) and its CSV: read-only figures for the account staff linked to a brand or store."""

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

import xhs.held
from accounts.kept_pages import HINT_COOKIE
from accounts.models import Notification, User
from accounts.services import notifications_create
from ratings import scoring
from ratings.models import Campaign, RatingPolicy, Vote
from tests.factories import BrandFactory, ProductFactory, UserFactory, brand_account, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _rated(product: Any, *, votes: int, score: int = 4, comment: str = "", months_ago: int = 0) -> Campaign:
    campaign = campaign_for(product)
    when = timezone.now() - timedelta(days=31 * months_ago)
    votes_cast(
        campaign, [[score] * campaign.factors.count()] * votes, comment=comment, created_at=when, submitted_at=when
    )
    return campaign


def _brand_with_products(count: int, *, months: int = 1) -> tuple[Any, Any]:
    """A brand with ``count`` rated products, two votes in each of the last ``months`` months, and a rival's
    product in the same category; scored."""
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 2, "prior_strength": 0})
    category = rating_ready_category()
    brand = BrandFactory(name_en="Acme", name_zh="极致")
    now = timezone.now()
    for n in range(count):
        product = ProductFactory(category=category, brand=brand, name_en=f"Acme cream {n}")
        _rated(product, votes=2 * months, comment=f"Soft {n}")
        for i, pk in enumerate(Vote.objects.filter(product=product).order_by("pk").values_list("pk", flat=True)):
            when = now - timedelta(days=31 * (i % months))
            Vote.objects.filter(pk=pk).update(created_at=when, submitted_at=when)
    rival = ProductFactory(category=category)
    _rated(rival, votes=3, score=2)
    scoring.run_all(triggered_by="test")
    return brand_account(brand=brand), rival


def _client(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_a_brand_account_sees_its_products_against_the_category_charts_first() -> None:
    team, rival = _brand_with_products(1)
    cache.clear()

    page = _client(team).get(reverse("ratings:brand"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Acme cream 0" in html and rival.name_en not in html
    assert html.index('class="chart chart-compare') < html.index("Where each product stands")
    assert 'class="chart chart-trend' in html
    assert "category average 3.0" in html  # its 4 against the category's (4 + 2) / 2
    assert "Soft 0" in html  # a recent comment
    assert reverse("ratings:methodology") + "#placement" in html


def test_a_product_still_collecting_votes_says_how_many_are_needed() -> None:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 5, "prior_strength": 0})
    product = ProductFactory(category=rating_ready_category())
    _rated(product, votes=2)
    scoring.run_all(triggered_by="test")
    team = brand_account(brand=product.brand)

    html = _client(team).get(reverse("ratings:brand")).content.decode()

    assert "Collecting votes" in html
    assert "3 more counted votes needed to publish" in html


def test_a_store_account_sees_the_products_its_store_lists() -> None:
    product = ProductFactory()
    team = brand_account(store=product.store)

    html = _client(team).get(reverse("ratings:brand")).content.decode()

    assert product.name_en in html and "Category not rated yet" in html


@pytest.mark.parametrize("name", ["ratings:brand", "ratings:brand_export"])
def test_anyone_else_is_refused(name: str) -> None:
    url = reverse(name)

    anonymous = Client().get(url)
    shopper = _client(UserFactory()).get(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("account_login"))
    assert shopper.status_code == 403 and "For brand accounts" in shopper.content.decode()


def test_the_export_has_a_row_per_product_and_factor_with_the_categorys_average() -> None:
    team, _rival = _brand_with_products(2)

    response = _client(team).get(reverse("ratings:brand_export"))

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "Product" and header[-1] == "Category factor average"
    assert len(body) == 2 * 5  # two products, five factors each
    assert {row[0] for row in body} == {"Acme cream 0", "Acme cream 1"}
    assert all(row[9] == "4.00" and row[11] == "3.33" for row in body)  # (4 + 4 + 2) / 3


def test_the_chinese_page_speaks_chinese() -> None:
    team, _rival = _brand_with_products(1)
    with translation.override("zh-hans"):
        title = translation.gettext("Your products' ratings")
    if title == "Your products' ratings":
        pytest.skip("translations not compiled yet")

    html = _client(team, "zh-hans").get(reverse("ratings:brand")).content.decode()

    assert title in html and "极致" in html


def test_the_page_runs_the_same_queries_however_many_products_and_months(django_assert_num_queries: Any) -> None:
    small, _ = _brand_with_products(1, months=1)
    big, _ = _brand_with_products(6, months=2)
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        _client(small).get(reverse("ratings:brand"))
    with CaptureQueriesContext(connection) as warm:
        _client(small).get(reverse("ratings:brand"))

    with django_assert_num_queries(len(cold)):
        big_page = _client(big).get(reverse("ratings:brand"))
    with django_assert_num_queries(len(warm)):
        _client(big).get(reverse("ratings:brand"))

    assert big_page.status_code == 200 and big_page.content.decode().count('class="chart chart-trend') == 6
    assert len(warm) < len(cold)  # a minute's cache


def _message_for(client: Client, text: str) -> None:
    """A message waiting for the client's next page, as a form leaves one (Django's cookie storage)."""
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.SUCCESS, text)
    response = HttpResponse()
    storage.update(response)
    client.cookies[storage.cookie_name] = response.cookies[storage.cookie_name].value


def _without_tokens(page: str) -> str:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)
    page = re.sub(r'<div class="wrap messages".*?</div>', "", page, flags=re.S)
    return re.sub(r"\s+", " ", page)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_page_kept_whole_is_the_page_rendered_afresh_with_the_requests_own_token(language: str) -> None:
    team, _rival = _brand_with_products(2)
    client = _client(team, language)
    kept = client.get(reverse("ratings:brand"), {"page": "1", "from": "mail"})
    kept_again = client.get(reverse("ratings:brand"), {"page": "1", "from": "mail"})
    _message_for(client, "Saved <now>")
    fresh = client.get(reverse("ratings:brand"), {"page": "1", "from": "mail"})

    page = fresh.content.decode()
    assert "Saved &lt;now&gt;" in page, "a message waiting for the page is shown (the page rendered afresh)"
    assert _without_tokens(kept_again.content.decode()) == _without_tokens(page)
    assert '<input name="next" type="hidden" value="/brand/?page=1&amp;from=mail">' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', kept_again.content.decode())
    assert token and token.group(1) not in kept.content.decode(), "each request puts in a token of its own"
    assert "Saved" not in client.get(reverse("ratings:brand")).content.decode(), "a message is shown once"


def test_the_token_a_kept_page_puts_in_passes_djangos_check_and_a_tampered_one_does_not() -> None:
    team, _rival = _brand_with_products(1)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(team)
    client.get(reverse("ratings:brand"))  # rendered, kept; this one's answer sets the CSRF cookie
    page = client.get(reverse("ratings:brand")).content.decode()  # served from the kept page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    form = {"language": "zh-hans", "next": "/brand/"}
    tampered = token.group(1)[:-1] + ("a" if token.group(1)[-1] != "a" else "b")

    assert client.post(reverse("set_language"), {**form, "csrfmiddlewaretoken": tampered}).status_code == 403
    assert client.post(reverse("set_language"), {**form, "csrfmiddlewaretoken": token.group(1)}).status_code == 302


def test_a_kept_pages_token_masks_the_secret_afresh_with_every_character_equally_likely() -> None:
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, _unmask_cipher_token
    from scipy.stats import chisquare

    from accounts.kept_pages import csrf_token

    secret = "A" * CSRF_SECRET_LENGTH
    requests = [RequestFactory().get("/brand/") for _ in range(2000)]
    for request in requests:
        request.META["CSRF_COOKIE"] = secret
    tokens = [csrf_token(request) for request in requests]

    assert all(_unmask_cipher_token(token) == secret for token in tokens)
    assert len(set(tokens)) == len(tokens), "a fresh mask per request"
    assert csrf_token(requests[0]) == tokens[0], "one per request, as one template's {% csrf_token %} tags share one"
    counts = [sum(token[:CSRF_SECRET_LENGTH].count(char) for token in tokens) for char in CSRF_ALLOWED_CHARS]
    assert chisquare(counts).pvalue > 1e-6, "the mask's characters are uniform (no modulo bias)"


def test_a_kept_page_is_read_with_the_session_the_account_the_link_and_the_header_in_one_cache_round_trip(
    cache_calls: list[str],
) -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    first = client.get(reverse("ratings:brand"))
    assert first.cookies[HINT_COOKIE].value == str(team.pk) and first.cookies[HINT_COOKIE]["httponly"]
    cache_calls.clear()

    again = client.get(reverse("ratings:brand"))

    assert again.status_code == 200 and "Acme" in again.content.decode()
    assert cache_calls == ["get_many"], "the session with the account, the page's version and what it needs"
    assert HINT_COOKIE not in again.cookies, "the browser's hint is right: not sent again"


def test_a_process_that_did_not_render_the_page_reads_its_body_once_then_holds_it(
    cache_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    kept = client.get(reverse("ratings:brand")).content.decode()
    monkeypatch.setattr(xhs.held, "_held", xhs.held._Held(xhs.held.LOCAL_BYTES))  # another worker, say
    cache_calls.clear()

    pages = [client.get(reverse("ratings:brand")).content.decode() for _ in range(2)]

    assert cache_calls == ["get_many", "get", "get_many"], "the body read once, then held"
    assert all(_without_tokens(page) == _without_tokens(kept) for page in pages)


def test_a_hint_naming_another_account_gets_the_sessions_own_page_and_is_put_right(cache_calls: list[str]) -> None:
    """The hint cookie is the browser's, so anyone's to forge: it picks what is read beside the session, never
    whose page is shown."""
    team, _rival = _brand_with_products(1)
    other = brand_account(brand=BrandFactory(name_en="Zenith", name_zh="天顶"))
    assert _client(other).get(reverse("ratings:brand")).status_code == 200  # Zenith's page kept for its account
    client = _client(team)
    client.cookies[HINT_COOKIE] = str(other.pk)
    cache_calls.clear()

    response = client.get(reverse("ratings:brand"))

    page = response.content.decode()
    assert "Acme" in page and "Zenith" not in page
    assert response.cookies[HINT_COOKIE].value == str(team.pk)
    assert cache_calls[:2] == ["get_many", "get_many"], "the hinted keys with the session, then the session's own"


@override_settings(SESSION_COOKIE_SECURE=True)
def test_the_hint_is_as_private_as_the_session_cookie_set_and_dropped() -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)

    given = client.get(reverse("ratings:brand"), secure=True).cookies[HINT_COOKIE]
    client.logout()  # which empties the test client's cookies: the browser keeps the hint
    client.cookies[HINT_COOKIE] = given.value
    dropped = client.get(reverse("ratings:brand"), secure=True).cookies[HINT_COOKIE]

    for cookie in (given, dropped):
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert dropped["max-age"] == 0


@pytest.mark.parametrize("hint", ["", "not a number", "9" * 40, "²"])
def test_a_malformed_hint_is_no_hint(hint: str) -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    client.cookies[HINT_COOKIE] = hint

    response = client.get(reverse("ratings:brand"))

    assert response.status_code == 200 and "Acme" in response.content.decode()
    assert response.cookies[HINT_COOKIE].value == str(team.pk)


def test_signing_out_leaves_the_hint_nothing_to_show_and_it_is_dropped() -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    assert client.get(reverse("ratings:brand")).status_code == 200
    client.logout()
    client.cookies[HINT_COOKIE] = str(team.pk)  # the browser still holds it

    response = client.get(reverse("ratings:brand"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert b"Acme" not in response.content
    assert response.cookies[HINT_COOKIE].value == "" and response.cookies[HINT_COOKIE]["max-age"] == 0


def test_a_request_whose_user_is_not_its_sessions_account_gets_its_users_page_never_the_sessions() -> None:
    """An authentication middleware may set ``request.user`` from something other than the session (a remote
    user header, say): the page read beside the session's account is then not shown."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.cache import SessionStore

    from ratings.views import brand_page

    team, _rival = _brand_with_products(1)
    assert _client(team).get(reverse("ratings:brand")).status_code == 200  # Acme's page kept for its account
    other = brand_account(brand=BrandFactory(name_en="Zenith", name_zh="天顶"))
    User.objects.filter(pk=other.pk).update(updated_at=team.updated_at)  # the kept page's version alike
    other.refresh_from_db()
    request = RequestFactory().get(reverse("ratings:brand"))
    request.session = SessionStore()
    request.session[SESSION_KEY] = str(team.pk)
    request.user = other
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]

    with translation.override("en"):
        page = brand_page(request).content.decode()

    assert "Zenith" in page and "Acme" not in page


@pytest.mark.parametrize("change", ["password", "deactivated"])
def test_an_account_read_with_its_kept_page_is_still_checked_at_sign_in(change: str) -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    assert client.get(reverse("ratings:brand")).status_code == 200  # kept, with the account's copy beside it

    if change == "password":  # elsewhere, say: this session's hash of the old password no longer matches
        team.set_password("a whole new secret 2026")
    else:
        team.is_active = False
    team.save()
    response = client.get(reverse("ratings:brand"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert b"Acme" not in response.content


def test_a_kept_page_follows_the_header_a_new_message_and_a_new_name() -> None:
    team, _rival = _brand_with_products(1)
    client = _client(team)
    assert 'class="badge"' not in client.get(reverse("ratings:brand")).content.decode()

    notifications_create(
        kind=Notification.Kind.STAKE,
        source=User.objects.filter(pk=team.pk)
        .annotate(user_id=F("pk"), subject_id=F("pk"))
        .values("user_id", "subject_id"),
        url_template="/me/?about={subject_id}",
    )
    team.display_name = "Acme marketing"
    team.save(update_fields=["display_name", "updated_at"])

    page = client.get(reverse("ratings:brand")).content.decode()
    assert 'data-unread="1"' in page
    assert "Acme marketing" in page


# --- The two charts ------------------------------------------------------------------------------------


def test_the_comparison_chart_marks_the_category_average_and_escapes_names() -> None:
    from ratings.charts import ComparedBar, compare_bars_svg

    with translation.override("en"):
        svg = compare_bars_svg(
            [ComparedBar("<b>Aroma</b>", 4.2, 3.6, 12), ComparedBar("Foam", None, 3.1, 0)],
            title="Cream",
            id_prefix="compare-1",
            average_label="category average",
        )

    assert "&lt;b&gt;Aroma" in svg and "<b>" not in svg
    assert svg.count('class="average"') == 2 and svg.count('class="bar"') == 1  # no bar without votes
    assert "Aroma&lt;/b&gt;: 4.2 (12 votes); category average 3.6" in svg


def test_the_trend_leaves_a_gap_for_a_month_without_votes() -> None:
    from ratings.charts import TrendPoint, trend_svg

    points = [TrendPoint("2026-01", 4.0, 3), TrendPoint("2026-02", 4.2, 5), TrendPoint("2026-03", None, 0)]
    points += [TrendPoint("2026-04", 3.8, 2), TrendPoint("2026-05", 3.9, 4)]

    with translation.override("en"):
        svg = trend_svg(points, title="Cream", id_prefix="trend-1")

    assert svg.count("<polyline") == 2  # two runs of months with votes, not one line through the gap
    assert "2026-03: — (0 votes)" in svg
    assert trend_svg([], title="Cream", id_prefix="trend-2") == ""


def test_the_methodology_says_placement_cannot_be_bought_and_how() -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("ratings:methodology")).content.decode()

    section = html[html.index('<section id="placement">') :]
    assert "Placement cannot be bought" in section
    assert "never invited to rate its own products" in section
    assert "each refusal stores nothing" in section


def test_ten_products_a_page_have_their_charts_and_the_table_lists_them_all() -> None:
    team, _rival = _brand_with_products(12)
    client = _client(team)

    first = client.get(reverse("ratings:brand")).content.decode()
    second = client.get(reverse("ratings:brand"), {"page": "2"}).content.decode()
    nonsense = client.get(reverse("ratings:brand"), {"page": "x"})

    assert first.count('class="chart chart-trend') == 10 and second.count('class="chart chart-trend') == 2
    assert first.count('<tr><th scope="row"><a href="?page=') == 12  # the table has every product
    assert "?page=2#product-" in first
    assert nonsense.status_code == 200
