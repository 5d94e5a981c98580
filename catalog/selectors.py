"""Reads of the catalog that pages and jobs share. Each runs a fixed number of queries."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from catalog.bilingual import in_language
from catalog.models import Category, Engagement, Factor, Note, OrderLine, Product, Store

#: The window of "recent" community popularity shown to shoppers.
POPULARITY_DAYS = 30


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    children: list["CategoryNode"]
    product_count: int


def category_tree() -> list[CategoryNode]:
    """The whole category tree, roots first, each node with its products on sale (2 queries)."""
    counts = dict(Product.objects.filter(is_active=True).values_list("category_id").annotate(n=Count("id")).order_by())
    children: dict[int | None, list[Category]] = {}
    for category in Category.objects.order_by("position", "id"):
        children.setdefault(category.parent_id, []).append(category)

    def build(category: Category) -> CategoryNode:
        nodes = [build(child) for child in children.get(category.id, [])]
        total = counts.get(category.id, 0) + sum(node.product_count for node in nodes)
        return CategoryNode(category=category, children=nodes, product_count=total)

    return [build(root) for root in children.get(None, [])]


def category_page(slug: str) -> QuerySet[Category]:
    return (
        Category.objects.select_related("parent", "factors_survey")
        .prefetch_related(
            Prefetch("factors", queryset=Factor.objects.filter(active=True).order_by("position", "id")),
            Prefetch("children", queryset=Category.objects.order_by("position")),
        )
        .filter(slug=slug)
    )


def products_for_listing() -> QuerySet[Product]:
    """Products on sale with what a card shows: brand, category and the store type beside the score."""
    return Product.objects.filter(is_active=True).select_related("brand", "category", "store")


def _confirmed_counterfeits() -> QuerySet[Any]:
    """Confirmed counterfeit claims about the outer product, latest first (moderation's model, imported
    here lazily: moderation depends on catalog)."""
    from moderation.models import CounterfeitCase

    return CounterfeitCase.objects.filter(product=OuterRef("pk"), status=CounterfeitCase.Status.CONFIRMED).order_by(
        "-decided_at", "-id"
    )


def products_in_category(category: Category) -> QuerySet[Product]:
    """Products on sale in a category or in its sub-categories, best ranking score first, unrated last;
    a product held for a confirmed counterfeit claim takes no place among the ranked (``counterfeit_held``)."""
    return (
        products_for_listing()
        .filter(Q(category=category) | Q(category__parent=category))
        .annotate(counterfeit_held=Exists(_confirmed_counterfeits()))
        .order_by("counterfeit_held", F("ranking_score").desc(nulls_last=True), "-rated_by", "id")
    )


def product_search(query: str) -> QuerySet[Product]:
    """Products whose name or brand holds every word of the query, in either language."""
    products = products_for_listing()
    for term in query.split():
        products = products.filter(
            Q(name_zh__icontains=term)
            | Q(name_en__icontains=term)
            | Q(brand__name_zh__icontains=term)
            | Q(brand__name_en__icontains=term)
        )
    return products.order_by("id")


def product_page(slug: str) -> QuerySet[Product]:
    """The product with what its page shows, in the same query: the store of its latest confirmed
    counterfeit claim, if any (``counterfeit_store_zh``, ``_en``, ``_kind``; None when it is not held)."""
    held = _confirmed_counterfeits()
    return (
        Product.objects.select_related("brand", "store", "category", "category__parent", "category__factors_survey")
        .prefetch_related(Prefetch("category__factors", queryset=Factor.objects.filter(active=True)))
        .annotate(
            counterfeit_store_zh=Subquery(held.values("store__name_zh")[:1]),
            counterfeit_store_en=Subquery(held.values("store__name_en")[:1]),
            counterfeit_store_kind=Subquery(held.values("store__kind")[:1]),
        )
        .filter(slug=slug)
    )


def product_head(slug: str) -> QuerySet[Product]:
    """The product with only what its page reads when its parts are kept (``page_cache.PartsSlot``): its name,
    whether it is sold, its category (for the page of a product no longer sold). A tenth of ``product_page``'s
    CPU, most of which is building that query."""
    return Product.objects.select_related("category").filter(slug=slug)


@dataclass(frozen=True)
class CounterfeitHold:
    """Why a product is off the lists: the store a confirmed counterfeit came from, in the reader's language."""

    store: str
    store_kind: str


def counterfeit_hold(product: Product) -> CounterfeitHold | None:
    """The hold read from ``product_page``'s annotations (no query), or None."""
    kind = getattr(product, "counterfeit_store_kind", None)
    if kind is None:
        return None
    store = in_language(product.counterfeit_store_zh, product.counterfeit_store_en)  # type: ignore[attr-defined]
    return CounterfeitHold(store=store, store_kind=str(Store.Kind(kind).label))


def product_units_sold(product: Product, *, days: int = 365) -> int:
    """Units genuinely sold (paid, not refunded or cancelled) in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    genuine = OrderLine.objects.filter(product=product, status=OrderLine.Status.PAID, paid_at__gte=since)
    return int(genuine.aggregate(units=Sum("quantity", default=0))["units"])


def product_notes(product: Product, *, limit: int = 6) -> list[Note]:
    """The most recent visible community notes that mention a product."""
    notes = Note.objects.filter(products=product, visibility=Note.Visibility.VISIBLE).select_related("author")
    return list(notes.order_by("-published_at", "-id")[:limit])


def popular_products(*, limit: int = 8, days: int = POPULARITY_DAYS) -> list[Product]:
    """Products whose notes drew the most likes and saves recently (2 queries)."""
    since = timezone.now() - timedelta(days=days)
    top = (
        Engagement.objects.filter(created_at__gte=since, note__visibility=Note.Visibility.VISIBLE)
        .values("note__noteproduct__product_id")
        .annotate(n=Count("id"))
        .filter(note__noteproduct__product_id__isnull=False)
        .order_by("-n", "note__noteproduct__product_id")[:limit]
    )
    ranking = [row["note__noteproduct__product_id"] for row in top]
    products = products_for_listing().in_bulk(ranking)
    return [products[pk] for pk in ranking if pk in products]
