"""Staff's view of the scoring job: the run button, runs, result history, the list and factor checks."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ratings import scoring
from ratings.models import ProductResult, RatingPolicy, ScoringRun
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored() -> Any:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 2, "prior_strength": 0})
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[5] * 5, [4] * 5])
    scoring.run_all(triggered_by="test")
    votes_cast(campaign, [[3] * 5])
    scoring.rescore_request(campaign_id=campaign.pk)
    scoring.campaign_rescore(campaign_id=campaign.pk)
    return campaign


def test_staff_start_a_full_run_from_the_admin_button(staff: Any, django_capture_on_commit_callbacks: Any) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 3)
    client = Client()
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:ratings_scoringrun_run_now"), follow=True)

    assert response.status_code == 200
    run = ScoringRun.objects.get()
    assert (run.kind, run.status, run.triggered_by) == ("full", "finished", f"staff:{staff.email}"[:60])
    assert ProductResult.objects.get().counted == 3


def test_the_button_is_post_only_and_for_staff(client: Client, shopper: Any, staff: Any) -> None:
    client.force_login(shopper)
    assert client.post(reverse("admin:ratings_scoringrun_run_now")).status_code == 302
    client.force_login(staff)
    assert client.get(reverse("admin:ratings_scoringrun_run_now")).status_code == 405
    assert not ScoringRun.objects.exists()


def test_staff_see_every_version_of_a_products_result(staff: Any, scored: Any) -> None:
    client = Client()
    client.force_login(staff)

    listing = client.get(reverse("admin:ratings_productresult_changelist"), {"q": scored.product.slug})
    latest = ProductResult.objects.get(product=scored.product, is_latest=True)
    page = client.get(reverse("admin:ratings_productresult_change", args=[latest.pk]))

    assert listing.status_code == 200 and listing.context["cl"].result_count == 2
    assert page.status_code == 200 and page.context["inline_admin_formsets"]


@pytest.mark.parametrize(
    "model", ["scoringrun", "productresult", "heartlistentry", "factorreliability", "ratingpolicy", "vote"]
)
def test_the_scoring_pages_open_for_staff(staff: Any, scored: Any, model: str) -> None:
    client = Client()
    client.force_login(staff)

    response = client.get(reverse(f"admin:ratings_{model}_changelist"), follow=True)

    assert response.status_code == 200


def test_the_run_page_shows_each_categorys_prior(staff: Any, scored: Any) -> None:
    client = Client()
    client.force_login(staff)
    full = ScoringRun.objects.get(kind=ScoringRun.Kind.FULL)

    html = client.get(reverse("admin:ratings_scoringrun_change", args=[full.pk])).content.decode()

    assert "4.5" in html  # the category prior: two votes, 5 and 4
