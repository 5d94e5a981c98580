"""Unsafe production settings stop the start, with a message naming the setting.

The first part starts manage.py in a fresh process with exactly the variables each case sets, as a
deploy would; the second checks the rules themselves over more keys and hosts than processes would
be worth starting for.
"""

import re
import secrets
import string
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from tests.test_settings import PRODUCTION, manage
from xhs.production_checks import refuse_unsafe_settings

ROOT = Path(__file__).resolve().parent.parent.parent


def env_example() -> dict[str, str]:
    """The variables of .env.example, as `docker compose` would pass them from a copied .env."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z0-9_]+=", line))


def refused(result: object, setting: str) -> bool:
    stderr = getattr(result, "stderr", "")
    return getattr(result, "returncode", 0) != 0 and f"ImproperlyConfigured: {setting}" in stderr


# --- At start ---------------------------------------------------------------------------------------------


def test_the_example_configuration_copied_unchanged_refuses_to_start_naming_the_secret_key() -> None:
    example = env_example()
    assert "change-me" in example["SECRET_KEY"], "the example's placeholder changed; this test should follow it"

    result = manage("check", env=example)

    assert refused(result, "SECRET_KEY"), result.stderr
    assert "placeholder" in result.stderr


def test_the_example_configuration_with_a_real_key_passes_the_deploy_check() -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**env_example(), "SECRET_KEY": secrets.token_urlsafe(50)}
    )

    assert result.returncode == 0, result.stderr


def test_the_ci_deploy_check_still_passes() -> None:
    env = {**PRODUCTION, "SECRET_KEY": f"ci-{secrets.token_urlsafe(50)}", "ALLOWED_HOSTS": "example.com"}

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variables", "setting"),
    [
        ({"SECRET_KEY": "s3cr3"}, "SECRET_KEY"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"DEBUG": "1", "ALLOWED_HOSTS": "xhs.example.com"}, "DEBUG"),
    ],
    ids=["a five-character key", "a key of two characters", "a wildcard host", "DEBUG on a public host"],
)
def test_an_unsafe_setting_stops_the_start_naming_it(variables: dict[str, str], setting: str) -> None:
    result = manage("check", env={**PRODUCTION, **variables})

    assert refused(result, setting), result.stderr


# --- The rules ---------------------------------------------------------------------------------------------


def production(**overrides: object) -> None:
    arguments: dict[str, object] = {
        "debug": False,
        "secret_key": secrets.token_urlsafe(50),
        "allowed_hosts": ["xhs.example.com"],
    }
    refuse_unsafe_settings(**{**arguments, **overrides})


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-50-random-characters-from-secrets-token-urlsafe",
        f"django-insecure-{secrets.token_urlsafe(50)}",
        f"CHANGE_ME_{secrets.token_urlsafe(50)}",
        f"{secrets.token_urlsafe(40)}-changeme",
        f"my-super-secret-key-{secrets.token_urlsafe(40)}",
        "dev-only-insecure-key-never-use-in-production-0123456789abcdefghijkl",
        secrets.token_urlsafe(30)[:49],
        "",
        "a" * 64,
        "abcd" * 20,
        "0123456789" * 6,
        "aaaaabbbbbcccccdddddeeeee" * 3,
    ],
    ids=[
        ".env.example's placeholder",
        "Django's startproject key",
        "change_me in capitals",
        "changeme at the end",
        "a key that says it is secret",
        "the development default",
        "49 random characters",
        "an empty key",
        "one character repeated",
        "four characters",
        "a repeated pattern",
        "five characters in runs",
    ],
)
def test_placeholder_short_and_low_entropy_keys_are_refused(key: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY "):
        production(secret_key=key)


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(50),
        f"ci-{secrets.token_urlsafe(50)}",
        get_random_secret_key(),
        secrets.token_hex(32),
        secrets.token_hex(25),
        "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50)),
    ],
    ids=["token_urlsafe(50)", "the CI key", "Django's generator", "token_hex(32)", "token_hex(25)", "50 alphanumerics"],
)
def test_keys_from_the_usual_generators_are_accepted(key: str) -> None:
    production(secret_key=key)


@pytest.mark.parametrize("hosts", [["*"], ["xhs.example.com", "*"]])
def test_a_wildcard_host_is_refused_in_production(hosts: list[str]) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^ALLOWED_HOSTS must name the site's hosts"):
        production(allowed_hosts=hosts)


@pytest.mark.parametrize(
    "hosts", [["xhs.example.com"], ["localhost", ".example.com"], ["93.184.216.34"], ["*"], ["[2001:4860::1]"]]
)
def test_debug_with_a_public_host_is_refused_naming_the_host(hosts: list[str]) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^DEBUG is on while ALLOWED_HOSTS names a public host") as refusal:
        production(debug=True, allowed_hosts=hosts)

    assert hosts[-1] in str(refusal.value)


def test_debug_on_local_hosts_starts_with_any_key() -> None:
    hosts = ["localhost", "127.0.0.1", "[::1]", "192.168.1.20", "10.0.0.5", "web.localhost", "testserver", "box.local"]

    production(debug=True, allowed_hosts=hosts, secret_key="dev")
