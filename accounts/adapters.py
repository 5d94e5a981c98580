from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from xhs.client_address import client_address


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Store the optional display name from our sign-up form along with allauth's fields."""
        user = super().save_user(request, user, form, commit=False)
        user.display_name = form.cleaned_data.get("display_name", "").strip()
        if commit:
            user.save()
        return user

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
