"""Vote screening (moderation.fraud): each signal on a hand-built scenario, the screener's contract,
CSV input, and a small end-to-end evaluation. Pure numpy/scikit-learn: no database."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from moderation.fraud.attacks import inject, synthetic_dataset, template_comment
from moderation.fraud.data import RatingFileError, RatingTable
from moderation.fraud.features import DAY, rater_features
from moderation.fraud.models import Screener
from moderation.fraud.rules import REASON_TEXT_EN, WEIGHTS, Reason, apply_rules

SCENARIO_USERS = 50_000_000  # ids far from the background's


@pytest.fixture(scope="module")
def background() -> RatingTable:
    """A small honest platform: 600 raters, 15 products, six months."""
    return synthetic_dataset(600, 15, rng=np.random.default_rng(3))


def scenario(
    count: int,
    *,
    product: int,
    times: np.ndarray,
    scores: list[float] | np.ndarray,
    first_user: int = SCENARIO_USERS,
    device: int | np.ndarray = -1,
    network: int | np.ndarray = -1,
    seconds: float = 120.0,
    age: float = 400.0,
    purchases: float = 12.0,
    comments: list[str] | None = None,
) -> RatingTable:
    """``count`` votes on ``product`` by new accounts, one vote each."""
    matrix = np.broadcast_to(np.asarray(scores, dtype=np.float64), (count, len(scores)))
    users = np.arange(first_user, first_user + count)
    own = users * 7 + 1  # a fingerprint per account unless one is given
    return RatingTable.from_arrays(
        vote_id=users + 10**9,
        user_id=users,
        product_id=np.full(count, product),
        brand_id=np.full(count, -1),
        timestamp=np.asarray(times, dtype=np.float64),
        scores=matrix,
        seconds_to_fill=np.full(count, seconds),
        device=np.broadcast_to(np.asarray(device), (count,)) if np.any(np.asarray(device) >= 0) else own,
        network=np.broadcast_to(np.asarray(network), (count,)) if np.any(np.asarray(network) >= 0) else own,
        account_age_days=np.full(count, age),
        purchases=np.full(count, purchases),
        comment=comments,
    )


def reasons_of(table: RatingTable) -> list[list[Reason]]:
    return apply_rules(table, rater_features(table)).reasons.as_lists()


def codes(reasons: list[Reason]) -> set[str]:
    return {reason.code for reason in reasons}


def middle_of(table: RatingTable) -> float:
    return float(np.median(table.timestamp))


def weakest_product(table: RatingTable) -> int:
    """The product with the lowest mean among those with plenty of votes: pushing it to 5 stands out."""
    products, inverse, counts = np.unique(table.product_id, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=table.vote_mean) / counts
    means[counts < 100] = np.inf
    return int(products[np.argmin(means)])


# --- each signal ----------------------------------------------------------------------------------------


def test_a_ring_of_accounts_on_one_device_is_excluded_with_a_shared_device_reason(background: RatingTable) -> None:
    # given six accounts on one phone rating the same product within an hour
    start = middle_of(background)
    ring = scenario(
        6,
        product=int(background.product_id[0]),
        times=start + np.arange(6) * 600,
        scores=[4, 5, 4, 5, 4],
        device=424242,
    )
    table = background.concat(ring)
    # when
    result = Screener().fit(table).score(table)
    # then
    for row in range(len(table) - 6, len(table)):
        assert result.verdict[row] == "excluded"
        shared = [reason for reason in result.reasons[row] if reason.code == "shared_device"]
        assert shared == [Reason("shared_device", {"accounts": 6, "hours": 2})]
        assert shared[0].text() == "6 accounts on one device rated this product within 2 hours"


def test_a_burst_of_votes_pushing_a_product_gets_a_burst_reason_and_ordinary_votes_do_not(
    background: RatingTable,
) -> None:
    product = weakest_product(background)
    start = middle_of(background)
    rng = np.random.default_rng(1)
    burst = scenario(60, product=product, times=start + rng.uniform(0, 2 * DAY, 60), scores=[5, 5, 5, 4, 5, 5])
    table = background.concat(burst)

    reasons = reasons_of(table)

    pushed = [codes(r) for r in reasons[len(background) :]]
    assert sum("burst" in c for c in pushed) >= 55
    burst_reason = next(r for r in reasons[-1] if r.code == "burst")
    assert int(burst_reason.params["votes"]) >= 60
    # the product's own votes away from the burst (by more than the 7-day window) are left alone
    away = (table.product_id == product) & (np.abs(table.timestamp - start) > 6 * DAY)
    away[len(background) :] = False
    assert np.count_nonzero(away) > 50
    assert not any("burst" in codes(reasons[i]) for i in np.flatnonzero(away))


def test_straight_lining_is_a_reason_only_with_several_factors() -> None:
    table = RatingTable.from_arrays(
        user_id=[1, 2, 3],
        product_id=[9, 9, 9],
        timestamp=[0.0, 10.0, 20.0],
        scores=[[4, 4, 4, 4, 4, 4], [4, 3, 5, 4, 2, 4], [4, np.nan, np.nan, np.nan, np.nan, np.nan]],
    )

    reasons = reasons_of(table)

    assert [r for r in reasons[0] if r.code == "straight_line"] == [Reason("straight_line", {"factors": 6, "score": 4})]
    assert "straight_line" not in codes(reasons[1])
    assert "straight_line" not in codes(reasons[2])  # one overall rating cannot straight-line


def test_template_comments_across_accounts_are_near_duplicates_with_their_count(background: RatingTable) -> None:
    rng = np.random.default_rng(5)
    writers = scenario(
        8,
        product=int(background.product_id[3]),
        times=middle_of(background) + rng.uniform(0, 20 * DAY, 8),
        scores=[5, 5, 4, 5, 5],
        comments=[template_comment(rng, 2) for _ in range(8)],
    )
    fans = scenario(
        20,
        first_user=SCENARIO_USERS + 100,
        product=int(background.product_id[3]),
        times=middle_of(background) + rng.uniform(0, 20 * DAY, 20),
        scores=[5, 4, 4, 5, 4],
        comments=["Good value, love it!"] * 20,  # short and common: never judged
    )
    table = background.concat(writers).concat(fans)

    reasons = reasons_of(table)

    for row in range(len(background), len(background) + 8):
        assert Reason("near_duplicate", {"copies": 7}) in reasons[row]
    assert REASON_TEXT_EN["near_duplicate"] % {"copies": 7} == "comment is a near-copy of 7 others"
    for row in range(len(background) + 8, len(table)):
        assert "near_duplicate" not in codes(reasons[row])


def test_a_new_account_with_a_three_second_fill_gets_both_reasons_and_a_review(background: RatingTable) -> None:
    hurried = scenario(
        1,
        product=int(background.product_id[1]),
        times=np.array([middle_of(background)]),
        scores=[3, 5, 1, 4, 5],
        seconds=3.0,
        age=1.5,
        purchases=0.0,
    )
    table = background.concat(hurried)

    result = Screener().fit(table).score(table)

    found = {reason.code: reason for reason in result.reasons[-1]}
    assert found["fast_fill"] == Reason("fast_fill", {"seconds": 3, "factors": 5})
    assert found["new_account"] == Reason("new_account", {"days": 1})
    assert "no_history" in found
    assert result.verdict[-1] == "review"
    assert result.score[-1] >= 0.5


def test_a_co_rating_group_gets_a_ring_reason_and_review_but_not_exclusion() -> None:
    # given 25 accounts that each rate the same two quiet products on the same day, on a platform
    # with a couple of hundred raters a week (with fewer, or on two popular products, 25 raters of
    # both in one week is what chance and habit predict: the group is most of the week's raters)
    background = synthetic_dataset(2000, 60, rng=np.random.default_rng(3))
    rng = np.random.default_rng(8)
    start = float(np.quantile(background.timestamp, 0.3))
    products, votes = np.unique(background.product_id, return_counts=True)
    quiet = products[np.argsort(votes)[:2]]
    first = scenario(25, product=int(quiet[0]), times=start + rng.uniform(0, DAY, 25), scores=[4, 4, 5, 4, 4])
    second = scenario(25, product=int(quiet[1]), times=start + rng.uniform(0, DAY, 25), scores=[5, 4, 4, 4, 5])
    second.vote_id += 1000
    table = background.concat(first).concat(second)

    rules = apply_rules(table, rater_features(table))
    reasons = rules.reasons.as_lists()

    for row in range(len(background), len(table)):
        ring = [r for r in reasons[row] if r.code == "ring"]
        # the other 24 ring accounts, plus any honest rater who happened to rate both that week
        assert ring and 24 <= int(ring[0].params["accounts"]) <= 28
        assert rules.score[row] >= 0.5
    # such a bystander is in the group too: reviewed with it, never excluded for it
    bystanders = {int(u) for u, r in zip(table.user_id, reasons, strict=True) if "ring" in codes(r)}
    assert len(bystanders - set(range(SCENARIO_USERS, SCENARIO_USERS + 25))) <= 3
    assert not rules.strong.any()


def test_a_genuine_rater_is_counted_with_no_reasons(background: RatingTable) -> None:
    product = int(background.product_id[2])
    factors = int(np.max(np.sum(~np.isnan(background.scores[background.product_id == product]), axis=1)))
    typical = np.round(np.nanmean(background.scores[background.product_id == product][:, :factors], axis=0))
    honest = scenario(
        1,
        product=product,
        times=np.array([middle_of(background)]),
        scores=np.clip(typical + np.resize([0, 1, -1, 0], factors), 1, 5),
        comments=["The scent is lovely and it lasts a long time on my hair, the bottle is a bit big"],
    )
    table = background.concat(honest)

    result = Screener().fit(table).score(table)

    assert result.verdict[-1] == "counted"
    assert result.reasons[-1] == []
    assert result.score[-1] < 0.5


# --- the screener's contract ---------------------------------------------------------------------------------


def test_the_screener_round_trips_through_bytes_with_identical_scores(background: RatingTable) -> None:
    screener = Screener().fit(background)
    stored = screener.to_bytes()

    restored = Screener.from_bytes(stored)

    assert restored.version == screener.version and restored.version
    assert restored.metrics == screener.metrics
    before, after = screener.score(background), restored.score(background)
    assert np.array_equal(before.score, after.score)
    assert np.array_equal(before.verdict, after.verdict)


def test_foreign_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="not a stored screener"):
        Screener.from_bytes(b"\x80\x04K\x01.")


def test_fixed_seeds_give_identical_data_and_scores() -> None:
    first = synthetic_dataset(300, 12, rng=np.random.default_rng(11))
    second = synthetic_dataset(300, 12, rng=np.random.default_rng(11))
    assert np.array_equal(first.scores, second.scores, equal_nan=True)
    assert first.comment == second.comment

    one = Screener().fit(first, random_state=4).score(first)
    two = Screener().fit(second, random_state=4).score(second)

    assert np.array_equal(one.score, two.score)
    assert one.reasons == two.reasons


def test_supervised_training_kicks_in_with_enough_labels_and_reports_metrics(background: RatingTable) -> None:
    # given managers' decisions on 300 votes: the hurried new accounts were excluded
    rng = np.random.default_rng(2)
    hurried = scenario(
        60,
        product=int(background.product_id[4]),
        times=rng.choice(background.timestamp, 60),
        scores=[5, 5, 5, 5, 5],
        seconds=4.0,
        age=2.0,
        purchases=0.0,
        comments=[f"Best product ever, buy it now, number {i}" for i in range(60)],
    )
    table = background.concat(hurried)
    labels = np.full(len(table), np.nan)
    labels[rng.choice(len(background), 240, replace=False)] = 0.0
    labels[len(background) :] = 1.0

    screener = Screener().fit(table, labels)

    assert screener.metrics["supervised"] is True
    assert screener.metrics["labelled_votes"] == 300
    assert screener.metrics["positive_share"] == pytest.approx(0.2)
    assert screener.metrics["cv_auc_blend"] > 0.9
    result = screener.score(table)
    assert np.all(~np.isnan(result.model_probability))
    assert np.mean(result.flagged[len(background) :]) > 0.9

    # and with fewer labels than min_labels it stays unsupervised
    few = np.where(np.arange(len(table)) % 50 == 0, labels, np.nan)
    assert Screener().fit(table, few).metrics["supervised"] is False


# --- CSV input ---------------------------------------------------------------------------------------------


def test_a_ratings_csv_with_text_and_label_columns_loads_as_documented(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(
        "user_id,product_id,rating,timestamp,text,label\n"
        'alice,p-1,5,2025-03-01T10:00:00Z,"Lovely, really",0\n'
        "bob,p-1,1,1740823200,,1\n"
        "alice,p-2,3,1740823200,meh,\n",
        encoding="utf-8",
    )

    table, labels = RatingTable.from_csv(path)

    assert len(table) == 3
    assert table.scores.shape == (3, 1)
    assert table.user_id[0] == table.user_id[2] != table.user_id[1]
    assert table.timestamp[0] == 1740823200.0  # ISO 8601 and epoch seconds agree
    assert table.comment == ["Lovely, really", "", "meh"]
    assert np.isnan(table.seconds_to_fill).all() and (table.device == -1).all()
    assert labels is not None
    assert labels[:2].tolist() == [0.0, 1.0] and np.isnan(labels[2])


def test_a_separate_per_rater_labels_file_labels_every_vote_of_the_rater(tmp_path: Path) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(
        "user_id,product_id,rating,timestamp\n7,1,4,100\n8,1,5,200\n7,2,2,300\n9,2,3,400\n", encoding="utf-8"
    )
    labels_file = tmp_path / "labels.csv"
    labels_file.write_text("user_id,label\n7,1\n8,0\n", encoding="utf-8")

    table, labels = RatingTable.from_csv(ratings, labels_file)

    assert table.user_id.tolist() == [7, 8, 7, 9]
    assert labels is not None
    assert labels[:3].tolist() == [1.0, 0.0, 1.0] and np.isnan(labels[3])


def test_a_ratings_file_without_a_rating_column_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user_id,product_id,timestamp\n1,2,3\n", encoding="utf-8")
    with pytest.raises(RatingFileError, match="rating"):
        RatingTable.from_csv(path)


def test_a_dataset_with_one_overall_rating_still_screens(background: RatingTable) -> None:
    overall = RatingTable.from_arrays(
        user_id=background.user_id,
        product_id=background.product_id,
        timestamp=background.timestamp,
        scores=np.round(background.vote_mean),
    )

    result = Screener().fit(overall).score(overall)

    assert len(result) == len(overall)
    assert np.mean(result.verdict == "counted") > 0.95


# --- the evaluation ------------------------------------------------------------------------------------------


def test_fraud_eval_on_generated_data_catches_a_ring() -> None:
    out = io.StringIO()

    call_command(
        "fraud_eval",
        *("--inject", "ring", "--users", "1500", "--products", "60", "--seed", "3", "--seeds", "1"),
        stdout=out,
    )

    rows = [line.split() for line in out.getvalue().splitlines() if line.startswith("ring ")]
    assert len(rows) == 2  # detection, then shifts
    auc, precision, recall = (float(rows[0][i].split("±")[0]) for i in (4, 5, 6))
    assert recall >= 0.9
    assert precision >= 0.8
    assert auc >= 0.9
    assert "peak memory" in out.getvalue()


def test_fraud_eval_measures_an_external_ratings_file_against_its_labels_file(tmp_path: Path) -> None:
    # given an exported dataset with one overall rating, in which 75 accounts pushed one product,
    # and a labels file for some of them and a few honest raters
    honest = synthetic_dataset(1500, 60, rng=np.random.default_rng(4))
    attacked, injected = inject(
        honest, "average", attack_size=0.05, filler_size=0.03, targets=1, rng=np.random.default_rng(5)
    )
    ratings = tmp_path / "ratings.csv"
    with ratings.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", "product_id", "rating", "timestamp", "text"])
        for row in zip(
            attacked.user_id,
            attacked.product_id,
            np.round(attacked.vote_mean),
            attacked.timestamp,
            attacked.comment,
            strict=True,
        ):
            writer.writerow([f"u{row[0]}", f"p{row[1]}", int(row[2]), int(row[3]), row[4]])
    shills = np.unique(attacked.user_id[injected])[:55]
    some_honest = np.unique(attacked.user_id[~injected])[:3]
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "user_id,label\n" + "".join(f"u{u},1\n" for u in shills) + "".join(f"u{u},0\n" for u in some_honest),
        encoding="utf-8",
    )
    out_text = io.StringIO()

    call_command("fraud_eval", "--ratings", str(ratings), "--labels", str(labels), stdout=out_text)

    report = out_text.getvalue()
    assert "1 score column(s)" in report
    row = next(line for line in report.splitlines() if line.startswith("unsupervised (labels unused)"))
    precision, recall = (float(value) for value in row.split()[4:6])
    assert recall >= 0.8 and precision >= 0.8
    assert "too few labels" in report


def test_fraud_eval_cross_validates_the_comment_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "comments.csv"
    lines = ["text,label,group"]
    for i in range(60):
        lines.append(f'"{template_comment(rng, i % 3)}",1,t{i % 3}')
        lines.append(
            f'"honest note {i}: the {["scent", "cap", "foam"][i % 3]} is {["fine", "meh", "ok"][i % 2]}",0,u{i}'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()

    call_command("fraud_eval", "--text", str(path), "--folds", "3", stdout=out)

    text = out.getvalue()
    assert "folds by group" in text
    f1 = float(text.split("F1 ")[1].split()[0])
    assert f1 > 0.8


def test_every_reason_code_has_an_english_sentence_and_a_weight() -> None:
    assert set(WEIGHTS) <= set(REASON_TEXT_EN)
    assert {"anomaly", "model"} <= set(REASON_TEXT_EN)
