"""Scores anyone can check: input fingerprints, and verify_scores recomputing a run on its own path (issue 18)."""

import csv
import hashlib
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import Product
from ratings import fingerprints, scoring
from ratings.models import Campaign, FactorScore, ProductResult, Vote
from tests.concurrency import run_at_once
from tests.factories import ProductFactory, rating_ready_category
from tests.moderation.factories import counterfeit_confirmed
from tests.ratings.eligibility_factories import set_policy
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _rated(scores: list[list[int]]) -> Campaign:
    product: Product = ProductFactory(category=rating_ready_category())
    campaign = campaign_for(product, opens_at=timezone.now() - timedelta(days=10))
    votes_cast(campaign, scores, created_at=timezone.now() - timedelta(days=2))
    return campaign


def _fingerprints(campaign: Campaign) -> tuple[str, str]:
    run = scoring.run_all(triggered_by="test")
    result = ProductResult.objects.get(product_id=campaign.product_id, is_latest=True)
    return result.input_fingerprint, run.input_fingerprint


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_scores", *args, stdout=out)
    return out.getvalue()


# --- Fingerprints ---------------------------------------------------------------------------------


def test_the_fingerprint_is_the_same_for_the_same_input_a_day_later() -> None:
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])

    first = _fingerprints(campaign)
    run = scoring.run_all(triggered_by="test", now=timezone.now() + timedelta(days=1))

    assert len(first[0]) == 64 and len(first[1]) == 64
    assert ProductResult.objects.get(product_id=campaign.product_id, is_latest=True).input_fingerprint == first[0]
    assert run.input_fingerprint == first[1]
    assert run.products_changed == 0, "the same input writes no result"


def _score_changed(campaign: Campaign) -> None:
    vote = Vote.objects.filter(campaign=campaign).order_by("pk").first()
    assert vote is not None
    scored = FactorScore.objects.filter(vote=vote).order_by("factor__position").first()
    assert scored is not None
    FactorScore.objects.filter(pk=scored.pk).update(score=1 if scored.score != 1 else 2)


def _vote_excluded(campaign: Campaign) -> None:
    Vote.objects.filter(pk=Vote.objects.filter(campaign=campaign).order_by("pk").values("pk")[:1]).update(
        verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION
    )


def _vote_added(campaign: Campaign) -> None:
    votes_cast(campaign, [[3, 3, 3, 3, 3]])  # now: a vote backdated before an earlier run would change that run


def _vote_swapped_for_the_same_scores(campaign: Campaign) -> None:
    # The histograms, and so every published figure, stay the same: only the fingerprint sees it.
    Vote.objects.filter(pk=Vote.objects.filter(campaign=campaign).order_by("-pk").values("pk")[:1]).delete()
    votes_cast(campaign, [[5, 5, 5, 5, 5]], created_at=timezone.now() - timedelta(hours=1))


@pytest.mark.parametrize(
    "change", [_score_changed, _vote_excluded, _vote_added, _vote_swapped_for_the_same_scores], ids=lambda f: f.__name__
)
def test_the_fingerprint_changes_for_any_changed_counted_vote(change: Callable[[Campaign], None]) -> None:
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])
    product_before, run_before = _fingerprints(campaign)

    change(campaign)
    product_after, run_after = _fingerprints(campaign)

    assert product_after != product_before
    assert run_after != run_before


def test_a_vote_that_does_not_count_leaves_the_fingerprint_alone() -> None:
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1]])
    before = _fingerprints(campaign)

    votes_cast(campaign, [[1, 1, 1, 1, 1]], verdict=Vote.Verdict.REVIEW)

    assert _fingerprints(campaign) == before


def test_the_votes_digest_is_the_documented_lines_in_vote_order() -> None:
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1]])
    scoring.run_all(triggered_by="test")
    result = ProductResult.objects.get(product_id=campaign.product_id, is_latest=True)

    lines = "".join(
        f"{vote} {factor} {score}\n"
        for vote, factor, score in FactorScore.objects.filter(product_id=campaign.product_id)
        .order_by("vote_id", "factor_id")
        .values_list("vote_id", "factor_id", "score")
    )
    factors = "".join(
        f"factor {pk} key {key} position {position} weight {weight}\n"
        for pk, key, position, weight in campaign.factors.order_by("position", "id").values_list(
            "pk", "factor_id", "position", "weight"
        )
    )
    text = (
        "little-red-heart input 1\n"
        f"method {result.method_version}\n"
        f"product {campaign.product_id} campaign {campaign.pk}\n"
        f"policy min_votes {result.min_votes} prior_strength {result.prior_strength} window_days 365\n"
        f"{factors}votes {hashlib.sha256(lines.encode()).hexdigest()}\n"
    )
    assert result.input_fingerprint == hashlib.sha256(text.encode()).hexdigest()


