"""Input hygiene: control characters in query strings, display names that deceive, delisted products."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from catalog.models import Product
from moderation.forms import ReportForm
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "plum-lantern-orbit-7291"


# --- Query strings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=shampoo%00",
        "q=a%0Db",
        "q=%1B%5B31m",
        "q=%7F",
        "q=%C2%85",
        "q=\x01",
        "page=%00",
        "%00=1",
        "q=ok&sort=%09",
    ],
)
@pytest.mark.parametrize("path", ["/search/", "/", "/little-red-heart/"])
def test_a_query_string_with_control_characters_gets_the_bad_request_page(
    client: Client, path: str, query: str
) -> None:
    response = client.get(f"{path}?{query}", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "noindex" in response.content.decode()


@pytest.mark.parametrize("query", ["洗发水", "café crème", "a+b", "50%", "🧴", "ﬁne"])
def test_ordinary_searches_in_any_script_are_answered(client: Client, query: str) -> None:
    response = client.get(reverse("catalog:search"), {"q": query})

    assert response.status_code == 200


# --- Display names ----------------------------------------------------------------------------------------


def sign_up(client: Client, display_name: str) -> Any:
    return client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD, "display_name": display_name},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def display_name_errors(response: Any) -> list[str]:
    return list(response.context["form"].errors.get("display_name", []))


@pytest.mark.parametrize(
    "name",
    [
        "Ann\u200bie",  # zero-width space
        "Bob\u200d",  # zero-width joiner
        "\ufeffCarol",  # byte-order mark
        "Dave\u2060",  # word joiner
        "\u202egnirts",  # right-to-left override
        "Eve\u2066x\u2069",  # isolate
        "Fay\u200f",  # right-to-left mark
        "Gil\u00adbert",  # soft hyphen
        "Hal\x07",  # bell
    ],
)
def test_a_name_with_invisible_or_direction_changing_characters_is_refused(client: Client, name: str) -> None:
    response = sign_up(client, name)

    assert response.status_code == 200
    assert display_name_errors(response) == [
        "Display names cannot contain invisible characters or characters that change the reading direction."
    ]
    assert not User.objects.filter(email="newcomer@example.com").exists()


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "Admin",
        "ＡＤＭＩＮ",  # full-width
        "аdmin",  # Cyrillic а
        "adm1n",
        "A.d.m.i.n",
        "TheAdmin",
        "Site Administrator",
        "staff",
        "STAFF 2",
        "System",
        "moderator_lily",
        "Official Store",
        "Little Red Heart",
        "littleredheart_team",
        "小红心",
        "小红心官方",
        "官方客服",
        "管理员",
    ],
)
def test_a_name_resembling_staff_or_system_names_is_refused(client: Client, name: str) -> None:
    response = sign_up(client, name)

    assert display_name_errors(response) == [
        "This name is kept for the platform's staff and systems. Please choose another."
    ]
    assert not User.objects.filter(email="newcomer@example.com").exists()


@pytest.mark.parametrize("copy", ["Lily Chen", "lily chen", "Lily-Chen", "Ｌｉｌｙ Ｃｈｅｎ", "LILY  CHEN"])
def test_a_name_copying_a_staff_members_name_is_refused(client: Client, copy: str) -> None:
    UserFactory(display_name="Lily Chen", is_staff=True)

    response = sign_up(client, copy)

    assert display_name_errors(response) != []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ｌｉｌｙ\u3000Ｚｈａｎｇ", "Lily Zhang"),  # full-width letters and space
        ("  Mei   Ling  ", "Mei Ling"),
        ("badminton fan", "badminton fan"),
        ("李小红", "李小红"),
        ("café", "café"),
        ("", ""),
    ],
)
def test_an_ordinary_name_is_stored_normalised(client: Client, typed: str, stored: str) -> None:
    response = sign_up(client, typed)

    assert response.status_code == 302, display_name_errors(response)
    assert User.objects.get(email="newcomer@example.com").display_name == stored


# --- Delisted products ------------------------------------------------------------------------------------


def test_a_delisted_product_answers_gone_with_a_page_that_says_so_and_is_not_indexed(client: Client) -> None:
    product = ProductFactory(name_en="Silky Shampoo", is_active=False)

    response = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    page = response.content.decode()
    assert "Silky Shampoo is no longer sold" in page
    assert '<meta name="robots" content="noindex">' in page
    assert product.category.get_absolute_url() in page
    assert [t.name for t in response.templates][:2] == ["catalog/product_delisted.html", "base.html"]


def test_a_product_taken_off_sale_in_the_admin_leaves_the_cached_page_at_once(
    client: Client, staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    # given: an anonymous visitor's page is cached
    product = ProductFactory(name_en="Silky Shampoo")
    assert client.get(product.get_absolute_url()).status_code == 200

    # when: staff untick "on sale" in the admin
    admin = Client()
    admin.force_login(staff)
    form = admin.get(reverse("admin:catalog_product_change", args=[product.pk])).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "is_active"}
    with django_capture_on_commit_callbacks(execute=True):
        saved = admin.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    assert not Product.objects.get(pk=product.pk).is_active

    # then: the next anonymous visit is told it is gone
    assert client.get(product.get_absolute_url()).status_code == 410


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("\u202e5 stars\u202c, really", "5 stars, really"),
        ("good\x1b[31m value\x00", "good[31m value"),
        ("zero\u200bwidth\ufeff and \u2066isolated\u2069", "zerowidth and isolated"),
        ("第一行\n第二行\t👨\u200d👩\u200d👧", "第一行\n第二行\t👨\u200d👩\u200d👧"),
    ],
    ids=["a bidi override", "a terminal escape and NUL", "invisible characters", "line breaks, tabs and joiners stay"],
)
def test_text_people_type_keeps_only_what_a_reader_can_see(typed: str, shown: str) -> None:
    form = ReportForm(data={"rule": "", "comment": typed})
    form.is_valid()

    assert form.cleaned_data["comment"] == shown
