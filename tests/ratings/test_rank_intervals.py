"""The uncertainty shown (issue 18, item 6): rank intervals from a bootstrap over raters, how far raters
agree in words, and the score had the held and excluded votes counted."""

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import Product
from ratings import rank_intervals, scoring, statistics
from ratings.models import Campaign, HeartListEntry, RatingPolicy, Vote
from tests.factories import ProductFactory, UserFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

# --- The bootstrap, in numpy ---------------------------------------------------------------------


def _simulated(seed: int, *, products: int = 25, raters_each: int = 60, strength: int = 10) -> tuple[Any, ...]:
    """A category whose true order is known: products with true means spread over 2.5–4.5, each rated by
    its raters with noise. Returns the bootstrap's arguments (in the order of the observed places, the
    votes binned by product and score) and each product's true place in that order."""
    rng = np.random.default_rng(seed)
    true_mean = rng.uniform(2.5, 4.5, products)
    vote_product = np.repeat(np.arange(products), raters_each)
    vote_score = np.clip(np.rint(true_mean[vote_product] + rng.normal(0, 1, len(vote_product))), 1, 5)
    comprehensive = np.array([vote_score[vote_product == p].mean() for p in range(products)])
    counted = np.full(products, raters_each, dtype=float)
    prior = float(vote_score.mean())
    ranking = (counted * comprehensive + strength * prior) / (counted + strength)
    order = np.lexsort((np.arange(products), -ranking))
    place_of = np.empty(products, dtype=int)
    place_of[order] = np.arange(products)
    true_place = np.empty(products, dtype=int)
    true_place[np.argsort(-true_mean)] = np.arange(1, products + 1)
    bins, votes = np.unique(np.stack([place_of[vote_product], vote_score], axis=1), axis=0, return_counts=True)
    arguments = {
        "ranking": ranking[order],
        "comprehensive": comprehensive[order],
        "counted": counted[order],
        "bin_product": bins[:, 0].astype(np.int64),
        "bin_score": bins[:, 1],
        "bin_votes": votes,
        "prior": prior,
        "prior_strength": strength,
    }
    return arguments, true_place[order]


def test_the_intervals_hold_the_true_place_at_about_their_nominal_rate() -> None:
    covered, total = 0, 0
    for seed in range(40):
        arguments, true_place = _simulated(seed)
        figures = rank_intervals.rank_intervals(**arguments, seed=seed)
        covered += int(((figures.low <= true_place) & (true_place <= figures.high)).sum())
        total += len(true_place)

    coverage = covered / total
    assert coverage >= 0.85, coverage  # nominal 90%; 0.944 measured over these 1,000 products


def test_the_same_votes_and_category_give_the_same_intervals() -> None:
    arguments, _ = _simulated(7)

    first = rank_intervals.rank_intervals(**arguments, seed=12)
    second = rank_intervals.rank_intervals(**arguments, seed=12)

    assert first.low.tolist() == second.low.tolist() and first.high.tolist() == second.high.tolist()


def test_every_place_lies_in_its_own_interval_and_a_clear_leader_is_certain() -> None:
    arguments, _ = _simulated(3)
    arguments["ranking"] = arguments["ranking"].copy()
    arguments["comprehensive"] = arguments["comprehensive"].copy()
    arguments["ranking"][0] = arguments["comprehensive"][0] = 9.0  # far ahead of the rest

    figures = rank_intervals.rank_intervals(**arguments, seed=1)

    places = np.arange(1, len(figures.low) + 1)
    assert ((figures.low <= places) & (places <= figures.high)).all()
    assert (figures.low[0], figures.high[0]) == (1, 1)
    assert (figures.high - figures.low).max() > 0  # the close ones are not all certain


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (0.1, "lack"), (0.3, "weak"), (0.55, "moderate"), (0.7, "strong"), (0.95, "very_strong")],
)
def test_agreement_falls_in_the_bands_of_lebreton_and_senter(value: float | None, expected: str | None) -> None:
    assert statistics.band(value, statistics.AGREEMENT_BANDS) == expected


