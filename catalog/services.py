"""Writes to the catalog. Each service validates, then saves; callers never write these rows directly."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import RATING_READY_MAX_FACTORS, RATING_READY_MIN_FACTORS, Category, Engagement, Note

# --- Categories and their factors ----------------------------------------------------------------


def category_check_rating_ready(*, rating_ready: bool, active_factor_count: int) -> None:
    """Raise ``ValidationError`` unless a category may be rating-ready with this many active factors.

    The same rule as the PostgreSQL trigger of migration 0002, checked early so staff see a message
    instead of a failed commit.
    """
    if rating_ready and not RATING_READY_MIN_FACTORS <= active_factor_count <= RATING_READY_MAX_FACTORS:
        raise ValidationError(
            _(
                "A rating-ready category needs %(min)d to %(max)d active factors; it would have %(count)d. "
                "Add or activate factors, or untick “rating-ready”."
            ),
            code="rating_ready_factor_count",
            params={"min": RATING_READY_MIN_FACTORS, "max": RATING_READY_MAX_FACTORS, "count": active_factor_count},
        )


#: The category tree has a root level and at most three levels below it (the admin lists it as a tree).
CATEGORY_TREE_LEVELS = 4


def category_check_parent(*, category: Category, parent: Category | None) -> None:
    """Raise ``ValidationError`` if ``parent`` would make a cycle or a tree deeper than four levels.

    The database only forbids a category being its own parent; a longer cycle would detach a branch
    from the tree. One query per level, and the tree is at most four levels deep.
    """
    levels_above = 0
    node = parent
    while node is not None and levels_above <= CATEGORY_TREE_LEVELS:
        if category.pk is not None and node.pk == category.pk:
            raise ValidationError(
                _("A category cannot be placed under itself or under one of its sub-categories."),
                code="category_cycle",
            )
        levels_above += 1
        node = node.parent
    levels_of_branch = 1
    level = [category.pk] if category.pk is not None else []
    while levels_above + levels_of_branch <= CATEGORY_TREE_LEVELS:
        level = list(Category.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        if not level:
            return
        levels_of_branch += 1
    raise ValidationError(
        _("The category tree has at most %(levels)d levels; this would make it deeper."),
        code="category_tree_too_deep",
        params={"levels": CATEGORY_TREE_LEVELS},
    )


@dataclass(frozen=True)
class RatingReadyMarking:
    marked: list[Category]
    #: Categories left unchanged because their active factor count is out of range, each annotated
    #: with ``active_factor_count``.
    refused: list[Category]


def categories_mark_rating_ready(*, category_ids: Iterable[int]) -> RatingReadyMarking:
    """Mark rating-ready every given category that has 5 to 10 active factors; refuse the others.

    Locks the categories (in pk order, so concurrent callers cannot deadlock) before counting their
    factors: factor edits go through the category's admin page, which writes the category row, so the
    count cannot change before this commits. Must run outside an open transaction, because the
    PostgreSQL trigger checks at commit and its ``IntegrityError`` is turned into a ``ValidationError``
    here. Idempotent: marking a category that is already rating-ready changes nothing.
    """
    ids = sorted(set(category_ids))
    try:
        with transaction.atomic():
            list(Category.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
            categories = list(
                Category.objects.filter(pk__in=ids)
                .annotate(active_factor_count=Count("factors", filter=Q(factors__active=True)))
                .order_by("pk")
            )
            marked: list[Category] = []
            refused: list[Category] = []
            for category in categories:
                try:
                    category_check_rating_ready(rating_ready=True, active_factor_count=category.active_factor_count)
                except ValidationError:
                    refused.append(category)
                else:
                    marked.append(category)
            Category.objects.filter(pk__in=[category.pk for category in marked], rating_ready=False).update(
                rating_ready=True, updated_at=timezone.now()
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("The factors of a category changed meanwhile; nothing was marked. Please try again."),
            code="rating_ready_race",
        ) from exc
    for marked_category in marked:
        marked_category.rating_ready = True
    return RatingReadyMarking(marked=marked, refused=refused)


def categories_unmark_rating_ready(*, category_ids: Iterable[int]) -> int:
    """Take categories out of rating; returns how many changed. Always allowed, and idempotent."""
    return Category.objects.filter(pk__in=set(category_ids), rating_ready=True).update(
        rating_ready=False, updated_at=timezone.now()
    )


# --- Community engagement ------------------------------------------------------------------------


def notes_recount_engagement(*, note_ids: Iterable[int] | None = None) -> int:
    """Set each note's likes and saves counts from its engagement rows; returns how many notes changed.

    Recomputes from the source rows (never adds to the stored totals), so a re-run, or two runs at
    once, leave the same numbers. One UPDATE over all notes, or over the given ones.
    """
    likes = Engagement.objects.filter(note=OuterRef("pk"), kind=Engagement.Kind.LIKE)
    saves = Engagement.objects.filter(note=OuterRef("pk"), kind=Engagement.Kind.SAVE)
    counted = Note.objects.annotate(likes=_count_of(likes), saves=_count_of(saves))
    if note_ids is not None:
        counted = counted.filter(pk__in=list(note_ids))
    stale = counted.exclude(likes_count=F("likes"), saves_count=F("saves")).values("pk")
    return Note.objects.filter(pk__in=Subquery(stale)).update(
        likes_count=_count_of(likes), saves_count=_count_of(saves), updated_at=timezone.now()
    )


def _count_of(rows: QuerySet[Engagement]) -> Coalesce:
    return Coalesce(Subquery(rows.order_by().values("note").annotate(n=Count("pk")).values("n")[:1]), 0)
