"""Cross-site request forgery: every form that changes something is refused without its token.

Django's test client skips CSRF checks unless asked, so every client here is built with
``enforce_csrf_checks=True``. Each form is sent twice from the same signed-in browser (its CSRF cookie
set by the page that shows the form): without the token, as a forged request from another site
would be, it is refused with 403 and stores nothing; with the token the page carries, it is taken.

The language switch is the one deliberate exception (catalog.views.language_set): for an anonymous
visitor it only sets a display preference in their own browser, so it needs no token and anonymous
pages carry none (they are cached whole); for a signed-in person it is checked like every other form.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD
from tests.security.test_access import World, build_world, client_for, right_answers, snapshot, vote_form_data

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="(?P<token>[^"]+)"')
NEW_PASSWORD = "a-long-unusual-passphrase-42"  # noqa: S105 - a test account's password


@dataclass(frozen=True)
class Form:
    """A form as a browser sends it: who is signed in, the page that shows it, where it goes, what it holds."""

    label: str
    persona: str
    page: Callable[[World], str]
    action: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    #: what a taken form answers; the moderation queue's script asks for JSON
    taken: int = 302
    #: send the token in the X-CSRFToken header (as the queue's script does) instead of the body
    header: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def _url(name: str, *args: Callable[[World], Any]) -> Callable[[World], str]:
    return lambda world: reverse(name, args=[arg(world) for arg in args])


def _email(persona: str) -> Callable[[World], dict[str, Any]]:
    def data(world: World) -> dict[str, Any]:
        user = world.people[persona]
        assert user is not None
        return {"login": user.email, "password": DEFAULT_PASSWORD}

    return data


def _pending(world: World) -> int:
    return world.pending_invitation.pk


def _accepted(world: World) -> int:
    return world.accepted_invitation.pk


FORMS = [
    Form("vote", "accepted", _url("ratings:invitation", _accepted), _url("ratings:vote", _accepted), vote_form_data),
    Form(
        "accept invitation",
        "pending",
        _url("ratings:invitation", _pending),
        _url("ratings:invitation_accept", _pending),
    ),
    Form(
        "decline invitation",
        "pending",
        _url("ratings:invitation", _pending),
        _url("ratings:invitation_decline", _pending),
    ),
    Form(
        "case vote",
        "manager",
        _url("moderation:dashboard"),
        _url("moderation:case_vote", lambda w: w.case.pk),
        lambda w: {"choice": "violates"},
    ),
    Form(
        "case vote from the queue's script",
        "manager",
        _url("moderation:dashboard"),
        _url("moderation:case_vote", lambda w: w.case.pk),
        lambda w: {"choice": "violates"},
        taken=200,
        header=True,
        headers={"Accept": "application/json"},
    ),
    Form(
        "audit dispute",
        "manager",
        _url("moderation:audits"),
        _url("moderation:audit_dispute", lambda w: w.audit_vote.pk),
        lambda w: {"reason": "The note only quoted the advert."},
    ),
    Form("test start", "accepted", _url("moderation:test"), _url("moderation:test_start")),
    Form(
        "test answers",
        "suspended",
        _url("moderation:attempt", lambda w: w.attempt.pk),
        _url("moderation:attempt", lambda w: w.attempt.pk),
        right_answers,
    ),
    Form(
        "report",
        "shopper",
        _url("moderation:report", lambda w: "note", lambda w: w.note.pk),
        _url("moderation:report", lambda w: "note", lambda w: w.note.pk),
        lambda w: {"rule": w.rule.pk, "comment": "an advert"},
    ),
    Form(
        "appeal",
        "buyer",
        _url("moderation:decision", lambda w: w.decided.pk),
        _url("moderation:decision", lambda w: w.decided.pk),
        lambda w: {"reason": "It was a review, not an advert."},
    ),
    Form(
        "language switch, signed in",
        "shopper",
        _url("catalog:home"),
        _url("set_language"),
        lambda w: {"language": "en", "next": "/"},
    ),
    Form("sign in", "anonymous", _url("account_login"), _url("account_login"), _email("shopper")),
    Form("sign out", "shopper", _url("catalog:home"), _url("account_logout")),
    Form(
        "sign up",
        "anonymous",
        _url("account_signup"),
        _url("account_signup"),
        lambda w: {"email": "new@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    ),
]


def _state(client: Client) -> dict[str, Any]:
    """What is stored, the language cookie, and who the browser is signed in as."""
    return {**snapshot(client), "signed in as": client.session.get("_auth_user_id")}


def _open_form(world: World, form: Form) -> tuple[Client, str]:
    """The persona's browser showing the form: its CSRF cookie is set, and the token is in the page."""
    client = client_for(world, form.persona, enforce_csrf_checks=True)
    page = client.get(form.page(world))
    assert page.status_code == 200
    html = page.content.decode()
    action = form.action(world)
    assert f'action="{action}"' in html or action == form.page(world), f"the page shows no form for {action}"
    found = TOKEN.search(html)
    assert found is not None, "the page carries no CSRF token"
    assert settings.CSRF_COOKIE_NAME in client.cookies
    return client, found["token"]


def _send(client: Client, world: World, form: Form, token: str | None) -> Any:
    data, headers = form.data(world), dict(form.headers)
    if token is not None and form.header:
        headers["X-CSRFToken"] = token
    elif token is not None:
        data["csrfmiddlewaretoken"] = token
    return client.post(form.action(world), data, headers=headers)


@pytest.mark.parametrize("form", FORMS, ids=[form.label for form in FORMS])
def test_a_form_sent_without_its_token_is_refused_and_stores_nothing(form: Form) -> None:
    world = build_world()
    client, _token = _open_form(world, form)
    before = _state(client)

    response = _send(client, world, form, token=None)

    assert response.status_code == 403
    assert _state(client) == before


@pytest.mark.parametrize("form", FORMS, ids=[form.label for form in FORMS])
def test_a_form_sent_with_its_token_is_taken(form: Form) -> None:
    world = build_world()
    client, token = _open_form(world, form)
    before = _state(client)

    response = _send(client, world, form, token=token)

    assert response.status_code == form.taken
    assert _state(client) != before


def test_a_forged_token_is_refused() -> None:
    world = build_world()
    form = next(form for form in FORMS if form.label == "vote")
    client, token = _open_form(world, form)
    before = _state(client)

    response = _send(client, world, form, token="x" * len(token))

    assert response.status_code == 403
    assert _state(client) == before


# --- The language switch: checked for signed-in people only, on purpose ---------------------------------------


def test_an_anonymous_visitor_switches_language_without_a_token() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert client.session.get("_auth_user_id") is None


@pytest.mark.parametrize("page", ["home", "product"])
def test_anonymous_pages_carry_no_token_and_set_no_csrf_cookie(page: str) -> None:
    world = build_world()
    client = Client(enforce_csrf_checks=True)
    url = reverse("catalog:home") if page == "home" else reverse("catalog:product", args=[world.product.slug])

    response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'action="{reverse("set_language")}"' in html  # the language switch is there
    assert "csrfmiddlewaretoken" not in html
    assert settings.CSRF_COOKIE_NAME not in response.cookies


def test_a_sign_out_link_planted_on_another_site_leaves_you_signed_in() -> None:
    world = build_world()
    client = client_for(world, "shopper", enforce_csrf_checks=True)
    signed_in = client.session.get("_auth_user_id")

    response = client.get(reverse("account_logout"))

    assert response.status_code == 200  # a page asking to confirm, with the form that carries the token
    assert signed_in is not None and client.session.get("_auth_user_id") == signed_in