@pytest.mark.parametrize(("value", "expected"), [(0.2, "poor"), (0.5, "moderate"), (0.8, "good"), (0.9, "excellent")])
def test_reliability_falls_in_the_bands_of_koo_and_li(value: float, expected: str) -> None:
    assert statistics.band(value, statistics.RELIABILITY_BANDS) == expected


# --- The scoring job and the pages ---------------------------------------------------------------


def _policy(**values: Any) -> None:
    defaults = {"min_votes_to_publish": 3, "prior_strength": 0, "list_threshold": 1, "list_size": 10} | values
    RatingPolicy.objects.update_or_create(pk=1, defaults=defaults)


def _close_category(products: int = 4) -> list[Campaign]:
    """Products whose scores are close enough that their places are uncertain, and one far ahead."""
    category = rating_ready_category()
    campaigns = []
    for i in range(products):
        campaign = campaign_for(ProductFactory(category=category))
        lean = [5, 5, 4] if i == 0 else [4, 3, 3 + i % 2]
        votes_cast(campaign, [[lean[k % 3]] * 5 for k in range(12)] + [[5] * 5, [2] * 5, [4] * 5])
        campaigns.append(campaign)
    return campaigns


pages = pytest.mark.django_db


@pages
def test_the_nightly_run_stores_an_interval_holding_each_place_and_a_rerun_agrees() -> None:
    _policy()
    _close_category()

    first = scoring.run_all(triggered_by="test")
    entries = list(HeartListEntry.objects.filter(run=first).order_by("rank"))
    second = scoring.run_all(triggered_by="test")

    assert len(entries) == 4
    assert all(e.rank_low is not None and e.rank_low <= e.rank <= e.rank_high for e in entries)
    assert (entries[0].rank_low, entries[0].rank_high) == (1, 1)
    assert any(e.rank_high > e.rank_low for e in entries)
    again = HeartListEntry.objects.filter(run=second).order_by("rank").values_list("rank_low", "rank_high")
    assert list(again) == [(e.rank_low, e.rank_high) for e in entries]
    products = Product.objects.filter(heart_rank__isnull=False).values_list(
        "heart_rank", "heart_rank_low", "heart_rank_high"
    )
    assert sorted(products) == [(e.rank, e.rank_low, e.rank_high) for e in entries]


@pages
def test_the_database_refuses_an_interval_that_misses_its_place() -> None:
    _policy()
    _close_category(products=2)
    run = scoring.run_all(triggered_by="test")
    entry = HeartListEntry.objects.filter(run=run).first()
    assert entry is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        HeartListEntry.objects.filter(pk=entry.pk).update(rank_low=entry.rank + 1, rank_high=entry.rank + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=entry.product_id).update(heart_rank=None)


@pages
def test_a_rescore_keeps_the_nightly_interval_widened_to_the_new_place() -> None:
    _policy()
    campaigns = _close_category()
    scoring.run_all(triggered_by="test")
    last = Product.objects.get(heart_rank=4)
    low, high = last.heart_rank_low, last.heart_rank_high
    campaign = next(c for c in campaigns if c.product_id == last.pk)
    votes_cast(campaign, [[5] * 5] * 40)

    scoring.rescore_request(campaign_id=campaign.pk)
    scoring.campaign_rescore(campaign_id=campaign.pk)

    last.refresh_from_db()
    assert last.heart_rank is not None and last.heart_rank < 4
    assert (last.heart_rank_low, last.heart_rank_high) == (min(low, last.heart_rank), max(high, last.heart_rank))


