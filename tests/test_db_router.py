"""With a read replica (DATABASE_REPLICA_URL), anonymous reads of the public pages go to it; all else to the primary.

The replica here is Django's test mirror of the primary (xhs/settings_test.py): the same test database over
a connection of its own, so the tests commit their rows (``transaction=True``) for it to see them.
"""

from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from moderation import services as moderation_services
from ratings import eligibility
from ratings.models import Campaign, ReviewHelpful
from tests.factories import UserFactory
from tests.ratings.factories import CampaignFactory, votes_cast

pytestmark = [
    pytest.mark.skipif("replica" not in settings.DATABASES, reason="the replica mirror needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture
def replica_routing(settings: Any) -> None:
    """The router and its middleware, as xhs/settings.py installs them when DATABASE_REPLICA_URL is set."""
    settings.DATABASE_ROUTERS = ["xhs.db_router.ReplicaRouter"]
    auth = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: auth + 1],
        "xhs.db_router.PublicReadsMiddleware",
        *settings.MIDDLEWARE[auth + 1 :],
    ]


@pytest.fixture
def campaign(replica_routing: None) -> Campaign:
    campaign = CampaignFactory()
    votes_cast(campaign, [[4] * 5], comment="a review worth reading")
    # the policies exist in production; a page creating them on first use would write on the primary
    eligibility.policy_get()
    moderation_services.policy_get()
    return campaign


def queries_on_each(client: Client, method: str, path: str) -> tuple[int, int, int]:
    """The response's status and how many queries it ran on the primary and on the replica."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = getattr(client, method)(path)
    return response.status_code, len(primary.captured_queries), len(replica.captured_queries)


@pytest.mark.parametrize("page", ["product", "home", "category", "list", "api product", "api category"])
def test_an_anonymous_visitor_reads_the_public_pages_from_the_replica(
    client: Client, campaign: Campaign, page: str
) -> None:
    product = campaign.product
    path = {
        "product": product.get_absolute_url(),
        "home": "/",
        "category": product.category.get_absolute_url(),
        "list": "/little-red-heart/",
        "api product": f"/api/v1/products/{product.slug}/",
        "api category": f"/api/v1/categories/{product.category.slug}/",
    }[page]

    status, on_primary, on_replica = queries_on_each(client, "get", path)

    assert status == 200
    assert on_replica > 0
    assert on_primary == 0


def test_a_signed_in_reader_reads_the_product_page_from_the_primary(client: Client, campaign: Campaign) -> None:
    client.force_login(UserFactory())

    status, on_primary, on_replica = queries_on_each(client, "get", campaign.product.get_absolute_url())

    assert status == 200
    assert on_primary > 0
    assert on_replica == 0


def test_a_write_reads_and_writes_on_the_primary(client: Client, campaign: Campaign) -> None:
    review = campaign.votes.get()
    client.force_login(UserFactory())

    status, on_primary, on_replica = queries_on_each(client, "post", f"/reviews/{review.pk}/helpful/")

    assert status == 302
    assert ReviewHelpful.objects.filter(vote=review).count() == 1
    assert on_primary > 0
    assert on_replica == 0


def test_outside_a_request_jobs_and_commands_read_from_the_primary(campaign: Campaign) -> None:
    with CaptureQueriesContext(connections["replica"]) as replica:
        assert Product.objects.filter(pk=campaign.product_id).exists()

    assert replica.captured_queries == []


def test_with_the_replica_unreachable_the_public_page_is_read_from_the_primary(
    client: Client, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = connections["replica"]
    replica.close()
    monkeypatch.setitem(replica.settings_dict, "PORT", "1")  # nothing listens there: connection refused

    with CaptureQueriesContext(connections["default"]) as primary:
        response = client.get(campaign.product.get_absolute_url())

    assert response.status_code == 200
    assert len(primary.captured_queries) > 0
