"""The read-only public API, version 1: the Little Red Heart list, category rankings, a product's rating
and the live methodology parameters, for partners and apps.

Each endpoint reads through the same selectors as the public page it mirrors, so it shows the same
figures, at the same constant number of queries, and nothing a page does not show: no held,
excluded or unpublished figure, no delisted product on a list (a delisted product answers 410, as
its page does). Django Ninja turns the schemas (api/schemas.py) into the OpenAPI document served at
``/api/v1/openapi.json`` and browsable at ``/api/v1/docs/``. Caching headers and the rate limit:
api/http.py.
"""

from dataclasses import asdict
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.openapi.docs import Swagger

from api import schemas
from api.http import served
from catalog import selectors as catalog_selectors
from catalog.models import Category, Product
from catalog.views import PAGE_SIZE
from ratings import selectors as rating_selectors
from ratings.survey_ranking import METHOD

api = NinjaAPI(
    title="Little Red Heart API",
    version="1",
    description=(
        "Read-only figures of the Little Red Heart product ratings: the list, category rankings, each "
        "product's rating with its transparency figures, and the methodology's live parameters. "
        "Every response carries an ETag (send it back in If-None-Match for a 304) and Cache-Control; "
        "each client may make a limited number of requests a minute (429 with Retry-After beyond)."
    ),
    urls_namespace="api-v1",
    docs=Swagger(),
    # The document and its docs page are served like the endpoints: GET only, limited, copied, with an ETag.
    docs_decorator=lambda view: require_GET(served()(view)),
    docs_url="/docs/",
    openapi_url="/openapi.json",
)


def _category(category: Category) -> dict[str, Any]:
    return {
        "slug": category.slug,
        "name": category.name,
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "url": category.get_absolute_url(),
    }


def _factors_survey(category: Category) -> dict[str, Any] | None:
    survey = category.factors_survey
    if survey is None:
        return None
    return {"id": survey.pk, "respondents": survey.respondent_count, "adopted_at": survey.adopted_at, "method": METHOD}


def _card(product: Product) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "name_zh": product.name_zh,
        "name_en": product.name_en,
        "brand": {
            "slug": product.brand.slug,
            "name": product.brand.name,
            "name_zh": product.brand.name_zh,
            "name_en": product.brand.name_en,
        },
        "store": {
            "slug": product.store.slug,
            "name": product.store.name,
            "name_zh": product.store.name_zh,
            "name_en": product.store.name_en,
            "kind": product.store.kind,
            "kind_label": str(product.store.get_kind_display()),
        },
        "price": str(product.price),
        "heart_rank": product.heart_rank,
        "heart_rank_low": product.heart_rank_low,
        "heart_rank_high": product.heart_rank_high,
        "rating_score": product.rating_score,
        "ranking_score": product.ranking_score,
        "rated_by": product.rated_by,
        "url": product.get_absolute_url(),
        "api_url": reverse("api-v1:product", kwargs={"slug": product.slug}),
    }


def _rating(rating: rating_selectors.ProductRating) -> dict[str, Any] | None:
    """The latest result as the product page shows it: every figure once published, progress before."""
    result = rating.result
    if result is None:
        return None
    published = bool(result.published)
    return {
        "published": published,
        "counted": result.counted,
        "min_votes": result.min_votes,
        # An unpublished result may hold a computed score: like the page, the API never shows it.
        "comprehensive": result.comprehensive if published else None,
        "ranking_score": result.ranking_score if published else None,
        "prior": result.prior if published else None,
        "prior_strength": result.prior_strength if published else None,
        "verdict": rating.verdict,
        "updated_at": result.created_at,
        "run": {
            "id": result.run_id,
            "method_version": result.method_version,
            "data_cutoff": result.data_cutoff,
            # The result's input fingerprint (docs/verify.md); null for a result from before they were recorded.
            "fingerprint": result.input_fingerprint or None,
        },
        "factors": [
            {
                "name": factor.name,
                "name_zh": factor.name_zh,
                "name_en": factor.name_en,
                "position": factor.position,
                "weight": float(factor.weight),
                "votes": factor.votes,
                "mean": factor.mean,
                "median": factor.median,
                "sd": factor.sd,
                "ci_low": factor.ci_low,
                "ci_high": factor.ci_high,
                "agreement": factor.agreement,
                "histogram": factor.histogram,
            }
            for factor in (rating.factors if published else [])
        ],
        "transparency": {
            "invited": result.invited,
            "voted": result.voted,
            "response_percent": result.response_percent,
            "counted": result.counted,
            "under_review": result.under_review,
            "excluded_screening": result.excluded_screening,
            "excluded_moderation": result.excluded_moderation,
            "excluded_refund": result.excluded_refund,
        },
    }


