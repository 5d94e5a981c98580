"""Whole-page caching of product pages for anonymous visitors, dropped when what they show changes.

A product page costs ~16 ms to build (seven queries and a large template); most of its visitors are
anonymous and see the same bytes. So the rendered page is cached per product, comment page and
language, stamped with its product's generation, which re-scores and moderation decisions replace: a
copy of another generation is never served, and old entries simply expire or are overwritten.
Signed-in visitors, and anyone carrying a cookie other than the language choice (a session, a
message), get a page of their own, from the parts every visitor sees (``PartsSlot``, kept the same
way) and the comments section (``CommentsSlot``, kept the same way per filter and page), their own buttons
put in (``catalog.kept_comments``); a signed-in reader's unfiltered page reads both beside their session in
one round trip (``Shared``, ``catalog.views._reader_page``).

One round trip finds a page (``PageSlot.find``): the generation, the page and the product's number of
comment pages together. A number past the last page shows the last page, as Django's paginator does,
from the last page's copy: a link to a page that no longer exists (or ``?page=2`` of a product with one
page) would otherwise render afresh at every visit, uncached, which anyone could repeat at will.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, cast

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import get_language

from catalog.models import Category, Product
from xhs.held import held, hold

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
    (page 1) or one canonical number ("2", never "02", "٢" or "2&page=3"); only pages that exist are
    kept (a number past the last page is answered with the last page's copy and adds no key).
    """
    return page_number(request) if cacheable(request) else None


def page_number(request: HttpRequest) -> int | None:
    """The comment page asked for, when it is one canonical number (page 1 when absent); None otherwise."""
    pages = request.GET.getlist("page")
    if not pages:
        return 1
    if len(pages) != 1:
        return None
    raw = pages[0]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS and raw == str(int(raw))):
        return None
    return int(raw) or None


def _page_key(slug: str, language: str, number: int) -> str:
    return f"catalog:product-page:{slug}:{language}:{number}"


def _last_key(slug: str) -> str:
    return f"catalog:product-page-last:{slug}"


def of_generation(kept: object, generation: object) -> object:
    """What was kept as ``(generation, value)``, if it was kept under this generation, else None: every copy made
    for a product's page (the page, its parts, its page count, the API's answer) is kept that way."""
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == generation:
        return kept[1]
    return None


def _paged_find(
    found: dict[str, object], page_key: Callable[[int], str], last_key: str, *, number: int, generation: int
) -> object:
    """What ``found`` (one ``get_many`` that asked for ``page_key(number)`` and ``last_key``) holds of this
    generation for page ``number``; for a number past the last page (its number kept at ``last_key``), the last
    page's copy, one more read. None when nothing is kept. Pages past the last thus add no key."""
    kept = of_generation(found.get(page_key(number)), generation)
    last = of_generation(found.get(last_key), generation)
    if kept is None and isinstance(last, int) and number > last:
        kept = of_generation(cache.get(page_key(last)), generation)
    return kept


def _paged_keep(
    page_key: Callable[[int], str], last_key: str, generation: int, *, shown: int, last: int, value: object
) -> None:
    """Keep page ``shown`` (the last when a number past it was asked for) and the number of the last page."""
    cache.set_many({page_key(shown): (generation, value), last_key: (generation, last)}, PAGE_SECONDS)


@dataclass(frozen=True)
class PageSlot:
    """Where a cacheable request's page is kept, with the product's generation as it was when the page was
    looked up: a page rendered meanwhile from older data is kept under that older generation, never served."""

    slug: str
    language: str
    generation: int

    @classmethod
    def find(cls, slug: str, number: int) -> "tuple[PageSlot, bytes | None]":
        """The slot of the product's page and the kept copy of comment page ``number`` (None: render it)."""
        language = get_language()
        wanted, last_key, stamp = _page_key(slug, language, number), _last_key(slug), generation_key(slug)
        found = cache.get_many([stamp, wanted, last_key])
        slot = cls(slug, language, found.get(stamp, 0))
        page = _paged_find(found, slot._key, last_key, number=number, generation=slot.generation)
        return slot, page if isinstance(page, bytes) else None

    def _key(self, number: int) -> str:
        return _page_key(self.slug, self.language, number)

    def keep(self, *, shown: int, last: int, content: bytes) -> None:
        """Keep the page rendered (``shown``: the last page when a number past it was asked for) and the number of
        the product's last comment page."""
        _paged_keep(self._key, _last_key(self.slug), self.generation, shown=shown, last=last, value=content)


@dataclass(frozen=True)
class Parts:
    """The product and its rating and its notes (UTF-8, as their templates made them: HTML, escaped), its
    category's factors for the comments' filter ((id, name) in the page's language), and its name in that language
    (the page's title)."""

    main: bytes
    notes: bytes
    factors: tuple[tuple[int, str], ...]
    title: str


def _parts_key(slug: str, language: str) -> str:
    return f"catalog:product-parts:{slug}:{language}"


