"""The scoring job: its figures against an independent numpy computation, versions, the list, triggers."""

import time
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from catalog.models import Product
from ratings import scoring, statistics
from ratings.models import (
    Campaign,
    FactorReliability,
    FactorResult,
    HeartListEntry,
    ProductResult,
    RatingPolicy,
    ScoringRun,
    Vote,
)
from ratings.services import vote_submit
from ratings.tasks import run_scoring
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import accepted_invitation, campaign_for, votes_cast


def _expected_factor(scores: np.ndarray) -> dict[str, Any]:
    """What a statistician computes from the raw scores of one factor, without the job's histogram."""
    n = len(scores)
    mean = float(np.mean(scores))
    sd = float(np.std(scores, ddof=1))
    half = scipy_stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    return {
        "votes": n,
        "mean": mean,
        "sd": sd,
        "ci_low": max(1.0, mean - half),
        "ci_high": min(5.0, mean + half),
        "median": float(np.median(scores)),
        "histogram": [int(np.sum(scores == s)) for s in range(1, 6)],
        "agreement": min(1.0, max(0.0, 1 - np.var(scores, ddof=1) / 2.0)),
    }


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=300))
@settings(max_examples=200, deadline=None)
def test_factor_figures_from_a_histogram_equal_numpy_on_the_raw_scores(raw: list[int]) -> None:
    scores = np.array(raw)
    expected = _expected_factor(scores)

    figures = statistics.factor_figures(expected["histogram"])

    assert figures.votes == expected["votes"]
    for name in ("mean", "sd", "ci_low", "ci_high", "median", "agreement"):
        assert getattr(figures, name) == pytest.approx(expected[name], abs=1e-9), name


@given(st.lists(st.lists(st.integers(min_value=0, max_value=400), min_size=5, max_size=5), min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_the_figures_of_many_histograms_at_once_equal_those_of_each_to_the_last_bit(
    histograms: list[list[int]],
) -> None:
    many = statistics.factor_figures_matrix(np.array(histograms))

    for row, histogram in enumerate(histograms):
        one = statistics.factor_figures(histogram)
        assert int(many.votes[row]) == one.votes
        for name in ("mean", "sd", "ci_low", "ci_high", "median", "agreement"):
            value = float(getattr(many, name)[row])
            assert (None if np.isnan(value) else value) == getattr(one, name), name


def test_the_t_quantiles_computed_at_once_equal_scipys_one_at_a_time_to_the_last_bit() -> None:
    dfs = [1, 2, 3, 7, 29, 30, 31, 120, 999, 1_000, 4_095, 4_096, 25_000, 250_000]
    statistics._T_QUANTILES.clear()  # none known: all of them in one call of t.ppf over an array

    at_once = statistics.t_quantiles(dfs)

    assert at_once == [float(scipy_stats.t.ppf(0.975, df)) for df in dfs]
    assert [statistics.t_quantile(df) for df in reversed(dfs)] == at_once[::-1]


def test_a_factor_with_one_vote_has_a_mean_but_no_interval_and_none_has_nothing() -> None:
    one = statistics.factor_figures([0, 0, 0, 1, 0])
    none = statistics.factor_figures([0, 0, 0, 0, 0])

    assert (one.mean, one.median, one.sd, one.ci_low) == (4.0, 4.0, None, None)
    assert (none.votes, none.mean) == (0, None)


def test_a_factor_reliability_is_high_when_products_differ_and_near_zero_when_they_do_not() -> None:
    rng = np.random.default_rng(1)
    distinct = [(40, m, 0.6) for m in (2.0, 3.0, 4.0, 4.6)]
    alike = [(40, float(3.5 + rng.normal(0, 0.01)), 1.2) for _ in range(4)]

    assert statistics.factor_reliability(distinct).icc == pytest.approx(0.79, abs=0.05)
    assert statistics.factor_reliability(alike).icc < 0.05


def _shampoo(weights: list[int]) -> Campaign:
    category = rating_ready_category(factors=len(weights))
    for factor, weight in zip(category.factors.order_by("position", "id"), weights, strict=True):
        factor.weight = weight
        factor.save(update_fields=["weight"])
    return campaign_for(ProductFactory(category=category))


@pytest.mark.django_db
def test_the_full_run_equals_an_independent_computation_and_ignores_votes_that_do_not_count() -> None:
    # given two products of one category with unequal factor weights, generated votes, and votes
    # held for review or excluded that must not count
    rng = np.random.default_rng(7)
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 30, "prior_strength": 20})
    weights = [1, 2, 1, 3, 1]
    big = _shampoo(weights)
    small = campaign_for(ProductFactory(category=big.category))
    big_scores = rng.integers(1, 6, size=(36, 5))
    small_scores = np.clip(rng.integers(3, 6, size=(12, 5)), 1, 5)
    votes_cast(big, big_scores.tolist())
    votes_cast(small, small_scores.tolist())
    votes_cast(big, [[1] * 5] * 4, verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.SCREENING)
    votes_cast(big, [[1] * 5] * 2, verdict=Vote.Verdict.REVIEW)
    votes_cast(small, [[5] * 5], verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION)

    # when
    run = scoring.run_all(triggered_by="test")

    # then every figure equals numpy on the counted raw scores
    results = {r.campaign_id: r for r in ProductResult.objects.filter(is_latest=True)}
    assert run.status == ScoringRun.Status.FINISHED
    big_result, small_result = results[big.pk], results[small.pk]
    factors = list(FactorResult.objects.filter(result=big_result).order_by("position", "id"))
    for column, factor in enumerate(factors):
        expected = _expected_factor(big_scores[:, column])
        assert factor.histogram == expected["histogram"]
        for name in ("votes", "mean", "sd", "ci_low", "ci_high", "median", "agreement"):
            assert getattr(factor, name) == pytest.approx(expected[name], abs=1e-9), name
    big_comprehensive = float(np.average(big_scores.mean(axis=0), weights=weights))
    small_comprehensive = float(np.average(small_scores.mean(axis=0), weights=weights))
    assert big_result.comprehensive == pytest.approx(big_comprehensive)
    assert small_result.comprehensive == pytest.approx(small_comprehensive)
    prior = (36 * big_comprehensive + 12 * small_comprehensive) / 48
    assert big_result.prior == pytest.approx(prior)
    assert big_result.ranking_score == pytest.approx((36 * big_comprehensive + 20 * prior) / 56)
    # and the transparency figures count every vote once, by what became of it
    assert (big_result.invited, big_result.voted, big_result.counted) == (42, 42, 36)
    assert (big_result.excluded_screening, big_result.under_review, big_result.excluded_moderation) == (4, 2, 0)
    assert (small_result.counted, small_result.excluded_moderation) == (12, 1)
    # and only the product with enough counted votes is published
    assert (big_result.published, small_result.published) == (True, False)
    assert small_result.ranking_score is None
    big.product.refresh_from_db()
    small.product.refresh_from_db()
    assert big.product.rating_score == pytest.approx(big_comprehensive)
    assert (small.product.rating_score, small.product.rated_by) == (None, 12)