@pages
def test_a_full_run_with_nothing_new_keeps_the_intervals_and_one_after_a_rescore_computes_them_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _policy()
    campaigns = _close_category()
    scoring.run_all(triggered_by="test")
    before = sorted(Product.objects.filter(heart_rank__isnull=False).values_list("pk", "heart_rank_low"))
    computed: list[int] = []
    original = scoring._rank_intervals

    def counted(**kwargs: Any) -> Any:
        computed.append(kwargs["category_id"])
        return original(**kwargs)

    monkeypatch.setattr(scoring, "_rank_intervals", counted)

    scoring.run_all(triggered_by="test")
    kept = sorted(Product.objects.filter(heart_rank__isnull=False).values_list("pk", "heart_rank_low"))
    scoring.rescore_request(campaign_id=campaigns[1].pk)
    votes_cast(campaigns[1], [[4] * 5])
    scoring.campaign_rescore(campaign_id=campaigns[1].pk)
    scoring.run_all(triggered_by="test")

    assert kept == before
    assert computed == [campaigns[0].category_id]  # only the run after the re-score


@pages
def test_list_and_category_cards_show_the_interval(client: Client) -> None:
    _policy()
    _close_category()
    scoring.run_all(triggered_by="test")
    cache.clear()
    uncertain = Product.objects.filter(heart_rank__isnull=False).exclude(heart_rank_low=F("heart_rank_high")).first()
    assert uncertain is not None

    listing = client.get(reverse("ratings:heart_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    category = client.get(uncertain.category.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    words = f"likely #{uncertain.heart_rank_low}–#{uncertain.heart_rank_high}"
    assert words in listing and words in category
    assert "place certain" in listing  # the clear leader


@pages
@pytest.mark.parametrize("path", ["ratings:heart_list", "category"])
def test_pages_with_intervals_run_the_same_queries_however_many_products(
    client: Client, django_assert_num_queries: Any, path: str
) -> None:
    _policy()
    few = _close_category(products=2)
    scoring.run_all(triggered_by="test")
    url = few[0].category.get_absolute_url() if path == "category" else reverse(path)
    cache.clear()
    with CaptureQueriesContext(connection) as baseline:
        client.get(url)
    category = few[0].category
    for _ in range(5):
        votes_cast(campaign_for(ProductFactory(category=category)), [[4] * 5, [3] * 5, [5] * 5])
    scoring.run_all(triggered_by="test")
    cache.clear()

    with django_assert_num_queries(len(baseline)):
        html = client.get(url).content.decode()

    assert html.count('class="rank-interval"') == 7


def _rated_with_held(*, counted: int, held: int, excluded: int = 0) -> Campaign:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[5, 5, 4, 3, 3]] * counted)
    votes_cast(campaign, [[1] * 5] * held, verdict=Vote.Verdict.REVIEW)
    votes_cast(
        campaign,
        [[2] * 5] * excluded,
        verdict=Vote.Verdict.EXCLUDED,
        exclusion_reason=Vote.ExclusionReason.SCREENING,
    )
    return campaign


