"""Staff read the admin at 1280 px: forms that fit the screen, scores to two decimals, metrics as a table."""

import re
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from moderation.models import ScreeningModel
from ratings import scoring
from ratings.models import ProductResult, RatingPolicy
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_staff_read_change_pages_that_fit_1280_px_with_rounded_scores_and_a_metrics_table(
    live_server: Any, browser_page: Any, screenshot: Any
) -> None:
    # given a published shampoo rated on eight factors, and a trained screener
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 12})
    shampoo = rating_ready_category(
        factors=8, name_zh="去屑止痒洗发水", name_en="Anti-dandruff shampoo", slug="shampoo"
    )
    product = ProductFactory(category=shampoo, name_zh="强效去屑洗发露", name_en="Extra-Strength Shampoo")
    campaign = campaign_for(product)
    rng = np.random.default_rng(3)
    votes_cast(campaign, np.clip(rng.normal(3.4, 1.0, size=(13, 8)).round(), 1, 5).astype(int).tolist())
    scoring.run_all(triggered_by="browser test")
    result = ProductResult.objects.get(product=product, is_latest=True)
    screener = ScreeningModel.objects.create(
        version="screener-2026-12-01",
        data_cutoff=timezone.now(),
        training_votes=48213,
        labelled_votes=412,
        artefact=b"",
        metrics={
            "trained_votes": 48213,
            "positive_share": 0.18447,
            "supervised": True,
            "review_share": 0.01234,
            "cv_auc_blend": 0.912345,
            "fit_seconds": 12.3456,
            "features": ["burst", "straight_line", "deviation"],
        },
    )
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    page = browser_page
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", staff.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")

    # the category form with its eight factors fits the screen
    page.goto(f"{live_server.url}/admin/catalog/category/{shampoo.pk}/change/")
    screenshot(page, "01-category-change")
    assert page.evaluate(FITS), "the category form scrolls sideways"

    # the product form too
    page.goto(f"{live_server.url}/admin/catalog/product/{product.pk}/change/")
    screenshot(page, "02-product-change")
    assert page.evaluate(FITS), "the product form scrolls sideways"

    # scores in the list read to two decimals
    page.goto(f"{live_server.url}/admin/ratings/productresult/")
    assert page.locator("th.column-comprehensive_shown").inner_text().strip().lower() == "comprehensive score"
    assert re.fullmatch(r"\d\.\d\d", page.locator("td.field-comprehensive_shown").first.inner_text())
    assert re.fullmatch(r"\d\.\d\d", page.locator("td.field-ranking_score_shown").first.inner_text())
    screenshot(page, "03-results-list")
    results = page.locator("#changelist-form .results").bounding_box()
    last = page.locator("td.field-created_at").first.bounding_box()
    assert last["x"] + last["width"] <= results["x"] + results["width"], "the list hides columns to the right"
    assert page.evaluate(FITS), "the results list scrolls sideways"

    # and so do a result's factors, on a page that fits
    page.goto(f"{live_server.url}/admin/ratings/productresult/{result.pk}/change/")
    assert re.fullmatch(r"\d\.\d\d", page.locator("div.field-comprehensive_shown .readonly").inner_text())
    means = page.locator("td.field-mean_shown").all_inner_texts()
    assert len(means) == 8 and all(re.fullmatch(r"\d\.\d\d", mean.strip()) for mean in means), means
    screenshot(page, "04-result-change")
    assert page.evaluate(FITS), "the result page scrolls sideways"

    # the screener's metrics are a table a person reads, not JSON
    page.goto(f"{live_server.url}/admin/moderation/screeningmodel/{screener.pk}/change/")
    table = page.locator("table.screening-metrics")
    labels = table.locator("th").all_inner_texts()
    assert labels[:2] == ["votes learnt from", "share of decisions that excluded the vote"], labels
    rows = dict(zip(labels, table.locator("td").all_inner_texts(), strict=True))
    assert rows["votes learnt from"] == "48213"
    assert rows["share of decisions that excluded the vote"] == "18.4%"
    assert rows["share sent to review"] == "1.2%"
    assert rows["AUC, signals and text"] == "0.912"
    assert rows["training time (seconds)"] == "12.35"
    assert rows["learnt from managers' decisions"] == "Yes"
    assert rows["signals used"] == "burst, straight_line, deviation"
    screenshot(page, "05-screener-change")
    assert page.evaluate(FITS), "the screener page scrolls sideways"
