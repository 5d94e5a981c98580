"""The public JSON API: the same figures as the pages, nothing the pages hide, cache validators, a rate limit
and a complete OpenAPI description."""

import os
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from catalog import page_cache
from catalog.models import Category, Product
from ratings import scoring
from ratings.models import Campaign, FactorSurvey, ProductResult, RatingPolicy, Vote
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db

LIST = "/api/v1/list/"


def _rated(*, votes: int, score: int = 4, factors: int = 5, category: Any = None) -> Campaign:
    category = category or rating_ready_category(factors=factors)
    campaign = campaign_for(ProductFactory(category=category))
    votes_cast(campaign, [[score] * factors] * votes)
    return campaign


def _publish_at(count: int) -> None:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": count, "prior_strength": 0})


def _product_url(product: Product) -> str:
    return f"/api/v1/products/{product.slug}/"


def test_the_list_holds_the_listed_products_as_the_list_page_does(client: Client) -> None:
    _publish_at(3)
    listed = _rated(votes=3, score=5)
    not_listed = _rated(votes=3, score=2)
    scoring.run_all(triggered_by="test")

    body = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").json()
    page = client.get(reverse("ratings:heart_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert body["listed_total"] == 1 and "1 product earned a Little Red Heart" in page
    [group] = body["categories"]
    [card] = group["products"]
    product = Product.objects.get(pk=listed.product_id)
    assert group["category"]["name"] == listed.category.name_en and group["category"]["name_zh"]
    assert card["slug"] == product.slug and card["name"] == product.name_en and card["name"] in page
    assert card["heart_rank"] == 1 and card["rating_score"] == pytest.approx(5.0) and card["rated_by"] == 3
    assert card["url"] == product.get_absolute_url() and card["api_url"] == _product_url(product)
    assert not_listed.product.slug not in str(body)


def test_a_published_product_gives_every_factor_interval_and_where_the_votes_went(client: Client) -> None:
    _publish_at(3)
    campaign = _rated(votes=4, score=4)
    votes_cast(
        campaign,
        [[1] * 5],
        verdict=Vote.Verdict.EXCLUDED,
        exclusion_reason=Vote.ExclusionReason.SCREENING,
    )
    votes_cast(campaign, [[1] * 5], verdict=Vote.Verdict.REVIEW)
    scoring.run_all(triggered_by="test")
    result = ProductResult.objects.get(product=campaign.product, is_latest=True)

    response = client.get(_product_url(campaign.product), HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    rating = response.json()["rating"]
    assert rating["published"] is True and rating["comprehensive"] == pytest.approx(4.0)
    assert "Rated by 4 verified purchasers." in page and rating["counted"] == 4
    assert rating["verdict"] and rating["verdict"] in page
    assert len(rating["factors"]) == 5
    first = rating["factors"][0]
    assert first["mean"] == pytest.approx(4.0) and first["votes"] == 4 and first["histogram"] == [0, 0, 0, 4, 0]
    assert first["ci_low"] is not None and first["ci_low"] <= first["mean"] <= first["ci_high"]
    assert rating["transparency"] == {
        "invited": result.invited,
        "voted": 6,
        "response_percent": result.response_percent,
        "counted": 4,
        "under_review": 1,
        "excluded_screening": 1,
        "excluded_moderation": 0,
        "excluded_refund": 0,
    }
    assert rating["run"] == {
        "id": result.run_id,
        "method_version": result.method_version,
        "data_cutoff": rating["run"]["data_cutoff"],
        "fingerprint": result.input_fingerprint,
    }
    assert len(result.input_fingerprint) == 64


def test_an_unpublished_product_gives_progress_and_never_its_computed_score(client: Client) -> None:
    _publish_at(30)
    campaign = _rated(votes=7, score=5)
    scoring.run_all(triggered_by="test")

    body = client.get(_product_url(campaign.product), HTTP_ACCEPT_LANGUAGE="en").json()

    rating = body["rating"]
    assert rating["published"] is False and rating["counted"] == 7 and rating["min_votes"] == 30
    assert rating["comprehensive"] is None and rating["ranking_score"] is None and rating["factors"] == []
    assert rating["verdict"] == "" and body["product"]["rating_score"] is None


def test_a_product_never_scored_has_no_rating(client: Client) -> None:
    product = ProductFactory(category=rating_ready_category())

    body = client.get(_product_url(product)).json()

    assert body["rating"] is None and body["product"]["rated_by"] == 0


def test_a_delisted_product_is_gone_and_an_unknown_one_not_found_both_in_json(client: Client) -> None:
    delisted = ProductFactory(is_active=False)

    gone = client.get(_product_url(delisted), HTTP_ACCEPT_LANGUAGE="en")
    missing = client.get("/api/v1/products/no-such-product/", HTTP_ACCEPT_LANGUAGE="en")
    no_category = client.get("/api/v1/categories/no-such-category/", HTTP_ACCEPT_LANGUAGE="en")

    assert gone.status_code == 410 and gone.json() == {"detail": "This product is no longer on sale."}
    assert missing.status_code == 404 and missing.json() == {"detail": "No product has this address."}
    assert no_category.status_code == 404 and no_category.json()["detail"]
    assert "ETag" not in gone and "ETag" not in missing


def test_the_category_ranking_follows_the_category_page_and_leaves_delisted_products_out(client: Client) -> None:
    _publish_at(3)
    category = rating_ready_category()
    good = _rated(votes=3, score=5, category=category)
    fair = _rated(votes=3, score=3, category=category)
    unrated = ProductFactory(category=category)
    delisted = ProductFactory(category=category, is_active=False)
    scoring.run_all(triggered_by="test")

    body = client.get(f"/api/v1/categories/{category.slug}/", HTTP_ACCEPT_LANGUAGE="en").json()
    html = client.get(category.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    slugs = [card["slug"] for card in body["products"]]
    assert slugs == [good.product.slug, fair.product.slug, unrated.slug]
    names = [Product.objects.get(slug=slug).name_en for slug in slugs]
    assert [html.index(name) for name in names] == sorted(html.index(name) for name in names)
    assert delisted.slug not in slugs and body["count"] == 3 and body["pages"] == 1
    assert [card["heart_rank"] for card in body["products"]] == [1, None, None]
    assert len(body["factors"]) == 5 and body["rating_ready"] is True


def test_the_methodology_gives_the_live_parameters(client: Client) -> None:
    RatingPolicy.objects.update_or_create(
        pk=1, defaults={"min_votes_to_publish": 42, "prior_strength": 17, "list_size": 8}
    )
    category = rating_ready_category(min_votes_to_publish=12)

    body = client.get("/api/v1/methodology/", HTTP_ACCEPT_LANGUAGE="en").json()
    page = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert body["policy"]["min_votes_to_publish"] == 42 and "42" in page
    assert body["policy"]["prior_strength"] == 17 and body["policy"]["list_size"] == 8
    assert body["publish_overrides"] == [{"category": category.name_en, "min_votes_to_publish": 12}]
    assert body["method_version"] in page and body["confidence_percent"] == 95


def test_a_category_chosen_with_its_buyers_says_so_in_its_ranking_and_the_methodology(client: Client) -> None:
    surveyed, chosen_by_staff = rating_ready_category(), rating_ready_category()
    now = timezone.now()
    survey = FactorSurvey.objects.create(
        category=surveyed,
        status=FactorSurvey.Status.ADOPTED,
        opens_at=now - timedelta(days=20),
        closes_at=now - timedelta(days=6),
        adopted_at=now - timedelta(days=5),
        respondent_count=1284,
    )
    Category.objects.filter(pk=surveyed.pk).update(factors_survey=survey)

    ranking = client.get(f"/api/v1/categories/{surveyed.slug}/").json()
    other = client.get(f"/api/v1/categories/{chosen_by_staff.slug}/").json()
    methodology = client.get("/api/v1/methodology/").json()

    assert ranking["factors_survey"] == {
        "id": survey.pk,
        "respondents": 1284,
        "adopted_at": ranking["factors_survey"]["adopted_at"],
        "method": "borda",
    }
    adopted_at = datetime.fromisoformat(ranking["factors_survey"]["adopted_at"].replace("Z", "+00:00"))
    assert abs(adopted_at - survey.adopted_at) < timedelta(milliseconds=1)
    assert other["factors_survey"] is None
    [listed] = methodology["surveyed_categories"]
    assert (listed["category"]["slug"], listed["factors_survey"]["respondents"]) == (surveyed.slug, 1284)
    document = client.get("/api/v1/openapi.json").json()
    assert "factors_survey" in document["components"]["schemas"]["CategoryRanking"]["properties"]
    assert "respondents" in document["components"]["schemas"]["FactorsSurvey"]["properties"]


def test_an_answer_the_client_holds_comes_back_as_304_without_a_body(client: Client) -> None:
    _publish_at(1)
    campaign = _rated(votes=1, score=5)
    scoring.run_all(triggered_by="test")

    for url in (LIST, _product_url(campaign.product), "/api/v1/methodology/"):
        first = client.get(url)
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        stale = client.get(url, HTTP_IF_NONE_MATCH='"something-else"')

        assert first.status_code == 200 and first["ETag"].startswith('"')
        assert "public" in first["Cache-Control"] and "max-age=60" in first["Cache-Control"]
        assert {"Accept-Language", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}
        assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
        assert stale.status_code == 200 and stale.content == first.content


def test_a_new_score_changes_the_etag_and_the_answer_at_once(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _publish_at(1)
    campaign = _rated(votes=1, score=5)
    scoring.run_all(triggered_by="test")
    before = client.get(_product_url(campaign.product))["ETag"]

    votes_cast(campaign, [[1] * 5])
    with django_capture_on_commit_callbacks(execute=True):  # the re-score drops cached copies after commit
        scoring.run_all(triggered_by="test")

    assert client.get(_product_url(campaign.product), HTTP_IF_NONE_MATCH=before).status_code == 200


@override_settings(API_RATE_LIMIT_REQUESTS=3, API_RATE_LIMIT_SECONDS=60)
def test_a_client_past_its_rate_limit_is_told_to_wait_and_others_are_not(client: Client) -> None:
    answers = [client.get(LIST, REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)]
    refused = client.get("/api/v1/methodology/", REMOTE_ADDR="203.0.113.7")
    other = client.get(LIST, REMOTE_ADDR="203.0.113.8")

    assert answers == [200, 200, 200, 429]
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"] and "ETag" not in refused
    assert other.status_code == 200


@override_settings(API_RATE_LIMIT_REQUESTS=2, TRUSTED_PROXIES=["10.0.0.1"])
def test_the_rate_limit_counts_the_client_behind_our_proxy_not_an_address_it_claims(client: Client) -> None:
    def through_proxy(forwarded: str) -> int:
        return client.get(LIST, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # A client that writes a new address in front of its own each time is still one client.
    answers = [through_proxy(f"198.51.100.{n}, 203.0.113.9") for n in range(3)]

    assert answers == [200, 200, 429]
    assert through_proxy("203.0.113.10") == 200


@override_settings(API_RATE_LIMIT_REQUESTS=2)
def test_an_ipv6_client_hopping_addresses_within_its_own_network_is_still_one_client(client: Client) -> None:
    # An IPv6 subscriber is given a /64 and may use any address in it (privacy extensions pick new ones).
    answers = [client.get(LIST, REMOTE_ADDR=f"2001:db8:1:2::{n:x}").status_code for n in range(1, 4)]

    assert answers == [200, 200, 429]
    # the next subscriber's network has its own count
    assert client.get(LIST, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_the_openapi_document_describes_every_endpoint(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    docs = client.get("/api/v1/docs/")

    assert document["openapi"].startswith("3.") and document["info"]["version"] == "1"
    assert set(document["paths"]) == {
        "/api/v1/list/",
        "/api/v1/categories/{slug}/",
        "/api/v1/products/{slug}/",
        "/api/v1/methodology/",
    }
    product = document["paths"]["/api/v1/products/{slug}/"]["get"]
    assert {"200", "404", "410"} <= set(product["responses"])
    assert "Transparency" in document["components"]["schemas"]
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn." not in docs.content


def test_nothing_held_excluded_or_unpublished_appears_in_any_answer(client: Client) -> None:
    _publish_at(3)
    category = rating_ready_category()
    shown = _rated(votes=3, score=5, category=category)
    hidden = _rated(votes=2, score=5, category=category)  # below the minimum: unpublished
    votes_cast(shown, [[1] * 5] * 5, verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION)
    votes_cast(shown, [[1] * 5] * 5, verdict=Vote.Verdict.REVIEW)
    scoring.run_all(triggered_by="test")

    answers = {
        url: client.get(url).json()
        for url in (
            LIST,
            f"/api/v1/categories/{category.slug}/",
            _product_url(shown.product),
            _product_url(hidden.product),
        )
    }

    listed = [card["slug"] for group in answers[LIST]["categories"] for card in group["products"]]
    assert listed == [shown.product.slug]
    ranking = {card["slug"]: card for card in answers[f"/api/v1/categories/{category.slug}/"]["products"]}
    assert ranking[hidden.product.slug]["rating_score"] is None
    assert ranking[hidden.product.slug]["ranking_score"] is None
    # The excluded and held ones (all 1s) moved no figure: every factor still averages 5 from 3 votes.
    factors = answers[_product_url(shown.product)]["rating"]["factors"]
    assert {(factor["mean"], factor["votes"]) for factor in factors} == {(5.0, 3)}
    assert answers[_product_url(hidden.product)]["rating"]["comprehensive"] is None


@pytest.mark.parametrize("kind", ["list", "category", "product", "methodology"])
def test_each_endpoint_runs_the_same_queries_with_one_product_as_with_many(
    client: Client, django_assert_num_queries: Any, kind: str
) -> None:
    _publish_at(1)
    category = rating_ready_category(factors=5)
    one = _rated(votes=1, score=5, category=category)
    scoring.run_all(triggered_by="test")

    def url() -> str:
        return {
            "list": LIST,
            "category": f"/api/v1/categories/{category.slug}/",
            "product": _product_url(one.product),
            "methodology": "/api/v1/methodology/",
        }[kind]

    cache.clear()
    with CaptureQueriesContext(connection) as few:
        assert client.get(url()).status_code == 200
    for _ in range(6):
        _rated(votes=3, score=5, category=category)
    votes_cast(one, [[4] * 5] * 20)
    scoring.run_all(triggered_by="test")
    cache.clear()

    with django_assert_num_queries(len(few)):
        assert client.get(url()).status_code == 200
    with django_assert_num_queries(0):  # the server's copy of the answer
        assert client.get(url()).status_code == 200


def _redis_cache(location: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "xhs.cache.FailSoftRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-api-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.mark.redis
def test_the_rate_limit_holds_in_the_shared_redis_cache(client: Client) -> None:
    with override_settings(CACHES=_redis_cache(os.environ["REDIS_URL"]), API_RATE_LIMIT_REQUESTS=2):
        answers = [client.get("/api/v1/methodology/", REMOTE_ADDR="203.0.113.20").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_with_the_cache_down_the_api_still_answers_and_the_limit_fails_open(client: Client) -> None:
    # Nothing listens on port 1: every cache call fails as when Redis is down.
    with override_settings(CACHES=_redis_cache("redis://127.0.0.1:1/0"), API_RATE_LIMIT_REQUESTS=1):
        answers = [client.get("/api/v1/methodology/", REMOTE_ADDR="203.0.113.21").status_code for _ in range(3)]

    assert answers == [200, 200, 200]


def test_a_product_delisted_after_its_answer_was_kept_is_gone_at_once(client: Client) -> None:
    product = ProductFactory(category=rating_ready_category())
    assert client.get(_product_url(product)).status_code == 200  # now kept by the server

    Product.objects.filter(pk=product.pk).update(is_active=False)
    page_cache.forget([product.pk])  # what the admin's save does after commit

    assert client.get(_product_url(product)).status_code == 410
