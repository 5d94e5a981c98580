"""Refuse query strings carrying NUL or other control characters, before any view sees them.

PostgreSQL cannot store NUL in text, so ``/search/?q=%00`` reached the database and answered 500;
other control characters in a query have no honest use either (no GET form of ours takes multi-line
text). Such a request gets the site's 400 page, keys and values alike, percent-encoded or not.
"""

import re
from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

#: C0 controls (NUL, tab, newlines included), DEL and the C1 controls.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def query_is_clean(request: HttpRequest) -> bool:
    return not any(
        CONTROL.search(key) or any(CONTROL.search(value) for value in values) for key, values in request.GET.lists()
    )


class QueryHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("QUERY_STRING") and not query_is_clean(request):
            raise BadRequest("Control characters in the query string.")
        return self.get_response(request)
