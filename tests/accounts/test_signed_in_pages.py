"""What every signed-in page pays for: its session, its account and its header's figures come from the cache,
and still a sign-out, a password change, a deactivation, a new name, a new message, a read inbox, a new manager
term or a brand link made or removed shows on the next page."""

import re
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Notification
from accounts.services import notifications_create
from catalog.models import BrandAccount
from moderation.models import ManagerTerm
from moderation.services import manager_grant, term_end
from ratings.models import Invitation
from tests.factories import DEFAULT_PASSWORD, BrandFactory, UserFactory, brand_account
from tests.ratings.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def badge(page: str) -> int | None:
    found = re.search(r'class="badge" data-unread="(\d+)"', page)
    return int(found.group(1)) if found else None


def home(client: Client) -> str:
    return client.get(reverse("catalog:home")).content.decode()


def test_a_signed_in_page_reads_neither_session_nor_account_nor_header_figures_from_the_database_twice() -> None:
    user = UserFactory(display_name="Wen")
    client = signed_in(user)
    home(client)

    with CaptureQueriesContext(connection) as queries:
        page = home(client)

    assert "Wen" in page
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "django_session" not in tables
    assert "accounts_notification" not in tables
    assert "moderation_managerterm" not in tables
    assert "accounts_user" not in tables, "the account is a cached copy, forgotten when the row changes"


def test_a_name_changed_in_the_admin_shows_on_the_next_page(staff: Any) -> None:
    user = UserFactory(display_name="Wen")
    client = signed_in(user)
    assert "Wen" in home(client)
    admin = signed_in(staff)
    form = admin.get(reverse("admin:accounts_user_change", args=[user.pk])).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"display_name": "Lan", "groups": [], "user_permissions": []})
    data["date_joined_0"], data["date_joined_1"] = str(user.date_joined.date()), "00:00:00"

    response = admin.post(reverse("admin:accounts_user_change", args=[user.pk]), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    page = home(client)
    assert "Lan" in page
    assert "Wen" not in page


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie() -> None:
    user = UserFactory(display_name="Wen")
    client = signed_in(user)
    assert "Wen" in home(client)
    stolen = Client()
    stolen.cookies = client.cookies.__class__(client.cookies)

    assert client.post("/accounts/logout/").status_code == 302

    assert stolen.get(reverse("accounts:profile")).status_code == 302
    assert "Wen" not in home(stolen)


def test_a_password_change_signs_out_the_other_sessions() -> None:
    user = UserFactory(display_name="Wen")
    other = signed_in(user)
    assert "Wen" in home(other)
    changer = signed_in(user)

    response = changer.post(
        reverse("account_change_password"),
        {
            "oldpassword": DEFAULT_PASSWORD,
            "password1": "a new long passphrase 42",
            "password2": "a new long passphrase 42",
        },
    )

    assert response.status_code == 302
    assert "Wen" in home(changer), "the one who changed it stays signed in"
    assert other.get(reverse("accounts:profile")).status_code == 302


def test_a_deactivated_account_is_signed_out_at_its_next_request() -> None:
    user = UserFactory(display_name="Wen")
    client = signed_in(user)
    assert "Wen" in home(client)

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(reverse("accounts:profile")).status_code == 302


def test_a_deleted_account_is_signed_out_at_its_next_request() -> None:
    user = UserFactory(display_name="Wen")
    client = signed_in(user)
    assert "Wen" in home(client)

    user.delete()

    assert client.get(reverse("accounts:profile")).status_code == 302
    assert "Wen" not in home(client)


def test_a_message_added_after_the_header_was_kept_shows_on_the_next_page() -> None:
    user = UserFactory()
    client = signed_in(user)
    assert badge(home(client)) is None
    invitation = InvitationFactory(user=user)

    notifications_create(
        kind=Notification.Kind.INVITATION,
        source=Invitation.objects.filter(pk=invitation.pk).annotate(subject_id=F("pk")).values("user_id", "subject_id"),
        url_template="/invitations/{subject_id}/",
    )

    assert badge(home(client)) == 1
    client.get(reverse("accounts:inbox"))
    assert badge(home(client)) is None, "reading the inbox clears the badge"


def test_the_manager_link_follows_the_term_on_the_next_page() -> None:
    user = UserFactory()
    client = signed_in(user)
    assert "manager-link" not in home(client)

    term = manager_grant(user=user)
    assert "manager-link" in home(client)

    term_end(term=term, status=ManagerTerm.Status.REVOKED, reason="test")
    assert "manager-link" not in home(client)


def test_an_account_unlinked_from_its_brand_is_refused_at_once_though_its_page_was_kept() -> None:
    team = brand_account(brand=BrandFactory())
    client = signed_in(team)
    assert client.get(reverse("ratings:brand")).status_code == 200

    BrandAccount.objects.filter(user=team).delete()

    assert client.get(reverse("ratings:brand")).status_code == 403
    assert client.get(reverse("ratings:brand_export")).status_code == 403


def test_an_account_linked_to_a_brand_sees_its_page_at_once_though_it_was_refused_before() -> None:
    team = UserFactory()
    client = signed_in(team)
    assert client.get(reverse("ratings:brand")).status_code == 403

    BrandAccount.objects.create(user=team, brand=BrandFactory(), note="test")

    assert client.get(reverse("ratings:brand")).status_code == 200


def test_a_brand_page_kept_warm_reads_nothing_from_the_database() -> None:
    team = brand_account(brand=BrandFactory())
    client = signed_in(team)
    client.get(reverse("ratings:brand"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ratings:brand"))

    assert response.status_code == 200
    assert [query["sql"] for query in queries.captured_queries] == []
