from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext

from xhs.client_address import client_address


@dataclass(frozen=True)
class EmailSite:
    """How an email names the site: allauth's templates read ``current_site.name`` and ``.domain``."""

    name: str
    domain: str
    url: str


def email_site() -> EmailSite:
    """The site's name in the reader's language and its public address (``SITE_URL``).

    Never the Host header of the request that sent the mail: without django.contrib.sites allauth
    would sign its emails "127.0.0.1:8000", or whatever name a proxy used inside the network.
    """
    url = settings.SITE_URL.rstrip("/")
    return EmailSite(name=gettext("Little Red Heart"), domain=urlsplit(url).netloc, url=url)


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Store the optional display name from our sign-up form along with allauth's fields."""
        user = super().save_user(request, user, form, commit=False)
        user.display_name = form.cleaned_data.get("display_name", "").strip()
        if commit:
            user.save()
        return user

    def format_email_subject(self, subject: str) -> str:
        """Every account email's subject starts with the site's name in the reader's language: "[小红心] …"."""
        return f"[{email_site().name}] {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Send allauth's emails in the site's name, with their links on the site's public address.

        allauth builds links (confirm, reset, sign up) from the request; they are moved to ``SITE_URL``,
        the address the README and .env.example say emails use, so a mail never points at an internal
        host name or at a Host header someone forged.
        """
        site = email_site()
        request = allauth_context.request
        origin = request.build_absolute_uri("/") if request is not None else None
        if origin:
            context = {
                key: f"{site.url}/{value.removeprefix(origin)}"
                if isinstance(value, str) and value.startswith(origin)
                else value
                for key, value in context.items()
            }
        super().send_mail(template_prefix, email, {"current_site": site, "site_url": site.url, **context})

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """Count failed sign-ins per account, whatever host the request names.

        allauth prefixes the site's domain, which without django.contrib.sites is the request's Host
        header, port included: a guesser changing the port would get a fresh count each time.
        (Overrides a private allauth method; tests/security/test_brute_force.py would notice a change.)
        """
        login = str(credentials.get("email", credentials.get("username", ""))).lower()
        return f"login:{login}"

    def get_client_ip(self, request: HttpRequest) -> str:
        """The visitor's address as our trusted proxies report it (``TRUSTED_PROXIES``), so the per-address
        limits count each visitor apart instead of everyone behind the proxy together."""
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address
