"""Account emails speak as the site: its name in the reader's language, its public address, its own words."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory
from tests.ratings.factories import InvitationFactory

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "email": "mei@example.com",
    "display_name": "阿美",
    "password1": "plum-blossom-42!",
    "password2": "plum-blossom-42!",
}


@pytest.fixture(autouse=True)
def _public_address(settings: Any) -> None:
    settings.SITE_URL = "https://xhs.example.com/"


def test_a_new_account_is_welcomed_by_name_in_the_sites_name_with_a_link_on_its_public_address(client: Client) -> None:
    # when
    client.post("/accounts/signup/", SIGN_UP, HTTP_ACCEPT_LANGUAGE="en")
    # then
    [email] = mail.outbox
    assert email.subject == "[Little Red Heart] Welcome: one step left, confirm your email address"
    assert email.body.startswith("Hello 阿美,")
    assert "Thank you for signing up to Little Red Heart." in email.body
    assert re.search(r"^https://xhs\.example\.com/accounts/confirm-email/\S+/$", email.body, re.MULTILINE)
    assert "testserver" not in email.body
    assert email.body.rstrip().endswith(
        "Little Red Heart: ratings by verified purchasers only. One person, one vote.\nhttps://xhs.example.com"
    )


def test_a_chinese_sign_up_gets_an_email_named_in_chinese(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP, HTTP_ACCEPT_LANGUAGE="zh-hans")
    [email] = mail.outbox
    assert email.subject.startswith("[小红心] ")
    assert "小红心：只有已验证购买者才能评分。一人一票。" in email.body
    assert "testserver" not in email.body and "Hello from" not in email.body


def test_an_old_account_adding_an_address_is_asked_to_confirm_it_not_welcomed_as_new(client: Client) -> None:
    # given an account two years old
    user = UserFactory(display_name="老顾客", date_joined=timezone.now() - timedelta(days=730))
    client.force_login(user)
    # when it adds a second address
    response = client.post(
        "/accounts/email/", {"email": "second@example.com", "action_add": ""}, HTTP_ACCEPT_LANGUAGE="en"
    )
    # then
    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == ["second@example.com"]
    assert email.subject == "[Little Red Heart] Confirm your email address"
    assert "Please confirm that second@example.com is your address on Little Red Heart." in email.body
    assert not re.search(r"sign(ed|ing)? up|regist", email.body, re.IGNORECASE)


def test_a_password_reset_link_points_at_the_public_address_whatever_host_was_asked(client: Client) -> None:
    UserFactory(email="li@example.com", display_name="小李")
    # when the request names another host the site answers to (a proxy's internal name)
    client.post(
        "/accounts/password/reset/", {"email": "li@example.com"}, HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en"
    )
    # then
    [email] = mail.outbox
    assert email.subject == "[Little Red Heart] Choose a new password"
    assert email.body.startswith("Hello 小李,")
    assert re.search(r"^https://xhs\.example\.com/accounts/password/reset/key/\S+/$", email.body, re.MULTILINE)
    assert "localhost" not in email.body


def test_a_reset_for_an_unknown_address_offers_to_sign_up_on_the_public_address(client: Client) -> None:
    client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, HTTP_ACCEPT_LANGUAGE="en")
    [email] = mail.outbox
    assert email.subject == "[Little Red Heart] No account uses this address"
    assert email.body.startswith("Hello,")
    assert "https://xhs.example.com/accounts/signup/" in email.body


def test_the_invitation_email_says_you_as_the_site_does_not_the_formal_you() -> None:
    invitation = InvitationFactory()
    context = {"invitation": invitation, "user": invitation.user, "product": invitation.campaign.product}
    text = render_to_string("ratings/email/invitation_subject.txt", context)
    text += render_to_string("ratings/email/invitation_message.txt", {**context, "url": "u", "site_url": "s"})
    assert "你" in text and "您" not in text
