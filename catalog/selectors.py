"""Reads of the catalog that pages and jobs share. Each runs a fixed number of queries."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import Category, Engagement, Factor, Note, OrderLine, Product

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
        Category.objects.select_related("parent")
        .prefetch_related(
            Prefetch("factors", queryset=Factor.objects.filter(active=True).order_by("position", "id")),
            Prefetch("children", queryset=Category.objects.order_by("position")),
        )
        .filter(slug=slug)
    )


def products_for_listing() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("brand", "category")


def products_in_category(category: Category) -> QuerySet[Product]:
    """Products on sale in a category or in its sub-categories, best ranking score first, unrated last."""
    return (
        products_for_listing()
        .filter(Q(category=category) | Q(category__parent=category))
        .order_by(F("ranking_score").desc(nulls_last=True), "-rated_by", "id")
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
    return (
        Product.objects.select_related("brand", "store", "category", "category__parent")
        .prefetch_related(Prefetch("category__factors", queryset=Factor.objects.filter(active=True)))
        .filter(slug=slug)
    )


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
