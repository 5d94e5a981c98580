"""Headers and cookie flags: powerful browser features denied on every page; in production every cookie
is HTTPS-only and SameSite, and the session's cookies are out of reach of scripts."""

import json
import os
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client

from tests.factories import UserFactory
from tests.processes import worker_database_url
from tests.test_settings import PRODUCTION, manage

DENIED = ("camera", "microphone", "geolocation", "payment")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/no-such-page/", "/healthz/"])
def test_every_answer_denies_camera_microphone_location_and_payment(path: str) -> None:
    policy = Client().get(path)["Permissions-Policy"]

    assert {f"{feature}=()" for feature in DENIED} <= {part.strip() for part in policy.split(",")}


@pytest.mark.django_db
def test_the_permissions_policy_reaches_signed_in_pages_too(staff: Any) -> None:
    client = Client()
    client.force_login(staff)

    assert "camera=()" in client.get("/admin/")["Permissions-Policy"]


# In a fresh process with production settings (DEBUG=0) on the test database and Redis: switch the
# language, then sign in, and report every cookie set on the way with its flags.
COOKIES_SET = """
import json
from django.test import Client
client = Client(HTTP_HOST="example.com")
answers = [
    client.post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True),
    client.post("/accounts/login/", {"login": "mei@example.com", "password": "the-right-password-4711"}, secure=True),
]
assert answers[1].status_code == 302, answers[1].status_code
print(json.dumps({
    name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}
    for answer in answers for name, m in answer.cookies.items()
}))
"""


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_in_production_every_cookie_is_https_only_and_same_site() -> None:
    # given an account whose password the production hasher can check
    user = UserFactory(email="mei@example.com")
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode("the-right-password-4711", hasher.salt())
    user.save(update_fields=["password"])
    env = {
        **PRODUCTION,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CONN_MAX_AGE": "0",
    }

    # when a visitor switches language and signs in
    result = manage("shell", "--no-imports", "-c", COOKIES_SET, env=env)

    # then every cookie they were given is sent over HTTPS only, never on cross-site posts
    assert result.returncode == 0, result.stderr
    cookies = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"sessionid", "csrftoken", "django_language", "messages"} <= set(cookies), cookies
    for name, flags in cookies.items():
        assert flags["secure"], f"{name} would travel over plain HTTP"
        assert flags["samesite"] == "Lax", f"{name}: SameSite={flags['samesite']!r}"
    # and the session's cookies are out of scripts' reach, while the pages' scripts can still read the
    # CSRF token and the language
    assert cookies["sessionid"]["httponly"] and cookies["messages"]["httponly"]
    assert not cookies["csrftoken"]["httponly"] and not cookies["django_language"]["httponly"]