@pytest.mark.django_db
def test_a_factor_named_with_quotes_commas_and_braces_keeps_its_name_and_weight_in_its_result() -> None:
    # given: a campaign whose frozen factors' names hold what an array literal escapes, and a weight of 2.50
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    names = ['Smell, "fresh"', "back\\slash {braces}", "NULL", ""]
    factors = list(campaign.factors.order_by("position", "id"))
    for factor, name in zip(factors, names, strict=False):
        factor.name_en = name
        factor.weight = Decimal("2.50")
        factor.save(update_fields=["name_en", "weight"])
    votes_cast(campaign, [[4, 5, 3, 2, 1]] * 3)

    # when
    scoring.run_all(triggered_by="test")

    # then
    stored = FactorResult.objects.filter(result__product_id=campaign.product_id, result__is_latest=True)
    assert [(f.name_en, f.weight) for f in stored.order_by("position", "id")][: len(names)] == [
        (name, Decimal("2.50")) for name in names
    ]


@pytest.mark.django_db
def test_a_category_can_publish_with_fewer_votes_than_the_policy() -> None:
    campaign = _shampoo([1] * 5)
    campaign.category.min_votes_to_publish = 5
    campaign.category.save(update_fields=["min_votes_to_publish"])
    votes_cast(campaign, [[4] * 5] * 5)

    scoring.run_all(triggered_by="test")

    result = ProductResult.objects.get(product=campaign.product, is_latest=True)
    assert (result.published, result.min_votes, result.comprehensive) == (True, 5, 4.0)


@pytest.mark.django_db
def test_a_rerun_with_no_new_data_changes_no_number_and_writes_no_result() -> None:
    campaign = _shampoo([1] * 5)
    votes_cast(campaign, np.random.default_rng(3).integers(1, 6, size=(31, 5)).tolist())
    first = scoring.run_all(triggered_by="test")
    before = list(ProductResult.objects.values())

    second = scoring.run_all(triggered_by="test")

    assert (first.products_changed, second.products_changed) == (1, 0)
    assert list(ProductResult.objects.values()) == before
    assert second.products_scored == 1 and second.status == ScoringRun.Status.FINISHED


