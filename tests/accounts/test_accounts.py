"""Accounts through django-allauth: email login, confirmation, password reset, rate limits."""

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _link_in_last_email(pattern: str) -> str:
    match = re.search(pattern, mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return re.sub(r"^https?://[^/]+", "", match.group(0))


def test_sign_up_needs_a_confirmed_email_before_signing_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": "mei@example.com",
            "display_name": "阿美",
            "password1": "plum-blossom-42!",
            "password2": "plum-blossom-42!",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="mei@example.com")
    assert user.display_name == "阿美"
    assert len(mail.outbox) == 1

    # Until confirmed, signing in only sends them back to confirm.
    client.logout()
    response = client.post("/accounts/login/", {"login": "mei@example.com", "password": "plum-blossom-42!"})
    assert response.status_code == 302 and "confirm-email" in response["Location"]

    confirm = _link_in_last_email(r"https?://\S+/accounts/confirm-email/\S+/")
    assert client.post(confirm).status_code == 302
    response = client.post("/accounts/login/", {"login": "mei@example.com", "password": "plum-blossom-42!"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "阿美" in client.get("/").content.decode()


def test_signing_up_with_a_taken_email_makes_no_account_and_tells_the_owner(client: Client) -> None:
    UserFactory(email="taken@example.com")
    client.post(
        "/accounts/signup/",
        {"email": "taken@example.com", "password1": "plum-blossom-42!", "password2": "plum-blossom-42!"},
    )
    # The page does not reveal that the address is registered; the owner is told by email instead.
    assert User.objects.filter(email="taken@example.com").count() == 1
    assert mail.outbox[-1].to == ["taken@example.com"]


def test_signing_out_is_a_post_from_the_header(client: Client) -> None:
    user = UserFactory(display_name="Wen")
    client.force_login(user)
    assert "Wen" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert "Wen" not in client.get("/").content.decode()


def test_a_forgotten_password_is_reset_through_the_emailed_link(client: Client) -> None:
    UserFactory(email="li@example.com")
    assert client.post("/accounts/password/reset/", {"email": "li@example.com"}).status_code == 302
    reset = _link_in_last_email(r"https?://\S+/accounts/password/reset/key/\S+/")

    form = client.get(reset, follow=True)
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else reset,
        {"password1": "new-and-much-longer-pass", "password2": "new-and-much-longer-pass"},
    )
    assert response.status_code == 302

    client.logout()
    assert client.login(email="li@example.com", password="new-and-much-longer-pass")
    assert not client.login(email="li@example.com", password=DEFAULT_PASSWORD)


def test_repeated_failed_sign_ins_are_rate_limited_even_with_the_right_password(client: Client) -> None:
    UserFactory(email="target@example.com")
    for attempt in range(5):
        client.post("/accounts/login/", {"login": "target@example.com", "password": f"wrong-{attempt}"})

    response = client.post(
        "/accounts/login/", {"login": "target@example.com", "password": DEFAULT_PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_login_goes_through_the_rate_limited_sign_in(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_auth_pages_use_the_site_layout_in_both_languages(client: Client) -> Any:
    zh = client.get("/accounts/login/").content.decode()
    en = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="site-header"' in zh and "登录" in zh
    assert 'class="site-header"' in en and "Sign In" in en


def test_public_name_never_reveals_the_email_address() -> None:
    user = UserFactory.build(email="zhang.wei@example.com", display_name="")
    assert user.public_name == "zh***"
    assert "example.com" not in str(user)


@pytest.mark.parametrize("rows", [3, 30])
def test_staff_find_a_user_by_email_in_admin_with_constant_queries(
    client: Client, staff: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    UserFactory.create_batch(rows)
    UserFactory(email="needle@example.com")
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        response = client.get("/admin/accounts/user/", {"q": "needle@"})
    assert response.status_code == 200
    assert "needle@example.com" in response.content.decode()
