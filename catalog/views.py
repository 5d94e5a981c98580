from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from accounts import kept_pages
from catalog import kept_comments, page_cache, selectors
from catalog.models import Product
from catalog.placeholder import product_placeholder_svg
from catalog.stakes import BrandStakeRefused
from ratings import selectors as rating_selectors
from ratings.forms import ReviewFilterForm

PAGE_SIZE = 24
POPULAR_CACHE_SECONDS = 600
#: A signed-in reader's product pages share one kept shell (``_reader_page``), rendered again after this long.
READER_SHELL = "product"
READER_SHELL_SECONDS = 60
#: The shell of a signed-in reader's home and category pages (``_listing_reader_page``).
LISTING_SHELL = "listing"
_TITLE, _MAIN, _COMMENTS, _NOTES = (kept_pages.slot(name) for name in ("TITLE", "MAIN", "COMMENTS", "NOTES"))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The list, popular products and the category tree: the same for every visitor, kept rendered per language
    until a product on it or the list changes (``_listing_page``)."""

    def build() -> tuple[page_cache.Listing, bool]:
        # Popularity aggregates engagement over a month: computed at most once per ten minutes.
        popular = cache.get_or_set("catalog:popular-products", selectors.popular_products, POPULAR_CACHE_SECONDS)
        context = {"tree": selectors.category_tree(), "popular": popular, "heart_list": rating_selectors.heart_list()}
        content = render_to_string("catalog/_home.html", context)
        return page_cache.Listing(title=_("Product ratings you can trust"), content=content.encode()), True

    return _listing_page(request, build, name="home")


@require_GET
def category_index(request: HttpRequest) -> HttpResponse:
    """The category tree with each category's products on sale, kept like the home page (whose tree it is)."""

    def build() -> tuple[page_cache.Listing, bool]:
        content = render_to_string("catalog/_categories.html", {"tree": selectors.category_tree()})
        return page_cache.Listing(title=_("Categories"), content=content.encode()), True

    return _listing_page(request, build, name="categories")


