from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from catalog import selectors
from catalog.placeholder import product_placeholder_svg

PAGE_SIZE = 24


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/home.html", {"tree": selectors.category_tree()})


@require_GET
def category_index(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/category_index.html", {"tree": selectors.category_tree()})


@require_GET
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(selectors.category_with_factors(slug))
    page = Paginator(selectors.products_in_category(category), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/category_detail.html", {"category": category, "page": page})


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(selectors.product_detail(slug))
    return render(request, "catalog/product_detail.html", {"product": product})


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