@pages
def test_the_product_page_gives_the_score_had_the_held_and_excluded_votes_counted(client: Client) -> None:
    _policy()
    campaign = _rated_with_held(counted=4, held=1, excluded=2)
    scoring.run_all(triggered_by="test")

    html = client.get(campaign.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # counted: factor means 5, 5, 4, 3, 3 (score 4.0); with a vote of 1s and two of 2s added to each factor
    expected = sum((4 * mean + 1 + 2 * 2) / 7 for mean in (5, 5, 4, 3, 3)) / 5
    assert "<strong>4.0</strong>" in html
    assert f"Had all 3 held or excluded votes been counted: {expected:.1f}." in html


@pages
def test_one_held_vote_reads_in_the_singular_and_none_shows_no_line(client: Client) -> None:
    _policy()
    one = _rated_with_held(counted=3, held=1)
    none = _rated_with_held(counted=3, held=0)
    scoring.run_all(triggered_by="test")

    with_one = client.get(one.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    without = client.get(none.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # (3 × 4.0 + 1) / 4 = 3.25 over the factors, rounded half up as every score on the page
    assert "Had the 1 held or excluded vote been counted: 3.3." in with_one
    assert "held or excluded vote" not in without


@pages
def test_the_product_page_says_how_far_raters_agree_on_each_factor(client: Client) -> None:
    _policy()
    category = rating_ready_category()
    agreed = campaign_for(ProductFactory(category=category))
    # all agree on the first factor, split on the last
    votes_cast(agreed, [[5, 4, 4, 4, s] for s in (5, 1, 5, 1, 3)])
    other = campaign_for(ProductFactory(category=category))
    votes_cast(other, [[2, 3, 3, 2, 3], [2, 3, 3, 3, 3], [3, 3, 2, 3, 3], [2, 3, 3, 3, 3]])
    scoring.run_all(triggered_by="test")

    html = client.get(agreed.product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "How far raters agree" in html
    assert "raters agree very strongly" in html  # rwg 1 on the first factor
    assert "raters disagree" in html  # rwg below 0.3 on the second
    assert "tells this category&#x27;s products apart" in html
    assert reverse("ratings:methodology") + "#agreement" in html


@pages
def test_the_product_page_runs_the_same_queries_with_few_or_many_held_votes(
    client: Client, django_assert_num_queries: Any
) -> None:
    _policy()
    client.force_login(UserFactory())  # past the anonymous page cache
    small = _rated_with_held(counted=3, held=1)
    big = _rated_with_held(counted=20, held=6, excluded=9)
    scoring.run_all(triggered_by="test")
    client.get("/")  # the signed-in header's figures are kept from here on, for every page alike
    with CaptureQueriesContext(connection) as small_cold:
        client.get(small.product.get_absolute_url())

    with django_assert_num_queries(len(small_cold)):
        client.get(big.product.get_absolute_url())


@pages
def test_the_methodology_page_states_the_bands(client: Client) -> None:
    html = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "LeBreton &amp; Senter (2008)" in html and "Koo &amp; Li (2016)" in html
    assert "0.70–0.90 strongly" in html and "0.75–0.90 well" in html
    assert 'id="rank-intervals"' in html


@pages
def test_the_chinese_cards_and_page_speak_chinese(client: Client) -> None:
    with translation.override("zh-hans"):
        if translation.gettext("raters agree strongly") == "raters agree strongly":
            pytest.skip("translations not compiled yet")
    _policy()
    campaigns = _close_category()
    scoring.run_all(triggered_by="test")
    cache.clear()

    listing = client.get(reverse("ratings:heart_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    page = client.get(campaigns[0].product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "likely #" not in listing and "place certain" not in listing
    assert "raters agree" not in page


@pages
def test_the_api_gives_each_listed_product_its_interval(client: Client) -> None:
    _policy()
    _close_category()
    scoring.run_all(triggered_by="test")
    cache.clear()

    body = client.get(reverse("api-v1:list")).json()

    cards = body["categories"][0]["products"]
    stored = Product.objects.filter(heart_rank__isnull=False).order_by("heart_rank")
    expected = [(p.heart_rank, p.heart_rank_low, p.heart_rank_high) for p in stored]
    assert [(c["heart_rank"], c["heart_rank_low"], c["heart_rank_high"]) for c in cards] == expected
    assert all(low is not None for _, low, _ in expected)


@pages
def test_a_vote_scores_its_weighted_mean_over_its_factors_when_they_weigh_unequally() -> None:
    category = rating_ready_category()
    for factor, weight in zip(category.factors.order_by("position", "id"), [4, 1, 1, 1, 1], strict=True):
        factor.weight = Decimal(weight)
        factor.save(update_fields=["weight"])
    weighted = campaign_for(ProductFactory(category=category))
    plain = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(weighted, [[5, 1, 1, 1, 1]] * 2 + [[1] * 5])
    votes_cast(plain, [[5, 1, 1, 1, 1]])
    window = scoring.Window.ending(timezone.now(), days=365)

    scores = scoring._read_inputs(None, window).vote_scores

    assert sorted(zip(*scores[weighted.product_id], strict=True)) == [(1.0, 1), (pytest.approx(24 / 8), 2)]
    assert scores[plain.product_id] == ([pytest.approx(9 / 5)], [1])