@pytest.mark.django_db
def test_a_full_run_reads_its_votes_once_and_still_scores_a_campaign_opened_after_it_started() -> None:
    # given a full run whose first category has been scored (which read every product's votes)
    first = _shampoo([1] * 5)
    votes_cast(first, [[4] * 5] * 30)
    second = campaign_for(ProductFactory(category=rating_ready_category(factors=5)))
    votes_cast(second, [[2] * 5] * 30)
    run, category_ids = scoring.run_start(triggered_by="test")
    scoring.run_category(run_id=run.pk, category_id=first.category_id)

    # when a campaign opens in the second category before the run reaches it
    late = campaign_for(ProductFactory(category=second.category))
    for category_id in category_ids[1:]:
        scoring.run_category(run_id=run.pk, category_id=category_id)
    scoring.run_finish(run_id=run.pk)

    # then every product has its result, the late one with no vote yet, and the run finished cleanly
    results = {r.product_id: r for r in ProductResult.objects.filter(is_latest=True)}
    assert (results[first.product_id].comprehensive, results[second.product_id].comprehensive) == (4.0, 2.0)
    assert (results[late.product_id].voted, results[late.product_id].published) == (0, False)
    run.refresh_from_db()
    assert run.status == ScoringRun.Status.FINISHED


@pytest.mark.django_db
def test_a_new_vote_writes_a_new_version_and_keeps_the_old_one_for_staff() -> None:
    campaign = _shampoo([1] * 5)
    votes_cast(campaign, [[3] * 5] * 30)
    scoring.run_all(triggered_by="test")
    votes_cast(campaign, [[5] * 5] * 30)

    assert scoring.rescore_request(campaign_id=campaign.pk)
    run = scoring.campaign_rescore(campaign_id=campaign.pk)

    assert run is not None and run.kind == ScoringRun.Kind.PRODUCT and run.products_changed == 1
    history = list(ProductResult.objects.filter(product=campaign.product).order_by("run_id"))
    assert [(r.counted, r.comprehensive, r.is_latest) for r in history] == [(30, 3.0, False), (60, 4.0, True)]
    # the re-score keeps the category prior the full run fixed
    assert history[1].prior == history[0].prior == 3.0


@pytest.mark.django_db
def test_the_list_holds_published_products_over_the_threshold_best_first_with_ties_to_more_votes() -> None:
    RatingPolicy.objects.update_or_create(
        pk=1, defaults={"min_votes_to_publish": 10, "prior_strength": 0, "list_threshold": Decimal("4.0")}
    )
    first = _shampoo([1] * 5)
    category = first.category
    tied_more_votes = campaign_for(ProductFactory(category=category))
    below = campaign_for(ProductFactory(category=category))
    unpublished = campaign_for(ProductFactory(category=category))
    votes_cast(first, [[5] * 5] * 10)
    votes_cast(tied_more_votes, [[4] * 5] * 12)
    tied_fewer = campaign_for(ProductFactory(category=category))
    votes_cast(tied_fewer, [[4] * 5] * 10)
    votes_cast(below, [[3] * 5] * 20)
    votes_cast(unpublished, [[5] * 5] * 9)

    run = scoring.run_all(triggered_by="test")

    entries = list(HeartListEntry.objects.filter(run=run).order_by("rank"))
    assert [e.product_id for e in entries] == [first.product_id, tied_more_votes.product_id, tied_fewer.product_id]
    ranks = dict(Product.objects.filter(category=category).values_list("pk", "heart_rank"))
    assert ranks == {
        first.product_id: 1,
        tied_more_votes.product_id: 2,
        tied_fewer.product_id: 3,
        below.product_id: None,
        unpublished.product_id: None,
    }


@pytest.mark.django_db
def test_a_product_that_falls_below_the_threshold_loses_its_badge() -> None:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 10, "prior_strength": 0})
    campaign = _shampoo([1] * 5)
    votes_cast(campaign, [[5] * 5] * 10)
    scoring.run_all(triggered_by="test")
    votes_cast(campaign, [[1] * 5] * 20)

    scoring.rescore_request(campaign_id=campaign.pk)
    scoring.campaign_rescore(campaign_id=campaign.pk)

    campaign.product.refresh_from_db()
    assert campaign.product.heart_rank is None
    assert campaign.product.rating_score == pytest.approx(7 / 3)


@pytest.mark.django_db
def test_a_listed_product_whose_votes_stop_counting_is_unpublished_and_leaves_the_list() -> None:
    # given a listed product with just enough counted votes
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 10, "prior_strength": 0})
    campaign = _shampoo([1] * 5)
    votes = votes_cast(campaign, [[5] * 5] * 10)
    scoring.run_all(triggered_by="test")
    assert Product.objects.get(pk=campaign.product_id).heart_rank == 1

    # when one vote is held for review and the product is re-scored
    Vote.objects.filter(pk=votes[0].pk).update(verdict=Vote.Verdict.REVIEW)
    scoring.rescore_request(campaign_id=campaign.pk)
    run = scoring.campaign_rescore(campaign_id=campaign.pk)

    # then it shows no score and no badge any more, and nothing is left to re-score
    product = Product.objects.get(pk=campaign.product_id)
    assert run is not None and run.status == run.Status.FINISHED
    assert (product.rating_score, product.ranking_score, product.heart_rank, product.rated_by) == (None, None, None, 9)
    assert not Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()


