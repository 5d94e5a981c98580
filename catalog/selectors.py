"""Reads of the catalog that pages and jobs share. Each returns with a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from catalog.models import Category, Engagement, Factor, OrderLine, Product


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    children: list["CategoryNode"]
    product_count: int


def category_tree() -> list[CategoryNode]:
    """The whole category tree, roots first, each node with its number of products on sale (2 queries)."""
    counts = dict(
        Product.objects.filter(is_active=True).values_list("category_id").annotate(n=Count("id")).order_by()
    )
    categories = list(Category.objects.order_by("position", "id"))
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)

    def build(category: Category) -> CategoryNode:
        nodes = [build(child) for child in children.get(category.id, [])]
        total = counts.get(category.id, 0) + sum(node.product_count for node in nodes)
        return CategoryNode(category=category, children=nodes, product_count=total)

    return [build(root) for root in children.get(None, [])]


def category_with_factors(slug: str) -> QuerySet[Category]:
    active = Factor.objects.filter(active=True).order_by("position", "id")
    return Category.objects.select_related("parent").prefetch_related(
        Prefetch("factors", queryset=active, to_attr="active_factors")
    ).filter(slug=slug)


def products_for_listing() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("brand", "category")


def products_in_category(category: Category) -> QuerySet[Product]:
    """Products of a category and of its sub-categories."""
    return products_for_listing().filter(Q(category=category) | Q(category__parent=category)).order_by("id")


def product_search(query: str) -> QuerySet[Product]:
    terms = query.split()
    products = products_for_listing()
    for term in terms:
        products = products.filter(
            Q(name_zh__icontains=term)
            | Q(name_en__icontains=term)
            | Q(brand__name_zh__icontains=term)
            | Q(brand__name_en__icontains=term)
        )
    return products.order_by("id")


def product_detail(slug: str) -> QuerySet[Product]:
    active = Factor.objects.filter(active=True).order_by("position", "id")
    return Product.objects.select_related("brand", "store", "category", "category__parent").prefetch_related(
        Prefetch("category__factors", queryset=active, to_attr="active_factors")
    ).filter(slug=slug)


def product_sales_since(since: datetime) -> QuerySet[Product]:
    """Products annotated with the units genuinely sold since a moment (paid, not refunded or cancelled)."""
    return Product.objects.annotate(
        units_sold=Sum(
            "order_lines__quantity",
            filter=Q(order_lines__status=OrderLine.Status.PAID, order_lines__paid_at__gte=since),
            default=0,
        )
    )


def product_engagement_since(since: datetime) -> dict[int, int]:
    """Likes and saves since a moment, of visible notes, summed per mentioned product."""
    rows = (
        Engagement.objects.filter(created_at__gte=since, note__visibility="visible")
        .values_list("note__noteproduct__product_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {product_id: n for product_id, n in rows if product_id is not None}
