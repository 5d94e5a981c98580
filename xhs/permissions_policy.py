"""The Permissions-Policy header on every response.

The site never asks for a camera, a microphone, a location or a payment; saying so in a header means
a script that slipped in (or an embedded page) cannot ask either. Only features every current browser
knows are named: an unknown one earns a console warning on every page.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
