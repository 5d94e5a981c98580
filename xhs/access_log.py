"""One log line per request with the client's address as our proxies report it.

gunicorn's own access log can only show the peer, which behind a reverse proxy is the proxy for every
visitor; this line shows the visitor's own address (``xhs/client_address.py``), so an abuser can be told apart in
the logs as the rate limits tell them apart. The path is logged without its query string, which may
carry search terms or tokens.
"""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

from xhs.client_address import client_address

logger = logging.getLogger("xhs.access")


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        logger.info(
            '%s "%s %s" %s %.0fms',
            client_address(request) or "-",
            request.method,
            # Percent-encoded again, so a decoded newline in the path cannot forge a log line.
            escape_uri_path(request.path),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response