def _documented_digests(rows: list[tuple[int, int, int, int]]) -> dict[int, str]:
    """Per product of (product, vote, factor, score) rows: SHA-256 of its lines, written and ordered as documented."""
    return {
        pid: hashlib.sha256("".join(f"{v} {f} {s}\n" for p, v, f, s in sorted(rows) if p == pid).encode()).hexdigest()
        for pid in {row[0] for row in rows}
    }


def test_the_votes_digests_of_scores_read_in_any_order_are_the_documented_lines_of_each_product() -> None:
    # given: three products' scores as the job reads them, interleaved, ids of every width (9 then 10, …)
    rows = [
        (product, vote, factor, score)
        for product, votes in ((7, [9, 10, 1234567]), (31, [99, 100]), (12, [5]))
        for vote in votes
        for factor, score in ((8, 1), (10, 5), (123456, 3))
    ]
    shuffled = sorted(rows, key=lambda row: hashlib.sha256(repr(row).encode()).digest())
    product, vote, factor, score = (np.array(column) for column in zip(*shuffled, strict=True))

    # when
    digests = fingerprints.votes_digests(product=product, vote=vote, factor=factor, score=score, closer={})

    # then: per product, SHA-256 of "<vote> <factor> <score>\n" by vote then factor, as docs/verify.md says
    assert digests == _documented_digests(rows)


def test_the_votes_digests_of_scores_read_in_the_tables_order_are_those_of_the_documented_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: scores as a table scan returns them (by vote, then factor), products interleaved, ids dense: one
    # product's votes all of two digits (its lines alike in width), another's crossing from 9 to 10 and from
    # 99 to 100; chunks of a few rows, so that products are hashed over several chunks
    monkeypatch.setattr(fingerprints, "CHUNK_ROWS", 7)
    product_of = {
        vote: (7 if vote in (9, 10, 99, 100, 101) else 31 if 10 < vote < 99 else 12) for vote in range(1, 102)
    }
    rows = [
        (product_of[vote], vote, factor, 1 + (vote * factor) % 5)
        for vote in range(1, 102)
        for factor in (10, 11, 12, 13)
    ]
    product, vote, factor, score = (np.array(column) for column in zip(*rows, strict=True))

    # when
    digests = fingerprints.votes_digests(product=product, vote=vote, factor=factor, score=score, closer={})

    # then
    assert digests == _documented_digests(rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_vote_excluded_while_a_full_run_reads_the_scores_is_read_as_it_stood_at_the_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a moderator excludes a vote while the run is reading (at full scale the scores take ~10 s)
    campaign = _rated([[4, 4, 4, 4, 4], [2, 2, 2, 2, 2], [5, 5, 5, 5, 5]])
    excluded = Vote.objects.filter(campaign=campaign).order_by("pk").first()
    assert excluded is not None
    read_scores = scoring._scores_read

    def excluded_meanwhile(*args: object, **kwargs: object) -> scoring.ScoreRows:
        rows = read_scores(*args, **kwargs)  # type: ignore[arg-type]

        def exclude(_: int) -> int:
            return Vote.objects.filter(pk=excluded.pk).update(
                verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION
            )

        assert run_at_once(exclude, threads=1) == ([1], [])  # committed on a connection of its own
        return rows

    monkeypatch.setattr(scoring, "_scores_read", excluded_meanwhile)

    # when
    run = scoring.run_all(triggered_by="test")

    # then: every figure as the votes stood at the run's cut-off, when all three counted
    result = ProductResult.objects.get(product_id=campaign.product_id, is_latest=True)
    assert (result.voted, result.counted, result.excluded_moderation) == (3, 3, 0)
    assert {factor.votes for factor in result.factors.all()} == {3}
    assert _verify("--run", str(run.pk)).strip().endswith("0 differ")


# --- verify_scores --------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_verify_scores_finds_no_difference_after_a_real_run_on_generated_data(tmp_path: Path) -> None:
    call_command("seed", "--scale", "demo", "--as-of", "2026-11-01", verbosity=0)
    run = scoring.run_all(triggered_by="test")
    assert run.products_published >= 20

    from_database = _verify()
    from_files = _verify("--write-export", str(tmp_path))
    from_export = _verify("--export", str(tmp_path))

    assert f"run {run.pk}: " in from_database and from_database.strip().endswith("0 differ")
    assert from_files.strip().endswith("0 differ") and from_export.strip().endswith("0 differ")
    assert {path.name for path in tmp_path.iterdir()} >= {"votes.csv", "scores.csv", "results.csv", "run.csv"}


@pytest.mark.postgres
def test_verify_scores_recomputes_a_product_re_score_with_the_prior_it_recorded() -> None:
    set_policy(min_votes_to_publish=2)
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])
    _rated([[3, 3, 3, 3, 3], [4, 4, 4, 4, 4]])
    scoring.run_all(triggered_by="test")
    _vote_added(campaign)
    scoring.rescore_request(campaign_id=campaign.pk)

    rescore = scoring.campaign_rescore(campaign_id=campaign.pk)

    assert rescore is not None and rescore.products_changed == 1 and rescore.input_fingerprint
    assert _verify("--run", str(rescore.pk)).strip().endswith("0 differ")
    assert _verify("--all").count(" 0 differ") == 2, "the full run before it too"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "tamper",
    [
        {"ranking_score": F("ranking_score") + 0.01},
        {"counted": F("counted") + 1, "voted": F("voted") + 1},
        {"input_fingerprint": "0" * 64},
    ],
    ids=["ranking score", "counted votes", "fingerprint"],
)
def test_verify_scores_names_the_product_of_a_tampered_result_row(tamper: dict[str, object]) -> None:
    set_policy(min_votes_to_publish=2)
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])
    _rated([[3, 3, 3, 3, 3], [4, 4, 4, 4, 4]])
    run = scoring.run_all(triggered_by="test")
    assert _verify("--run", str(run.pk)).strip().endswith("0 differ")

    ProductResult.objects.filter(product_id=campaign.product_id, is_latest=True).update(**tamper)

    out = StringIO()
    with pytest.raises(CommandError, match="differ"):
        call_command("verify_scores", "--run", str(run.pk), stdout=out)
    differences = [line for line in out.getvalue().splitlines() if line.startswith("  ")]
    assert differences and all(line.startswith(f"  product {campaign.product_id}:") for line in differences)


