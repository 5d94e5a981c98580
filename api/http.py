"""The API's HTTP contract beyond its JSON: validators and freshness for caches, and the per-client rate limit.

*Conditional GET.* Every 200 answer carries a strong ``ETag`` (a hash of its bytes) and
``Cache-Control: public, max-age=API_CACHE_SECONDS``; a client that sends the tag back in
``If-None-Match`` gets ``304 Not Modified`` without the body. The tag is computed from the body rather
than predicted from the data: what the endpoints read is cached by the selectors until a re-score
drops it (ratings/selectors.py), so building the body costs little, and a tag made from the bytes
can never say "unchanged" about a body that changed (a new language, a renamed brand, a new field).

*Rate limit.* Fixed windows of ``API_RATE_LIMIT_SECONDS`` per client, at most
``API_RATE_LIMIT_REQUESTS`` requests in each; beyond, ``429`` with ``Retry-After`` (the seconds
left in the window). The client is the address seen through our trusted proxies
(xhs/client_address.py), never a header the client wrote. Counters live in the project's cache
with an atomic ``add`` + ``incr``, so they hold across web processes; while the cache's Redis is
down (xhs/cache.py) the limit fails open, as allauth's do: the API keeps answering.
"""

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from ninja.throttling import BaseThrottle

from xhs.client_address import client_address


def conditional(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give a 200 answer its ETag and Cache-Control, and turn it into a 304 when the client holds it.

    Wraps a Ninja operation (``decorate_view``), so it sees the finished response: errors, 404/410
    and 429 pass untouched and are never cached."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = run(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
        response["ETag"] = etag
        patch_cache_control(response, public=True, max_age=settings.API_CACHE_SECONDS)
        # Names follow Accept-Language (LocaleMiddleware varies on it) or the language cookie: a shared
        # cache must not hand one reader's language to another.
        patch_vary_headers(response, ("Cookie",))
        return get_conditional_response(request, etag=etag, response=response) or response

    return wrapper


class ClientRateThrottle(BaseThrottle):
    """At most ``API_RATE_LIMIT_REQUESTS`` per client in each window of ``API_RATE_LIMIT_SECONDS``.

    Settings are read per request (not when the API module is imported), so tests and operators
    can change them without a restart of the module."""

    def allow_request(self, request: HttpRequest) -> bool:
        seconds = settings.API_RATE_LIMIT_SECONDS
        window = int(time.time() // seconds)
        key = f"api:rate:{client_address(request)}:{window}"
        # The counter outlives its window a little, so a late incr never recreates it without a timeout.
        cache.add(key, 0, seconds + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # the cache is unreachable (or evicted the key at once): fail open
            return True
        return bool(count <= settings.API_RATE_LIMIT_REQUESTS)

    def wait(self) -> float:
        """Seconds until the current window ends (Ninja sends them, rounded up, as Retry-After)."""
        seconds = settings.API_RATE_LIMIT_SECONDS
        return float(seconds - time.time() % seconds)
