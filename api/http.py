"""The API's HTTP contract beyond its JSON: the per-client rate limit, a server-side copy of each answer,
and validators and freshness for the client's caches. One wrapper (``served``) does all three, around
each Ninja operation (``decorate_view``), so a copied answer is rate-limited like a fresh one.

*Rate limit.* Fixed windows of ``API_RATE_LIMIT_SECONDS`` per client, at most
``API_RATE_LIMIT_REQUESTS`` requests in each; beyond, ``429`` with ``Retry-After`` (the seconds
left in the window). The client is the address seen through our trusted proxies
(xhs/client_address.py), never a header the client wrote; an IPv6 client is its /64, which it may
hop through at will. Counters live in the project's cache
(one atomic SET NX + INCR in Redis), so they hold across web processes; while the cache's Redis
is down (xhs/cache.py) the limit fails open, as allauth's do: the API keeps answering.

*Server-side copy.* Building an answer costs more than serving it (validating a hundred cards
through the schemas, reversing their URLs): a 200 for a plain request (no query beyond a canonical
``page``, no cookie but the language) is kept per URL and language. A product's copy lives under its
page's generation (catalog/page_cache.py), which every re-score and moderation decision replaces,
so it is never stale; the other answers are kept ``API_CACHE_SECONDS``, the freshness their
Cache-Control already grants every client and shared cache.

*Conditional GET.* Every 200 carries a strong ``ETag`` (a hash of its bytes) and
``Cache-Control: public, max-age=API_CACHE_SECONDS``; a client that sends the tag back in
``If-None-Match`` gets ``304 Not Modified`` without the body. The tag is made from the bytes, so it
can never call a changed answer unchanged (a new score, the other language, a renamed brand).
"""

import functools
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog import page_cache
from xhs.client_address import client_rate_key


def _hit(key: str, timeout: int) -> int | None:
    """One more request on the counter ``key``: one round trip on our Redis cache (xhs/cache.py), else
    (the in-process cache of development and tests) Django's ``add`` then ``incr``."""
    hit = getattr(cache, "hit", None)
    if hit is not None:
        return hit(key, timeout)  # type: ignore[no-any-return]
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # gone between add and incr (expired, evicted)
        return None


def rate_limited(request: HttpRequest) -> HttpResponse | None:
    """The 429 for a client past its limit in the current window, or None to go on."""
    seconds = settings.API_RATE_LIMIT_SECONDS
    now = time.time()
    key = f"api:rate:{client_rate_key(request)}:{int(now // seconds)}"
    # The counter outlives its window a little, so a late hit never finds it gone and starts it again.
    count = _hit(key, seconds + 5)
    if count is None:  # the cache's Redis is down: the limit fails open
        return None
    if count <= settings.API_RATE_LIMIT_REQUESTS:
        return None
    response = JsonResponse({"detail": _("Too many requests: wait before asking again.")}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(seconds - now % seconds)))
    return response


@dataclass(frozen=True)
class Copy:
    """Where the server keeps an answer, the generation it must carry, and what is kept there (if any)."""

    key: str
    generation: int
    kept: tuple[str, bytes] | None


def copy_find(request: HttpRequest, *, product: str | None, paged: bool) -> Copy | None:
    """The server's copy of this answer (one round trip), or None when the request must not use one.
    Only a paged view's copies are per page: elsewhere ``?page=`` would only multiply the keys."""
    page = page_cache.requested_page(request)
    if page is None or (page != 1 and not paged):
        return None
    if product is None:
        key = f"api:v1:{request.path}:{get_language()}:{page}"
        return Copy(key, 0, _answer(page_cache.of_generation(cache.get(key), 0)))
    # A product's copy carries the generation of the product's page, read in the same round trip: a
    # re-score or a moderation decision gives the page a new one, and the copy no longer matches.
    key, stamp = f"api:v1:product:{product}:{get_language()}", page_cache.generation_key(product)
    found = cache.get_many([key, stamp])
    generation = found.get(stamp, 0)
    return Copy(key, generation, _answer(page_cache.of_generation(found.get(key), generation)))


def _answer(kept: object) -> tuple[str, bytes] | None:
    """A kept (content type, body), or None for anything else."""
    if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], str) and isinstance(kept[1], bytes):
        return kept[0], kept[1]
    return None


def copy_keep(copy: Copy, response: HttpResponse, *, seconds: int) -> None:
    cache.set(copy.key, (copy.generation, (response["Content-Type"], response.content)), seconds)


def served(
    *, per_product: bool = False, paged: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Rate limit, server-side copy, ETag and Cache-Control around one view (the module docstring).

    ``per_product``: the view answers for the product named by its ``slug``, and its copy lives as long
    as that product's page (until a re-score or a moderation decision changes it). ``paged``: it reads
    ``?page=``, so each page has its copy."""

    def decorate(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (refusal := rate_limited(request)) is not None:
                return refusal
            copy = copy_find(request, product=kwargs["slug"] if per_product else None, paged=paged)
            if copy is not None and copy.kept is not None:
                content_type, body = copy.kept
                response = HttpResponse(body, content_type=content_type)
            else:
                response = run(request, *args, **kwargs)
                if response.status_code != 200:
                    return response
                if copy is not None:
                    seconds = page_cache.PAGE_SECONDS if per_product else settings.API_CACHE_SECONDS
                    copy_keep(copy, response, seconds=seconds)
            etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
            response["ETag"] = etag
            patch_cache_control(response, public=True, max_age=settings.API_CACHE_SECONDS)
            # Names follow Accept-Language (LocaleMiddleware varies on it) or the language cookie: a
            # shared cache must not hand one reader's language to another.
            patch_vary_headers(response, ("Cookie",))
            return get_conditional_response(request, etag=etag, response=response) or response

        return wrapper

    return decorate