@api.get(
    "/list/",
    response={200: schemas.HeartList, 429: schemas.Error},
    url_name="list",
    summary="The Little Red Heart list",
)
@decorate_view(served())
def heart_list(request: HttpRequest) -> dict[str, Any]:
    """Every listed product, grouped by category in the catalogue's order (as /little-red-heart/)."""
    groups = rating_selectors.heart_list()
    return {
        "listed_total": sum(len(group.products) for group in groups),
        "categories": [
            {"category": _category(group.category), "products": [_card(product) for product in group.products]}
            for group in groups
        ],
    }


@api.get(
    "/categories/{slug}/",
    response={200: schemas.CategoryRanking, 404: schemas.Error, 429: schemas.Error},
    url_name="category",
    summary="A category's ranking",
)
@decorate_view(served(paged=True))
def category_ranking(request: HttpRequest, slug: str, page: int = 1) -> dict[str, Any]:
    """The products on sale in a category and its sub-categories, best ranking score first and unrated
    last, a page of 24 at a time (as the category page)."""
    category = catalog_selectors.category_page(slug).first()
    if category is None:
        raise HttpError(404, _("No category has this address."))
    shown = Paginator(catalog_selectors.products_in_category(category), PAGE_SIZE).get_page(page)
    return {
        "category": _category(category),
        "parent": _category(category.parent) if category.parent else None,
        "rating_ready": category.rating_ready,
        "factors": [
            {
                "slug": factor.slug,
                "name": factor.name,
                "name_zh": factor.name_zh,
                "name_en": factor.name_en,
                "weight": float(factor.weight),
            }
            for factor in category.factors.all()
        ],
        "factors_survey": _factors_survey(category),
        "count": shown.paginator.count,
        "page": shown.number,
        "pages": shown.paginator.num_pages,
        "products": [_card(product) for product in shown.object_list],
    }


@api.get(
    "/products/{slug}/",
    response={200: schemas.ProductRating, 404: schemas.Error, 410: schemas.Error, 429: schemas.Error},
    url_name="product",
    summary="A product's rating",
)
@decorate_view(served(per_product=True))
def product_rating(request: HttpRequest, slug: str) -> Any:
    """The product's latest rating: factors with their intervals and histograms, counts, and where
    every vote went. 410 for a product no longer on sale, as its page."""
    product = catalog_selectors.product_page(slug).first()
    if product is None:
        raise HttpError(404, _("No product has this address."))
    if not product.is_active:
        return Status(410, {"detail": _("This product is no longer on sale.")})
    return {
        "product": _card(product),
        "category": _category(product.category),
        "counterfeit_hold": asdict(hold) if (hold := catalog_selectors.counterfeit_hold(product)) else None,
        "rating": _rating(rating_selectors.product_rating(product.pk)),
    }


@api.get(
    "/methodology/",
    response={200: schemas.Methodology, 429: schemas.Error},
    url_name="methodology",
    summary="Methodology parameters",
)
@decorate_view(served())
def methodology(request: HttpRequest) -> dict[str, Any]:
    """The parameters in force, as the methodology page states them."""
    figures = rating_selectors.methodology_figures()
    policy = figures["policy"]
    return {
        "method_version": figures["method_version"],
        "confidence_percent": figures["confidence_percent"],
        "neutral_prior": figures["neutral_prior"],
        "policy": {
            "min_votes_to_publish": policy.min_votes_to_publish,
            "prior_strength": policy.prior_strength,
            "list_threshold": float(policy.list_threshold),
            "list_size": policy.list_size,
            "score_window_days": policy.score_window_days,
            "popularity_days": policy.popularity_days,
            "sales_days": policy.sales_days,
            "purchase_days": policy.purchase_days,
            "use_days": policy.use_days,
            "popularity_percent": figures["popularity_percent"],
            "sales_percent": figures["sales_percent"],
            "min_units_sold": policy.min_units_sold,
            "min_engagement": policy.min_engagement,
            "products_per_category": policy.products_per_category,
            "campaign_days": policy.campaign_days,
            "invitation_days": policy.invitation_days,
            "max_open_invitations": policy.max_open_invitations,
            "active_days": policy.active_days,
            "min_account_days": policy.min_account_days,
        },
        "publish_overrides": [
            {"category": name, "min_votes_to_publish": needed} for name, needed in figures["overrides"]
        ],
        "unequal_weights": [
            {"name": category.name, "factors": [vars(weight) for weight in category.factors]}
            for category in figures["unequal_categories"]
        ],
        "surveyed_categories": [
            {"category": _category(category), "factors_survey": _factors_survey(category)}
            for category in figures["surveyed_categories"]
        ],
        "next_eligibility": figures["next_update"]["eligibility"],
        "next_scoring": figures["next_update"]["scoring"],
        "screening_model": figures["screening_model"],
    }
