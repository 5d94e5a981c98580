"""Whole-page caching of product pages for anonymous visitors, dropped when what they show changes.

A product page costs ~25 ms to build (seven queries and a large template); most of its visitors are
anonymous and see the same bytes. So the rendered page is cached per product, comment page and
language, under a generation stamp per product that re-scores and moderation decisions replace: a
changed page is never served stale, and old entries simply expire. Signed-in visitors, and anyone
carrying a cookie other than the language choice (a session, a message), always get a fresh page.
"""

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import get_language

from catalog.models import Product

#: The page cache is a shortcut, not the truth: entries expire even when nothing invalidates them.
PAGE_SECONDS = 10 * 60
#: Cookies that do not change what an anonymous page shows.
NEUTRAL_COOKIES = frozenset({"django_language", "csrftoken"})
#: Comment pages past 999,999 are rendered, never cached (and int() never sees a huge string).
MAX_PAGE_DIGITS = 6


def generation_key(slug: str) -> str:
    """The product's generation stamp; the API keeps its copy of the product's answer under it too."""
    return f"catalog:product-page-generation:{slug}"


def cacheable(request: HttpRequest) -> bool:
    """Only plain anonymous GETs: no session, no pending message, no query beyond the comment page."""
    return (
        request.method == "GET"
        and set(request.COOKIES) <= NEUTRAL_COOKIES
        and set(request.GET) <= {"page"}
        and not request.user.is_authenticated
    )


def requested_page(request: HttpRequest) -> int | None:
    """The comment page a cacheable request asks for, or None when its page must not be cached.

    Keys are built from validated values only, so that no query string adds a key: the page is absent
    (page 1) or one canonical number ("2", never "02", "٢" or "2&page=3"); the view then stores it
    only if that page exists (a number past the last page shows the last page, and is not stored).
    """
    if not cacheable(request):
        return None
    pages = request.GET.getlist("page")
    if not pages:
        return 1
    if len(pages) != 1:
        return None
    raw = pages[0]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS and raw == str(int(raw))):
        return None
    return int(raw) or None


def page_key(slug: str, page: int) -> str:
    generation = cache.get(generation_key(slug), 0)
    return f"catalog:product-page:{slug}:{generation}:{get_language()}:{page}"


def forget(product_ids: Iterable[int]) -> None:
    """Give these products' pages a new generation, so their next visit rebuilds (one query).

    The generation outlives every page cached under the one before it, so an old page never returns.
    """
    slugs = Product.objects.filter(pk__in=list(product_ids)).values_list("slug", flat=True)
    stamp = time.time_ns()
    cache.set_many({generation_key(slug): stamp for slug in slugs}, 2 * PAGE_SECONDS)