def _parts_held(token: object) -> Parts | None:
    parts = held(token, valid=lambda value: isinstance(value, Parts), size=_parts_size)
    return cast(Parts | None, parts)


def _parts_size(parts: Parts) -> int:
    return len(parts.main) + len(parts.notes)


@dataclass(frozen=True)
class PartsSlot:
    """The parts of the product's page that are the same for every visitor (the product and its rating; its
    notes), for the pages rendered per visitor (signed in, comments filtered): kept with the product's
    generation, found in one round trip. Find the slot before reading the product, so parts built from a row
    read after a change are never kept under the generation before it. The key holds the generation and a token
    of ``xhs.held``, under which the parts are kept once: a process that holds them does not read them again."""

    key: str
    generation: int
    kept: Parts | None

    @classmethod
    def find(cls, slug: str) -> "PartsSlot":
        key, stamp = _parts_key(slug, get_language()), generation_key(slug)
        found = cache.get_many([stamp, key])
        generation = found.get(stamp, 0)
        return cls(key, generation, _parts_held(of_generation(found.get(key), generation)))

    def keep(self, parts: Parts) -> None:
        token = hold(parts, size=_parts_size(parts), seconds=PAGE_SECONDS)
        cache.set(self.key, (self.generation, token), PAGE_SECONDS)


@dataclass(frozen=True)
class CommentsSlot:
    """Where a product's comments section is kept (``catalog.kept_comments``): per language, filter and comment
    page, with the generation ``PartsSlot.find`` read before the product and its comments were; beside it the
    number of the filter's last comment page, so a number past it is answered from the last page's copy (as
    ``PageSlot`` does) and adds no key. ``params``: the section's format and the filter's canonical query string,
    from validated values only, so no query string adds a key."""

    slug: str
    language: str
    params: str
    generation: int

    def _key(self, number: int) -> str:
        return f"catalog:product-comments:{self.slug}:{self.language}:{self.params}:{number}"

    def _last_key(self) -> str:
        return f"catalog:product-comments-last:{self.slug}:{self.params}"

    @classmethod
    def find(cls, slug: str, *, generation: int, params: str, number: int) -> "tuple[CommentsSlot, object]":
        """The slot and what it holds of this generation for comment page ``number`` (None when nothing)."""
        slot = cls(slug, get_language(), params, generation)
        found = cache.get_many([slot._key(number), slot._last_key()])
        return slot, _paged_find(found, slot._key, slot._last_key(), number=number, generation=generation)

    def keep(self, section: object, *, shown: int, last: int) -> None:
        """Keep the section of comment page ``shown`` (the last when a number past it was asked for)."""
        _paged_keep(self._key, self._last_key(), self.generation, shown=shown, last=last, value=section)


@dataclass(frozen=True)
class Shared:
    """What every reader's page of a product shares, as one ``get_many`` of ``keys`` found it beside the reader's
    own keys (``catalog.views``): the product's parts and its comments section of one page, unfiltered (a page
    past the last: the last page's, one more read), under the product's generation; None for what is not kept
    under it (the page is then rendered, and keeps them)."""

    slug: str
    language: str
    params: str
    number: int

    def keys(self) -> list[str]:
        slot = CommentsSlot(self.slug, self.language, self.params, 0)
        return [
            generation_key(self.slug),
            _parts_key(self.slug, self.language),
            slot._key(self.number),
            slot._last_key(),
        ]

    def found(self, found: dict[str, object]) -> tuple[Parts | None, object]:
        stamp = found.get(generation_key(self.slug), 0)
        generation = stamp if isinstance(stamp, int) else 0
        parts = _parts_held(of_generation(found.get(_parts_key(self.slug, self.language)), generation))
        slot = CommentsSlot(self.slug, self.language, self.params, generation)
        return parts, _paged_find(found, slot._key, slot._last_key(), number=self.number, generation=generation)


def forget(product_ids: Iterable[int]) -> None:
    """Give these products' pages a new generation, so their next visit rebuilds, and with them the listings that
    show their cards: their categories' pages, and the home page when one of them is on the list (one query). A
    product leaving the list or joining it moves its places, which renews the home page too (``listings_forget``).

    The generation outlives every page cached under the one before it, so an old page never returns.
    """
    rows = list(
        Product.objects.filter(pk__in=list(product_ids)).values_list(
            "slug", "category__slug", "category__parent__slug", "heart_rank"
        )
    )
    stamp = time.time_ns()
    stamps = {generation_key(slug): stamp for slug, *_ in rows}
    categories = {category for _, *categories, _ in rows for category in categories if category}
    stamps.update(_listing_stamps(categories, stamp, home=any(rank is not None for *_, rank in rows)))
    cache.set_many(stamps, 2 * PAGE_SECONDS)