@pytest.mark.postgres
def test_verify_scores_leaves_a_product_held_for_a_confirmed_counterfeit_off_the_list() -> None:
    set_policy(min_votes_to_publish=2, list_threshold=1)
    campaign = _rated([[5, 5, 5, 5, 5], [5, 5, 5, 5, 4], [5, 4, 5, 5, 5]])
    counterfeit_confirmed(campaign.product)

    run = scoring.run_all(triggered_by="test")

    assert run.products_listed == 0 and run.products_published == 1
    assert _verify("--run", str(run.pk)).strip().endswith("0 differ")


@pytest.mark.postgres
def test_verify_scores_catches_a_tampered_export(tmp_path: Path) -> None:
    set_policy(min_votes_to_publish=2)
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])
    run = scoring.run_all(triggered_by="test")
    assert _verify("--run", str(run.pk), "--write-export", str(tmp_path)).strip().endswith("0 differ")

    # one counted score changed in the file, as an auditor handed a doctored set would receive it
    path = tmp_path / "scores.csv"
    rows = list(csv.reader(path.open()))
    rows[1][4] = "1" if rows[1][4] != "1" else "2"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)

    printed = StringIO()
    with pytest.raises(CommandError, match="differ"):
        call_command("verify_scores", "--export", str(tmp_path), stdout=printed)
    assert f"product {campaign.product_id}: input fingerprint" in printed.getvalue()
    assert f"product {campaign.product_id}: factor" in printed.getvalue()


def test_verify_scores_refuses_a_run_that_does_not_exist() -> None:
    with pytest.raises(CommandError, match="no finished scoring run|PostgreSQL"):
        call_command("verify_scores", "--run", "999999", stdout=StringIO())


# --- The product page -----------------------------------------------------------------------------


def _page(client: Client, product: Product, language: str) -> str:
    return client.get(product.get_absolute_url(), headers={"accept-language": language}).content.decode()


def test_the_product_page_says_what_the_score_was_computed_from_and_links_to_how_to_verify(client: Client) -> None:
    set_policy(min_votes_to_publish=2)
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1], [5, 5, 5, 5, 5]])
    scoring.run_all(triggered_by="test")
    result = ProductResult.objects.get(product_id=campaign.product_id, is_latest=True)
    day = timezone.localtime(result.data_cutoff).strftime("%Y-%m-%d")

    page = _page(client, campaign.product, "en")
    methodology = client.get(reverse("ratings:methodology"), headers={"accept-language": "en"}).content.decode()

    assert f"Computed from 3 votes on {day} · fingerprint" in page
    assert f'<code lang="zxx" title="{result.input_fingerprint}">{result.input_fingerprint[:4]}…</code>' in page
    assert f'href="{reverse("ratings:methodology")}#verify">How to verify</a>' in page
    assert '<section id="verify">' in methodology and "verify_scores" in methodology


def test_the_chinese_product_page_says_it_too(client: Client) -> None:
    with translation.override("zh-hans"):
        if translation.gettext("How to verify") == "How to verify":
            pytest.skip("translations not compiled yet")
    set_policy(min_votes_to_publish=2)
    campaign = _rated([[4, 4, 3, 5, 4], [2, 3, 3, 4, 1]])
    scoring.run_all(triggered_by="test")

    page = _page(client, campaign.product, "zh-hans")

    with translation.override("zh-hans"):
        assert translation.gettext("How to verify") in page
    assert "How to verify" not in page and "Computed from" not in page
