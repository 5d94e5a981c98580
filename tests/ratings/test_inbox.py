"""The in-app inbox: an unread badge in the header, messages newest first, read once shown."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from accounts.views import INBOX_PAGE_SIZE
from ratings.models import Invitation
from tests.factories import UserFactory
from tests.ratings.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def invite(user: Any, *, minutes_ago: int = 0) -> Notification:
    invitation = InvitationFactory(user=user)
    message = Notification.objects.create(
        user=user, kind=Notification.Kind.INVITATION, subject_id=invitation.pk, url=invitation.get_absolute_url()
    )
    Notification.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return message


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def badge(page: str) -> int | None:
    found = re.search(r'class="badge" data-unread="(\d+)"', page)
    return int(found.group(1)) if found else None


def test_the_header_shows_how_many_messages_are_unread() -> None:
    user = UserFactory()
    for _ in range(3):
        invite(user)
    invite(UserFactory())  # someone else's

    page = signed_in(user).get(reverse("catalog:home")).content.decode()

    assert badge(page) == 3
    assert reverse("accounts:inbox") in page
    assert reverse("ratings:invitations") in page


def test_no_badge_without_unread_messages_or_when_signed_out() -> None:
    user = UserFactory()
    assert badge(signed_in(user).get(reverse("catalog:home")).content.decode()) is None
    assert badge(Client().get(reverse("catalog:home")).content.decode()) is None


def test_the_inbox_lists_messages_newest_first_and_marks_them_read() -> None:
    user = UserFactory()
    old = invite(user, minutes_ago=60)
    new = invite(user, minutes_ago=1)
    client = signed_in(user)

    page = client.get(reverse("accounts:inbox")).content.decode()

    new_name = Invitation.objects.get(pk=new.subject_id).campaign.product.name_zh
    old_name = Invitation.objects.get(pk=old.subject_id).campaign.product.name_zh
    assert page.index(new_name) < page.index(old_name)
    assert page.count("inbox-item unread") == 2, "shown as new the first time"
    assert badge(page) is None, "the badge agrees with what the page shows"
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    again = client.get(reverse("accounts:inbox")).content.decode()
    assert "inbox-item unread" not in again


def test_the_inbox_marks_read_only_the_page_shown() -> None:
    user = UserFactory()
    for minute in range(INBOX_PAGE_SIZE + 3):
        invite(user, minutes_ago=minute)

    signed_in(user).get(reverse("accounts:inbox"))

    assert Notification.objects.filter(read_at__isnull=True).count() == 3


def test_the_inbox_runs_the_same_queries_for_few_or_many(django_assert_max_num_queries: Any) -> None:
    user = UserFactory()
    invite(user)
    client = signed_in(user)
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("accounts:inbox"))
    for _ in range(15):
        invite(user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("accounts:inbox"))
    assert response.content.decode().count('class="inbox-item') == 16


def test_the_inbox_is_for_signed_in_users_only() -> None:
    response = Client().get(reverse("accounts:inbox"))
    assert response.status_code == 302