# --- The home page and the category pages ----------------------------------------------------------------------
#
# What they show is the same for every visitor (cards, the list, the tree; the header is the visitor's): it is kept
# rendered per language (and per category and page of products), under generations that ``forget`` replaces when a
# product on them changes, ``listings_forget`` when a list's places move or a product, category, factor, brand,
# store or the rating policy is saved. The popular products' cards, recomputed every ten minutes, and the
# tree's counts of products added in bulk are as fresh as the entries' ten minutes (``PAGE_SECONDS``).

#: Replaced when anything every listing shows changes (a category's name or place in the tree, a brand's name).
CATALOG_GENERATION_KEY = "catalog:listing-generation:catalog"
HOME_GENERATION_KEY = "catalog:listing-generation:home"


def _category_generation_key(slug: str) -> str:
    return f"catalog:listing-generation:category:{slug}"


def _listing_stamps(category_slugs: Iterable[str], stamp: int, *, home: bool = True) -> dict[str, int]:
    stamps = {_category_generation_key(slug): stamp for slug in category_slugs}
    return stamps | {HOME_GENERATION_KEY: stamp} if home else stamps


def listings_forget(*, category_ids: Iterable[int] = (), everything: bool = False) -> None:
    """Give the home page and these categories' pages (and their parents', which list their products too) a new
    generation; ``everything``: every listing (one query for the categories' slugs)."""
    stamp = time.time_ns()
    if everything:
        cache.set_many({CATALOG_GENERATION_KEY: stamp, HOME_GENERATION_KEY: stamp}, 2 * PAGE_SECONDS)
        return
    slugs = {
        slug
        for pair in Category.objects.filter(pk__in=list(category_ids)).values_list("slug", "parent__slug")
        for slug in pair
        if slug
    }
    cache.set_many(_listing_stamps(slugs, stamp), 2 * PAGE_SECONDS)


def listing_changed(sender: type, instance: object, **kwargs: object) -> None:
    """A ``post_save``/``post_delete`` receiver for what every listing may show (a product, which may have moved
    category, a category, factor, brand or store): after commit, every listing is renewed (renewed at once, a reader
    could keep a page built from the rows before the change under the new generation). Such changes are staff's,
    rare; re-scores renew only their products' listings (``forget``)."""
    transaction.on_commit(lambda: listings_forget(everything=True))


@dataclass(frozen=True)
class Listing:
    """The part of a listing page every visitor sees: its title and content (UTF-8 HTML, as its template made it)."""

    title: str
    content: bytes


@dataclass(frozen=True)
class ListingSlot:
    """Where a listing page is kept, with the generations it was looked up under (read before the data it is built
    from, as ``PageSlot``: a page built from older data is kept under the older generations, never served): the
    part every visitor sees (``Listing``) and, for anonymous visitors (``cacheable``), the whole page."""

    key: str
    generation: tuple[int, int]

    @classmethod
    def keys(cls, name: str, *, category_slug: str | None = None, whole: bool = False) -> list[str]:
        """The keys ``found`` reads (one ``get_many``, which may read other keys beside them)."""
        slot = cls(f"catalog:listing:{name}:{get_language()}", (0, 0))
        stamp = HOME_GENERATION_KEY if category_slug is None else _category_generation_key(category_slug)
        return [CATALOG_GENERATION_KEY, stamp, slot.key, *([slot._page_key] if whole else [])]

    @classmethod
    def found(cls, name: str, found: dict[str, object], *, category_slug: str | None = None) -> "ListingFound":
        """The slot of listing ``name`` (``"home"``, ``"categories"``, whose tree is the home page's and which is
        renewed with it, or a category's page of products) in the request's language, its kept part and its kept
        whole page, from ``found`` (what a ``get_many`` of ``keys`` read; None: not kept)."""
        catalog, stamp, key, page_key = cls.keys(name, category_slug=category_slug, whole=True)
        generation = tuple(value if isinstance(value := found.get(k, 0), int) else 0 for k in (catalog, stamp))
        slot = cls(key, (generation[0], generation[1]))
        kept, page = (of_generation(found.get(k), slot.generation) for k in (key, page_key))
        return ListingFound(
            slot, kept if isinstance(kept, Listing) else None, page if isinstance(page, bytes) else None
        )

    @classmethod
    def find(cls, name: str, *, category_slug: str | None = None, whole: bool = False) -> "ListingFound":
        """``found`` in one round trip of its own; the whole page only when ``whole``."""
        found = cache.get_many(cls.keys(name, category_slug=category_slug, whole=whole))
        return cls.found(name, found, category_slug=category_slug)

    @property
    def _page_key(self) -> str:
        return f"{self.key}:page"

    def keep(self, listing: Listing) -> None:
        cache.set(self.key, (self.generation, listing), PAGE_SECONDS)

    def keep_page(self, content: bytes) -> None:
        cache.set(self._page_key, (self.generation, content), PAGE_SECONDS)


class ListingFound(NamedTuple):
    slot: ListingSlot
    kept: Listing | None
    page: bytes | None
