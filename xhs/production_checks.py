"""Settings that must never reach production, refused when the settings load.

``manage.py check --deploy`` only warns, and only when someone runs it; these stop every process
(web, worker, beat, migrate) at start, with a message naming the setting. A guessable SECRET_KEY lets
anyone forge sign-in sessions, email-confirmation keys and form tokens, and makes the keyed IP and
user-agent fingerprints of votes reversible; a wildcard host lets any Host header through; DEBUG on a
public host shows settings and source to every visitor who meets an error.
"""

import ipaddress
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

MIN_KEY_LENGTH = 50
#: Django's own bar for a random-looking key (security.W009): at least 5 different characters.
MIN_UNIQUE_CHARACTERS = 5
#: The key's length times the Shannon entropy of its characters: a key of 50 random characters from
#: secrets.token_urlsafe scores about 270 bits, one that repeats a few characters far less.
MIN_ENTROPY_BITS = 128
#: Words of placeholders and sample keys (.env.example's "change-me-...", Django's "django-insecure-...").
PLACEHOLDER_WORDS = ("changeme", "secret", "insecure", "placeholder", "example", "password", "dummy", "xxxxx")
#: Host names that only this machine or its private network can reach.
LOCAL_SUFFIXES = (".localhost", ".local", ".test", ".internal")


def secret_key_entropy_bits(key: str) -> float:
    """The key's length times the entropy per character of its own character frequencies."""
    if not key:
        return 0.0
    length = len(key)
    return -length * sum(count / length * math.log2(count / length) for count in Counter(key).values())


def _repeats_a_pattern(key: str) -> bool:
    # Random text barely compresses; "0123456789" * 5 or "abcabc..." shrinks to a fraction.
    return len(zlib.compress(key.encode(), 9)) < len(key.encode()) // 2


def _key_problem(key: str) -> str | None:
    words = re.sub(r"[^a-z0-9]", "", key.lower())
    found = next((word for word in PLACEHOLDER_WORDS if word in words), None)
    if found:
        return f"looks like a placeholder (it contains {found!r})"
    if len(key) < MIN_KEY_LENGTH:
        return f"is {len(key)} characters long; use at least {MIN_KEY_LENGTH}"
    if len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"has only {len(set(key))} different characters"
    if secret_key_entropy_bits(key) < MIN_ENTROPY_BITS or _repeats_a_pattern(key):
        return "is not random enough (too few different characters, or a repeated pattern)"
    return None


def is_public_host(host: str) -> bool:
    """Whether an ALLOWED_HOSTS entry lets in requests for a name or address others can reach."""
    name = host.strip().lower().lstrip(".").rstrip(".")
    if name in {"localhost", "testserver"} or name.endswith(LOCAL_SUFFIXES):
        return False
    try:
        return ipaddress.ip_address(name.strip("[]")).is_global
    except ValueError:
        return True


def refuse_unsafe_settings(*, debug: bool, secret_key: str, allowed_hosts: Sequence[str]) -> None:
    """Raise ImproperlyConfigured, naming the setting, for a configuration unsafe to serve the public."""
    generate = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    if debug:
        public = [host for host in allowed_hosts if is_public_host(host)]
        if public:
            raise ImproperlyConfigured(
                f"DEBUG is on while ALLOWED_HOSTS names a public host ({', '.join(public)}): every error page "
                "would show the settings and the code to anyone. Set DEBUG=0, or list only local hosts."
            )
        return
    problem = _key_problem(secret_key)
    if problem:
        raise ImproperlyConfigured(
            f"SECRET_KEY {problem}. With DEBUG off it must be a secret of at least {MIN_KEY_LENGTH} random "
            f"characters, e.g. from {generate}."
        )
    if "*" in allowed_hosts:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must name the site's hosts, not '*': any Host header would be accepted, and links "
            "in emails could point at an attacker's host."
        )
