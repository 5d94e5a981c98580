"""The Content-Security-Policy header on every response.

Django 5.2 has no CSP of its own (it arrives in 6.0). Our pages load scripts only from static/, so
the policy forbids inline script outright: a payload that slipped past escaping still cannot run.
Inline style stays allowed because the Django admin's change list carries a ``<style>`` block.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