@require_GET
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A category's products, best first: kept like the home page per page of products, for a page that exists asked
    for by one canonical number (``page_cache.page_number``); anything else is rendered afresh and not kept."""
    number = page_cache.page_number(request) if set(request.GET) <= {"page"} else None

    def build() -> tuple[page_cache.Listing, bool]:
        category = get_object_or_404(selectors.category_page(slug))
        page = Paginator(selectors.products_in_category(category), PAGE_SIZE).get_page(request.GET.get("page"))
        content = render_to_string("catalog/_category.html", {"category": category, "page": page})
        return page_cache.Listing(title=category.name, content=content.encode()), page.number == number

    if number is None:
        return _listing_render(request, build()[0])
    return _listing_page(request, build, name=f"category:{slug}:{number}", slug=slug)


def _listing_page(
    request: HttpRequest, build: Callable[[], tuple[page_cache.Listing, bool]], *, name: str, slug: str | None = None
) -> HttpResponse:
    """A listing page (``catalog/listing.html`` around a ``page_cache.Listing``) kept under ``name``: an anonymous
    visitor's whole page from its copy, a signed-in reader's from the kept part inside their kept shell
    (``_listing_reader_page``), each in one cache round trip and no query; else rendered around the kept part, or
    around the part ``build`` makes (and says whether it may be kept), and kept."""
    whole = page_cache.cacheable(request)
    if not whole and (served := _listing_reader_page(request, name, slug)) is not None:
        return served
    slot, kept, page = page_cache.ListingSlot.find(name, category_slug=slug, whole=whole)
    if page is not None:
        return HttpResponse(page)
    keep = True
    if kept is None:
        kept, keep = build()
        if keep:
            slot.keep(kept)
    response = _listing_render(request, kept)
    if keep and whole:
        slot.keep_page(response.content)
    elif request.user.is_authenticated:
        kept_pages.hint_give(request, response)  # the next page reads the reader's keys with the session
    return response


def _listing_render(request: HttpRequest, kept: page_cache.Listing) -> HttpResponse:
    content = mark_safe(kept.content.decode())  # noqa: S308 - our templates' output  # nosec B308 B703
    return render(request, "catalog/listing.html", {"title": kept.title, "content": content})


def _listing_reader_page(request: HttpRequest, name: str, slug: str | None) -> HttpResponse | None:
    """A signed-in reader's listing page when its part is kept: their shell of listing pages (kept per account and
    language, ``accounts.kept_pages``, as ``_reader_page``'s) read with the session and the part, filled with it.
    None: render it (nobody signed in, messages to show, the part not kept)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    keys = page_cache.ListingSlot.keys(name, category_slug=slug)
    reader = kept_pages.reader_read(request, name=LISTING_SHELL, keys=lambda user: keys)
    if reader is None or len(get_messages(request)):  # loaded, not consumed: the render shows them
        return None
    kept = page_cache.ListingSlot.found(name, reader.found, category_slug=slug).kept
    if kept is None:
        return None
    return kept_pages.kept_serve(
        request,
        reader,
        name=LISTING_SHELL,
        seconds=READER_SHELL_SECONDS,
        template="catalog/listing.html",
        context=lambda: {"title": _TITLE, "content": _MAIN},
        fills={_TITLE: escape(kept.title), _MAIN: kept.content},
    )


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The product and its rating; anonymous visitors get a cached copy until it changes (page_cache)."""
    page_number = page_cache.requested_page(request)
    slot = None
    if page_number is not None:
        slot, cached = page_cache.PageSlot.find(slug, page_number)
        if cached is not None:
            return HttpResponse(cached)
    else:
        kept = _reader_page(request, slug)
        if kept is not None:
            return kept
    response, shown, last = _product_detail(request, slug)
    if slot is not None and response.status_code == 200:
        slot.keep(shown=shown, last=last, content=response.content)
    if request.user.is_authenticated:
        kept_pages.hint_give(request, response)  # the next page reads the reader's keys with the session
    return response


def _product_detail(request: HttpRequest, slug: str) -> tuple[HttpResponse, int, int]:
    """The rendered page, the number of the comment page it shows and of the last one."""
    parts = page_cache.PartsSlot.find(slug)
    product = get_object_or_404(selectors.product_page(slug) if parts.kept is None else selectors.product_head(slug))
    if not product.is_active:
        # Gone for good, and said so: links from old notes and searches land somewhere that explains.
        return render(request, "catalog/product_delisted.html", {"product": product}, status=410), 1, 1
    kept = parts.kept
    if kept is None:
        kept = _product_parts(product)
        parts.keep(kept)
    review_filter = ReviewFilterForm(request.GET, factors=kept.factors)
    comments, shown, last = kept_comments.comments_part(
        request, product=product, review_filter=review_filter, generation=parts.generation
    )
    main_part, notes_part = (mark_safe(html.decode()) for html in (kept.main, kept.notes))  # noqa: S308 - our templates' output  # nosec B308 B703
    context = {"product": product, "main_part": main_part, "notes_part": notes_part, "comments_part": comments}
    return render(request, "catalog/product_detail.html", context), shown, last


def _product_parts(product: Product) -> page_cache.Parts:
    """The product and its rating, and its notes, rendered without the request: nothing of the visitor's; and its
    category's factors, for the comments' filter."""
    context = {
        "product": product,
        "rating": rating_selectors.product_rating(product.pk),
        "units_sold": selectors.product_units_sold(product),
        "notes": selectors.product_notes(product),
        "counterfeit_hold": selectors.counterfeit_hold(product),
    }
    return page_cache.Parts(
        main=render_to_string("catalog/_product_main.html", context).encode(),
        notes=render_to_string("catalog/_product_notes.html", context).encode(),
        factors=tuple((factor.pk, factor.name) for factor in product.category.factors.all()),
        title=product.name,
    )


def _reader_page(request: HttpRequest, slug: str) -> HttpResponse | None:
    """A signed-in reader's page in one cache round trip, when all of it is kept: the shell of their pages (kept per
    account and language, ``accounts.kept_pages``) read with the session, their account and the reviews they
    marked helpful, and beside them what every reader of the product shares (``page_cache.Shared``: its parts and
    its comments section, unfiltered). None: render it (nobody signed in, a filter, messages to show, or something
    not kept, which the render then keeps)."""
    number = page_cache.page_number(request)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES or set(request.GET) - {"page"} or number is None:
        return None
    shared = page_cache.Shared(slug, get_language(), kept_comments.section_params(), number)
    marks_key = rating_selectors.helpful_marks_key
    reader = kept_pages.reader_read(request, name=READER_SHELL, keys=lambda user: [*shared.keys(), marks_key(user)])
    if reader is None or len(get_messages(request)):  # loaded, not consumed: the render shows them
        return None
    parts, token = shared.found(reader.found)
    section = kept_comments.section_held(token)
    if parts is None or section is None:
        return None
    comments = kept_comments.section_for(request, section, marks=reader.found.get(marks_key(reader.user.pk)))
    return kept_pages.kept_serve(
        request,
        reader,
        name=READER_SHELL,
        seconds=READER_SHELL_SECONDS,
        template="catalog/product_detail.html",
        context=lambda: {
            "product": {"name": _TITLE},
            "main_part": _MAIN,
            "comments_part": _COMMENTS,
            "notes_part": _NOTES,
        },
        fills={_TITLE: escape(parts.title), _MAIN: parts.main, _COMMENTS: comments, _NOTES: parts.notes},
    )


@require_GET
@cache_control(max_age=86400, public=True)
def product_image(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(selectors.products_for_listing().filter(slug=slug))
    return HttpResponse(product_placeholder_svg(product), content_type="image/svg+xml")


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    products = selectors.product_search(query) if query else selectors.products_for_listing().none()
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/search.html", {"query": query, "page": page})


@csrf_exempt
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch, with CSRF checked for signed-in people only.

    For an anonymous visitor the switch only sets a display preference in their own browser, so the
    form carries no token; that keeps anonymous pages free of per-visitor tokens and cacheable.
    """
    if request.user.is_authenticated:
        refusal = CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, set_language, (), {})
        if refusal is not None:
            return refusal
    return set_language(request)


def stake_refused(request: HttpRequest, error: BrandStakeRefused) -> HttpResponse:
    """The 403 page, saying what a brand's account was refused and why (``catalog.stakes``)."""
    context = {"error_code": "403", "error_title": _("Not for a brand's own account"), "error_text": error.message}
    return render(request, "errors/_page.html", context, status=403)