@pytest.mark.django_db
def test_staff_see_which_factors_tell_products_apart() -> None:
    rng = np.random.default_rng(11)
    campaign = _shampoo([1] * 5)
    others = [campaign_for(ProductFactory(category=campaign.category)) for _ in range(3)]
    for quality, c in zip((1.5, 2.5, 3.5, 4.5), [campaign, *others], strict=True):
        # factor 0 follows the product's quality; the others are noise around 3
        rows = [[int(np.clip(round(quality + rng.normal(0, 0.4)), 1, 5))] + [int(rng.integers(2, 5))] * 4]
        votes_cast(c, rows * 15)

    run = scoring.run_all(triggered_by="test")

    reliabilities = {r.factor.position: r for r in FactorReliability.objects.filter(run=run).select_related("factor")}
    ordered = sorted(reliabilities)
    assert reliabilities[ordered[0]].icc is not None and reliabilities[ordered[0]].icc > 0.8
    assert reliabilities[ordered[0]].products == 4


@pytest.mark.django_db
def test_votes_in_quick_succession_cause_one_rescore(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ratings.services.screen_soon", lambda **kwargs: None)  # screening has its own tests
    # given two verified purchasers of one product
    campaign = _shampoo([1] * 5)
    factor_ids = list(campaign.factors.values_list("pk", flat=True))
    invitations = [accepted_invitation(campaign=campaign) for _ in range(2)]

    # when both vote before the delayed re-score runs
    with django_capture_on_commit_callbacks() as callbacks:
        for invitation in invitations:
            vote_submit(invitation=invitation, user=invitation.user, scores=dict.fromkeys(factor_ids, 4))

    # then one re-score was enqueued and the campaign is flagged until it runs
    assert len(callbacks) == 1
    campaign.refresh_from_db()
    assert campaign.rescore_requested_at is not None
    assert scoring.campaign_rescore(campaign_id=campaign.pk) is not None
    assert scoring.campaign_rescore(campaign_id=campaign.pk) is None
    assert ProductResult.objects.get(product=campaign.product).counted == 2


@pytest.mark.django_db
def test_the_sweep_finds_flags_whose_rescore_never_ran() -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale, fresh = _shampoo([1] * 5), _shampoo([1] * 5)
    scoring.rescore_request(campaign_id=stale.pk, now=timezone.now() - timedelta(minutes=10))
    scoring.rescore_request(campaign_id=fresh.pk)

    assert scoring.rescores_due() == [stale.pk]


@pytest.mark.django_db
def test_a_category_that_fails_is_recorded_and_the_others_are_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = _shampoo([1] * 5), _shampoo([1] * 5)
    votes_cast(good, [[4] * 5] * 3)
    real = scoring._score_category

    def failing(**kwargs: Any) -> Any:
        if kwargs["category"].pk == bad.category_id:
            raise ValueError("a broken row")
        return real(**kwargs)

    monkeypatch.setattr(scoring, "_score_category", failing)

    run = scoring.run_all(triggered_by="test")

    assert run.status == ScoringRun.Status.FAILED
    assert "a broken row" in run.categories.get(category=bad.category).error
    assert ProductResult.objects.filter(product=good.product).exists()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_runs_the_nightly_scoring_through_redis(celery_worker: Any) -> None:
    campaigns = [_shampoo([1] * 5) for _ in range(3)]
    for campaign in campaigns:
        votes_cast(campaign, [[4] * 5] * 30)

    run_scoring.delay("worker")

    deadline = time.monotonic() + 60
    run = None
    while time.monotonic() < deadline:
        run = ScoringRun.objects.filter(status=ScoringRun.Status.FINISHED).first()
        if run:
            break
        time.sleep(0.2)
    assert run is not None, "the run did not finish"
    assert (run.products_scored, run.products_published) == (3, 3)
    assert ProductResult.objects.filter(is_latest=True, comprehensive=4.0).count() == 3


@pytest.mark.django_db
def test_a_nightly_run_with_nothing_to_score_is_recorded_as_finished() -> None:
    run_id = run_scoring.apply(kwargs={"triggered_by": "test"}).get()

    run = ScoringRun.objects.get(pk=run_id)
    assert run.status == ScoringRun.Status.FINISHED
    assert run.finished_at is not None
