"""A product's comments section, rendered once and kept, each reader's own buttons put in per request.

A signed-in reader's product page was built whole at every visit, about 13 ms of CPU, most of it the comments:
three queries, the filter form's widgets, ten reviews. Only each review's buttons differ between readers: the
author sees "Your review", another signed-in reader a helpful button (pressed or not, with the request's CSRF
token and path), a visitor not signed in links. So the section is rendered without the request, a slot
(``ACTIONS_SLOT`` and the review's id) where each review's buttons go, and kept under the product's generation
per language, filter and comment page (``page_cache.CommentsSlot``: a re-score, a helpful mark or a moderation
decision gives the product a new generation). The buttons are rendered with it in their four variants
(``ratings/_review_actions.html``); a request picks each review's variant from the reader and the reviews they
marked helpful (kept per account, ``rating_selectors.helpful_marked``), and puts in its token and path
(``accounts.kept_pages``' slots). Tests compare the page with the one rendered whole before this module, for the
author, another reader and an anonymous visitor.

A page number past the last is answered from the last page's copy (``page_cache.CommentsSlot``); one not
written canonically shows the page Django's paginator picks and is not kept: keys come from validated values
only.
"""

import re
from dataclasses import dataclass
from typing import cast

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.kept_pages import CSRF_SLOT, PATH_SLOT, csrf_token
from catalog import page_cache
from catalog.models import Product
from ratings import selectors as rating_selectors
from ratings.forms import ReviewFilterForm
from xhs.cache import NOT_READ
from xhs.held import held, hold

COMMENTS_PER_PAGE = 10
#: Where a review's buttons go in the kept section: this, the review's id and ";". Its NUL keeps it apart from a
#: comment's text, as a kept page's slots (``accounts.kept_pages.slot``).
ACTIONS_SLOT = "\x00ACTIONS"
_ACTIONS = re.compile(ACTIONS_SLOT + r"\d+;")
VARIANTS = ("own", "marked", "unmarked", "anonymous")
#: In the key: a deploy that changes ``Section`` or ``Review`` raises it, so no copy kept before is read.
FORMAT = 2
#: Where a review's buttons take the request's CSRF token and path.
_FILLED = re.compile(f"({CSRF_SLOT}|{PATH_SLOT})")


@dataclass(frozen=True)
class Review:
    """A review's buttons in each variant, cut at the request's slots (``_FILLED``), and whose review it is."""

    pk: int
    author_id: int
    variants: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Section:
    """The rendered section: ``pieces`` around the reviews' buttons (one more than the reviews), the page shown
    and the last."""

    pieces: tuple[str, ...]
    reviews: tuple[Review, ...]
    shown: int
    last: int


def section_params(filter_params: str = "") -> str:
    """The kept section's ``params`` (``page_cache.CommentsSlot``): its format and the filter's canonical query
    string (none: every review, newest first)."""
    return f"{FORMAT}:{filter_params}"


def section_held(token: object) -> Section | None:
    """The section a slot points to (``page_cache.CommentsSlot`` keeps its ``xhs.held`` token), or None."""
    return cast(Section | None, held(token, valid=lambda value: isinstance(value, Section), size=_section_size))


def _section_size(section: Section) -> int:
    """About its bytes: its text, counted in characters (most of it is markup)."""
    return sum(map(len, section.pieces)) + sum(
        len(text) for review in section.reviews for pieces in review.variants.values() for text in pieces
    )


def section_render(*, product: Product, review_filter: ReviewFilterForm, number: int | str | None) -> Section:
    """The section of comment page ``number`` as the filter asks, for no reader in particular."""
    query = review_filter.query()
    comments = Paginator(rating_selectors.rating_comments(product.pk, **query), COMMENTS_PER_PAGE)
    page = comments.get_page(number)
    html = render_to_string(
        "ratings/_product_comments.html",
        {
            "comments": page,
            "review_filter": review_filter,
            "reviews_filtered": query["factor_id"] is not None,
            "actions_slot": ACTIONS_SLOT,
        },
    )
    shared = {"product_path": product.get_absolute_url(), "csrf_token": CSRF_SLOT, "path": PATH_SLOT}
    reviews = tuple(
        Review(
            pk=vote.pk,
            author_id=vote.user_id,
            variants={
                variant: tuple(
                    _FILLED.split(
                        render_to_string(
                            "ratings/_review_actions.html",
                            {**shared, "variant": variant, "vote_pk": vote.pk, "helpful": vote.helpful},  # type: ignore[attr-defined]  # annotated
                        )
                    )
                )
                for variant in VARIANTS
            },
        )
        for vote in page.object_list
    )
    return Section(tuple(_ACTIONS.split(html)), reviews, page.number, comments.num_pages)


def section_for(request: HttpRequest, section: Section, *, marks: object = NOT_READ) -> SafeString:
    """The section with this request's reader's buttons; ``marks``: the value under the reader's
    ``helpful_marks_key`` when the caller read it already."""
    user_id = request.user.pk if request.user.is_authenticated else None
    marked: set[int] = set()
    fills: dict[str, str] = {}
    if user_id is not None and section.reviews:
        vote_ids = [review.pk for review in section.reviews]
        marked = rating_selectors.helpful_marked(user_id=user_id, vote_ids=vote_ids, kept=marks)
        fills = {CSRF_SLOT: csrf_token(request), PATH_SLOT: escape(request.get_full_path())}
    parts = [section.pieces[0]]
    for review, after in zip(section.reviews, section.pieces[1:], strict=True):
        if user_id is None:
            variant = "anonymous"
        elif review.author_id == user_id:
            variant = "own"
        else:
            variant = "marked" if review.pk in marked else "unmarked"
        parts += [fills.get(piece, piece) for piece in review.variants[variant]]
        parts.append(after)
    return mark_safe("".join(parts))  # noqa: S308 - our templates' output and escaped values only  # nosec B308 B703


def comments_part(
    request: HttpRequest, *, product: Product, review_filter: ReviewFilterForm, generation: int
) -> tuple[SafeString, int, int]:
    """The section for this request, from the kept copy when there is one: the HTML, the comment page shown and
    the last."""
    number = page_cache.page_number(request)
    slot, kept = None, None
    if number is not None:
        slot, kept = page_cache.CommentsSlot.find(
            product.slug, generation=generation, params=section_params(review_filter.params()), number=number
        )
    section = section_held(kept)
    if section is None:
        section = section_render(product=product, review_filter=review_filter, number=request.GET.get("page"))
        if slot is not None:
            token = hold(section, size=_section_size(section), seconds=page_cache.PAGE_SECONDS)
            slot.keep(token, shown=section.shown, last=section.last)
    return section_for(request, section), section.shown, section.last
