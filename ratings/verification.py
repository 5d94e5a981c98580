"""Recompute a scoring run's published figures on a path of their own, from the database or an export.

``verify_scores`` (the management command) is the way in; ``docs/verify.md`` is the auditor's description.

Independence is the point: nothing here calls ``ratings.scoring``, ``ratings.statistics`` or
``ratings.fingerprints``. The input is read by plain SQL into a set of CSV files (the same files
``--write-export`` leaves for an auditor, and ``--export`` reads back), and every figure is recomputed
from those files with numpy and scipy: each factor's count, mean, standard deviation, 95% t-interval,
median, agreement and histogram; each product's vote counts, comprehensive score, publication and
ranking score; each category's prior and list; every input fingerprint. Then each is compared with
what the run left published: each product's latest result as of the run (a run writes only what
changed, so an unchanged product's result may come from an earlier run), its factor results, and the
run's list entries. Floats agree within ``TOLERANCE`` (the job's change detection rounds to 9 places).

Reading the database as it stood at the run's cut-off: a vote changed since is read from its history
(``VoteVerdictChange`` for the verdict, ``VoteRevision`` for the scores), in SQL. Reads only; the
reading happens in one transaction (temporary tables dropped at its end). PostgreSQL only, for the
database; an export is verified anywhere.

How it scales: one pass over the run's votes and their scores (``COPY … TO``), a sort of the scores
in numpy, and a line of Python per counted score for the fingerprints: minutes at full scale
(``bench/verify_scores.py``).
"""

import csv
import hashlib
import math
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction

#: Two floats agree when they differ by no more than this.
TOLERANCE = 1e-9
#: The files of an export, in the order they are written.
FILES = (
    "run.csv",
    "products.csv",
    "factors.csv",
    "votes.csv",
    "scores.csv",
    "results.csv",
    "factor_results.csv",
    "list.csv",
)
FORMAT = "little-red-heart input 1"
NEUTRAL_PRIOR = 3.0
UNIFORM_VARIANCE = 2.0  # (5² − 1) / 12: the variance of answers drawn at random from 1–5


class VerifyError(Exception):
    """The run or the export cannot be verified (not found, incomplete)."""


@dataclass(frozen=True)
class Difference:
    product_id: int | None  # None: a figure of the run or of a category
    what: str
    stored: Any
    recomputed: Any

    def __str__(self) -> str:
        where = f"product {self.product_id}" if self.product_id is not None else "run"
        return f"{where}: {self.what}: stored {self.stored!r}, recomputed {self.recomputed!r}"


@dataclass
class Report:
    run_id: int
    products: int = 0
    figures: int = 0
    differences: list[Difference] = field(default_factory=list)


# --- Writing the export from the database ---------------------------------------------------------

SCOPE = """
    CREATE TEMP TABLE verify_run ON COMMIT DROP AS
    SELECT %(run)s::bigint AS run_id, %(cutoff)s::timestamptz AS cutoff, %(start)s::timestamptz AS start;

    -- Each product's scored campaign: its latest not cancelled, opened by the cut-off.
    CREATE TEMP TABLE verify_products ON COMMIT DROP AS
    SELECT DISTINCT ON (c.product_id) c.product_id, c.id AS campaign_id, c.category_id
      FROM ratings_campaign c CROSS JOIN verify_run r
     WHERE c.status <> 'cancelled' AND c.opens_at <= r.cutoff AND {scope}
     ORDER BY c.product_id, c.opens_at DESC, c.id DESC;

    -- Every vote of those products as it stood at the cut-off: verdict and scores from their history
    -- when the vote changed after it; a vote first submitted after it is left out.
    CREATE TEMP TABLE verify_votes ON COMMIT DROP AS
    SELECT v.id AS vote_id, v.product_id,
           CASE WHEN v.updated_at <= r.cutoff THEN v.verdict ELSE COALESCE(h.verdict, 'counted') END AS verdict,
           CASE WHEN v.updated_at <= r.cutoff THEN v.exclusion_reason ELSE COALESCE(h.exclusion_reason, '') END
               AS exclusion_reason,
           CASE WHEN v.submitted_at <= r.cutoff THEN v.submitted_at ELSE rv.submitted_at END AS submitted_at,
           v.submitted_at <= r.cutoff AS scores_current,
           rv.scores AS revision_scores
      FROM ratings_vote v
      JOIN verify_products p ON p.product_id = v.product_id
      CROSS JOIN verify_run r
      LEFT JOIN LATERAL (
          SELECT c.verdict, c.exclusion_reason FROM ratings_voteverdictchange c
           WHERE v.updated_at > r.cutoff AND c.vote_id = v.id AND c.changed_at <= r.cutoff
           ORDER BY c.changed_at DESC, c.id DESC LIMIT 1) h ON true
      LEFT JOIN LATERAL (
          SELECT x.submitted_at, x.scores FROM ratings_voterevision x
           WHERE v.submitted_at > r.cutoff AND x.vote_id = v.id AND x.submitted_at <= r.cutoff
           ORDER BY x.submitted_at DESC, x.id DESC LIMIT 1) rv ON true
     WHERE v.created_at <= r.cutoff;
    DELETE FROM verify_votes v USING verify_run r WHERE v.submitted_at IS NULL OR v.submitted_at < r.start;

    -- What the run left published: each product's latest result as of the run, for the products scored
    -- and the other products of their categories (they share the list).
    CREATE TEMP TABLE verify_results ON COMMIT DROP AS
    SELECT DISTINCT ON (pr.product_id) pr.*, (p.product_id IS NOT NULL) AS scored
      FROM ratings_productresult pr
      LEFT JOIN verify_products p ON p.product_id = pr.product_id
      CROSS JOIN verify_run r
     WHERE pr.run_id <= r.run_id
       AND (p.product_id IS NOT NULL OR pr.category_id IN (SELECT category_id FROM verify_products))
     ORDER BY pr.product_id, pr.run_id DESC;
"""
DROP_SCOPE = "DROP TABLE IF EXISTS verify_run, verify_products, verify_votes, verify_results"
SCOPE_FULL = "c.category_id IN (SELECT category_id FROM ratings_scoringruncategory WHERE run_id = r.run_id)"
SCOPE_PRODUCTS = "c.product_id IN (SELECT product_id FROM ratings_productresult WHERE run_id = r.run_id)"

EXPORT_QUERIES = {
    "products.csv": """
        SELECT p.product_id, p.category_id, p.campaign_id, COALESCE(i.invited, 0) AS invited
          FROM verify_products p
          LEFT JOIN (SELECT c.product_id, COUNT(DISTINCT i.user_id) AS invited
                       FROM ratings_invitation i
                       JOIN ratings_campaign c ON c.id = i.campaign_id
                       CROSS JOIN verify_run r
                      WHERE i.created_at BETWEEN r.start AND r.cutoff
                        AND c.product_id IN (SELECT product_id FROM verify_products)
                      GROUP BY c.product_id) i ON i.product_id = p.product_id
         ORDER BY p.product_id""",
    "factors.csv": """
        SELECT p.product_id, f.id AS campaign_factor_id, COALESCE(f.factor_id, -f.id) AS key, f.position, f.weight
          FROM verify_products p JOIN ratings_campaignfactor f ON f.campaign_id = p.campaign_id
         ORDER BY p.product_id, f.position, f.id""",
    "votes.csv": """
        SELECT vote_id, product_id, verdict, exclusion_reason, submitted_at FROM verify_votes ORDER BY vote_id""",
    # The counted votes' scores, with the catalog factor each adds up under (as the latest campaign's).
    "scores.csv": """
        SELECT s.vote_id, s.product_id, s.factor_id AS campaign_factor_id, COALESCE(f.factor_id, -f.id) AS key, s.score
          FROM (SELECT v.vote_id, v.product_id, fs.factor_id, fs.score
                  FROM verify_votes v JOIN ratings_factorscore fs ON fs.vote_id = v.vote_id
                 WHERE v.verdict = 'counted' AND v.scores_current
                UNION ALL
                SELECT v.vote_id, v.product_id, e.key::bigint, e.value::int
                  FROM verify_votes v CROSS JOIN LATERAL jsonb_each_text(v.revision_scores) e
                 WHERE v.verdict = 'counted' AND NOT v.scores_current) s
          JOIN ratings_campaignfactor f ON f.id = s.factor_id""",
    "results.csv": """
        SELECT product_id, category_id, id AS result_id, run_id, scored, invited, voted, counted, under_review,
               excluded_screening, excluded_moderation, excluded_refund, last_vote_at, min_votes, published,
               comprehensive, prior, prior_strength, ranking_score, input_fingerprint,
               -- held off the lists by a confirmed counterfeit claim (as now: claims keep no history)
               EXISTS (SELECT 1 FROM moderation_counterfeitcase c
                        WHERE c.product_id = verify_results.product_id AND c.status = 'confirmed') AS held
          FROM verify_results ORDER BY product_id""",
    "factor_results.csv": """
        SELECT r.product_id, f.campaign_factor_id, f.votes, f.mean, f.sd, f.ci_low, f.ci_high, f.median, f.agreement,
               f.scores_1, f.scores_2, f.scores_3, f.scores_4, f.scores_5
          FROM verify_results r JOIN ratings_factorresult f ON f.result_id = r.id
         WHERE r.scored
         ORDER BY r.product_id, f.position, f.campaign_factor_id""",
    "list.csv": """
        SELECT e.category_id, e.rank, e.product_id FROM ratings_heartlistentry e CROSS JOIN verify_run r
         WHERE e.run_id = r.run_id ORDER BY e.category_id, e.rank""",
}


def export_write(*, run_id: int | None, directory: Path) -> int:
    """Write the run's input and published figures as CSV files into ``directory``; return the run's id.

    ``run_id`` None: the latest finished full run."""
    from ratings.models import RatingPolicy, ScoringRun  # lazily: the export is read without Django models

    if connection.vendor != "postgresql":
        raise VerifyError("reading a run from the database needs PostgreSQL; an export can be verified anywhere")
    finished = ScoringRun.objects.exclude(status=ScoringRun.Status.RUNNING)
    run = (
        finished.filter(pk=run_id).first()
        if run_id is not None
        else finished.filter(kind=ScoringRun.Kind.FULL).order_by("pk").last()
    )
    if run is None:
        raise VerifyError(
            f"no finished scoring run with id {run_id}" if run_id else "there is no finished full scoring run yet"
        )
    policy = RatingPolicy.objects.order_by("pk").first()
    window_days = run.score_window_days or (policy.score_window_days if policy else 365)
    start = run.data_cutoff - timedelta(days=window_days)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "run_id": run.pk,
        "kind": run.kind,
        "method_version": run.method_version,
        "data_cutoff": run.data_cutoff.isoformat(),
        "window_days": window_days,
        # The list rule is not recorded per run: the current policy's (docs/verify.md).
        "list_threshold": policy.list_threshold if policy else Decimal("4.00"),
        "list_size": policy.list_size if policy else 10,
        "input_fingerprint": run.input_fingerprint,
    }
    with (directory / "run.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "value"])
        writer.writerows(meta.items())
    scope = SCOPE_FULL if run.kind == ScoringRun.Kind.FULL else SCOPE_PRODUCTS
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(DROP_SCOPE)
        cursor.execute(SCOPE.format(scope=scope), {"run": run.pk, "cutoff": run.data_cutoff, "start": start})
        for name, query in EXPORT_QUERIES.items():
            with (directory / name).open("w", newline="") as out:
                cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", out)
        # Gone at commit; inside an outer transaction (a test's) only when dropped.
        cursor.execute(DROP_SCOPE)
    return run.pk


# --- Reading an export ----------------------------------------------------------------------------


def _rows(directory: Path, name: str) -> Iterator[dict[str, str]]:
    path = directory / name
    if not path.exists():
        raise VerifyError(f"the export has no {name}")
    with path.open(newline="") as source:
        yield from csv.DictReader(source)


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float | None:
    return None if text == "" else float(text)


def _bool(text: str) -> bool:
    return text in ("t", "true", "True", "1")


def _when(text: str) -> datetime | None:
    return None if text == "" else datetime.fromisoformat(text)


# --- Recomputing ----------------------------------------------------------------------------------


def _t_quantiles(dfs: "Any") -> "Any":
    from scipy.stats import t

    return t.ppf(0.975, dfs)


def _factor_figures(histograms: "Any") -> dict[str, "Any"]:
    """Every factor's figures from its 1–5 histogram (one row per factor), NaN where there is none."""
    import numpy as np

    counts = histograms.astype(np.float64)
    scores = np.arange(1, 6, dtype=np.float64)
    n = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (counts * scores).sum(axis=1) / n
        variance = (counts * (scores - mean[:, None]) ** 2).sum(axis=1) / (n - 1)
        variance[n < 2] = np.nan
        sd = np.sqrt(variance)
        half = _t_quantiles(np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    cumulative = histograms.cumsum(axis=1)
    votes = histograms.sum(axis=1)
    lower = (((votes - 1) // 2)[:, None] < cumulative).argmax(axis=1) + 1
    upper = ((votes // 2)[:, None] < cumulative).argmax(axis=1) + 1
    median = np.where(votes > 0, (lower + upper) / 2, np.nan)
    return {
        "votes": votes,
        "mean": mean,
        "sd": sd,
        "ci_low": np.maximum(1.0, mean - half),
        "ci_high": np.minimum(5.0, mean + half),
        "median": median,
        "agreement": np.clip(1 - variance / UNIFORM_VARIANCE, 0.0, 1.0),
    }


def _figure(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _same(stored: Any, recomputed: Any) -> bool:
    if isinstance(stored, float) or isinstance(recomputed, float):
        if stored is None or recomputed is None:
            return stored is None and recomputed is None
        return abs(float(stored) - float(recomputed)) <= TOLERANCE
    return bool(stored == recomputed)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def export_verify(directory: Path) -> Report:
    """Recompute every figure of the export in ``directory`` from its input files and compare."""
    import numpy as np

    run = {row["name"]: row["value"] for row in _rows(directory, "run.csv")}
    report = Report(run_id=int(run["run_id"]))
    full = run["kind"] == "full"
    products = {int(r["product_id"]): r for r in _rows(directory, "products.csv")}
    factors: dict[int, list[tuple[int, int, int, str]]] = defaultdict(list)
    for r in _rows(directory, "factors.csv"):
        factors[int(r["product_id"])].append(
            (int(r["position"]), int(r["campaign_factor_id"]), int(r["key"]), str(Decimal(r["weight"])))
        )
    stored = {int(r["product_id"]): r for r in _rows(directory, "results.csv")}
    stored_factors: dict[tuple[int, int], dict[str, str]] = {
        (int(r["product_id"]), int(r["campaign_factor_id"])): r for r in _rows(directory, "factor_results.csv")
    }

    # Vote counts as the page shows them: every vote of the window, by its verdict and reason.
    counts: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for r in _rows(directory, "votes.csv"):
        into = counts[int(r["product_id"])]
        into["voted"] += 1
        verdict, reason = r["verdict"], r["exclusion_reason"]
        if verdict == "counted":
            into["counted"] += 1
        elif verdict == "review":
            into["under_review"] += 1
        elif reason in ("moderation", "refund"):
            into[f"excluded_{reason}"] += 1
        else:
            into["excluded_screening"] += 1
        when = _when(r["submitted_at"])
        if when is not None and (into.get("last_vote_at") is None or when > into["last_vote_at"]):
            into["last_vote_at"] = when

    # The counted scores, sorted as the fingerprints read them: product, vote, campaign factor.
    path = directory / "scores.csv"
    if not path.exists():
        raise VerifyError("the export has no scores.csv")
    with warnings.catch_warnings():  # a run without a counted vote: an empty table, not a warning
        warnings.simplefilter("ignore", UserWarning)
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2).reshape(-1, 5)
    vote, product, factor, key, score = table.T
    if len(score) and (score.min() < 1 or score.max() > 5):
        raise VerifyError("scores.csv holds a score outside 1–5")
    order = np.lexsort((factor, vote, product))
    vote, product, factor, key, score = vote[order], product[order], factor[order], key[order], score[order]

    # Histograms by (product, catalog key): one bincount over the pairs' codes.
    pairs, where = np.unique(np.stack([product, key], axis=1), axis=0, return_inverse=True)
    flat = np.bincount(where.ravel() * 5 + (score - 1), minlength=len(pairs) * 5).reshape(-1, 5)
    histogram_of = {(int(p), int(k)): flat[i] for i, (p, k) in enumerate(pairs)}

    # Votes digests: each product's lines, in order.
    digests: dict[int, str] = {}
    bounds = np.flatnonzero(np.diff(product)) + 1
    for chunk_product, chunk_vote, chunk_factor, chunk_score in zip(
        np.split(product, bounds),
        np.split(vote, bounds),
        np.split(factor, bounds),
        np.split(score, bounds),
        strict=True,
    ):
        if len(chunk_vote):
            joined = "".join(
                f"{v} {f} {s}\n"
                for v, f, s in zip(chunk_vote.tolist(), chunk_factor.tolist(), chunk_score.tolist(), strict=True)
            )
            digests[int(chunk_product[0])] = _sha256(joined)
    no_votes = _sha256("")

    # Every factor of every scored product, in one matrix.
    rows = [(pid, f) for pid in sorted(products) for f in sorted(factors.get(pid, []))]
    matrix = np.array(
        [histogram_of.get((pid, f[2]), np.zeros(5, dtype=np.int64)) for pid, f in rows], dtype=np.int64
    ).reshape(-1, 5)
    figures = _factor_figures(matrix)

    computed: dict[int, dict[str, Any]] = {}
    for i, (pid, (_position, factor_id, _key, weight)) in enumerate(rows):
        product_figures = computed.setdefault(pid, {"factors": {}})
        product_figures["factors"][factor_id] = {
            "votes": int(figures["votes"][i]),
            **{
                name: _figure(float(figures[name][i]))
                for name in ("mean", "sd", "ci_low", "ci_high", "median", "agreement")
            },
            "histogram": [int(n) for n in matrix[i]],
            "weight": float(weight),
        }
    for pid, info in products.items():
        figures_of = computed.setdefault(pid, {"factors": {}})
        means = [(f["mean"], f["weight"]) for f in figures_of["factors"].values() if f["mean"] is not None]
        total = sum(w for _, w in means)
        figures_of["comprehensive"] = sum(m * w for m, w in means) / total if means and total > 0 else None
        vote_counts = counts.get(pid, {})
        for name in (
            "voted",
            "counted",
            "under_review",
            "excluded_screening",
            "excluded_moderation",
            "excluded_refund",
        ):
            figures_of[name] = int(vote_counts.get(name, 0))
        figures_of["last_vote_at"] = vote_counts.get("last_vote_at")
        figures_of["invited"] = int(info["invited"])
        result = stored.get(pid)
        if result is None:
            report.differences.append(Difference(pid, "result", None, "a result"))
            continue
        min_votes, strength = int(result["min_votes"]), int(result["prior_strength"])
        figures_of["published"] = figures_of["comprehensive"] is not None and figures_of["counted"] >= min_votes
        text = "\n".join(
            [
                FORMAT,
                f"method {run['method_version']}",
                f"product {pid} campaign {info['campaign_id']}",
                f"policy min_votes {min_votes} prior_strength {strength} window_days {run['window_days']}",
                *(f"factor {fid} key {k} position {pos} weight {w}" for pos, fid, k, w in sorted(factors.get(pid, []))),
                f"votes {digests.get(pid, no_votes)}",
            ]
        )
        figures_of["input_fingerprint"] = _sha256(text + "\n")

    # The category priors (a full run derives them; a product run used the one recorded), ranking scores.
    by_category: dict[int, list[int]] = defaultdict(list)
    for pid, info in products.items():
        by_category[int(info["category_id"])].append(pid)
    for pids in by_category.values():
        weighted = [
            (computed[p]["comprehensive"], computed[p]["counted"])
            for p in pids
            if computed[p]["comprehensive"] is not None
        ]
        votes = sum(n for _, n in weighted)
        prior_full = sum(s * n for s, n in weighted) / votes if votes else NEUTRAL_PRIOR
        for pid in pids:
            if pid not in stored:
                continue
            c, result = computed[pid], stored[pid]
            c["prior"] = prior_full if full else float(result["prior"])
            k = int(result["prior_strength"])
            c["ranking_score"] = (
                (c["counted"] * c["comprehensive"] + k * c["prior"]) / (c["counted"] + k) if c["published"] else None
            )

    # Compare each scored product's figures with its stored result and factor results.
    for pid in sorted(products):
        result = stored.get(pid)
        if result is None:
            continue
        c = computed[pid]
        report.products += 1
        checks: list[tuple[str, Any, Any]] = [
            (name, _int(result[name]), c[name])
            for name in (
                "invited",
                "voted",
                "counted",
                "under_review",
                "excluded_screening",
                "excluded_moderation",
                "excluded_refund",
            )
        ]
        checks += [
            ("last_vote_at", _when(result["last_vote_at"]), c["last_vote_at"]),
            ("published", _bool(result["published"]), c["published"]),
            ("comprehensive", _float(result["comprehensive"]), c["comprehensive"]),
            ("prior", _float(result["prior"]), c["prior"]),
            ("ranking_score", _float(result["ranking_score"]), c["ranking_score"]),
        ]
        if result["input_fingerprint"]:  # results from before fingerprints were recorded have none
            checks.append(("input fingerprint", result["input_fingerprint"], c["input_fingerprint"]))
        stored_ids = {fid for (p, fid) in stored_factors if p == pid}
        if stored_ids != set(c["factors"]):
            checks.append(("factors", sorted(stored_ids), sorted(c["factors"])))
        for fid, f in c["factors"].items():
            row = stored_factors.get((pid, fid))
            if row is None:
                continue
            checks.append((f"factor {fid} votes", _int(row["votes"]), f["votes"]))
            checks += [
                (f"factor {fid} {name}", _float(row[name]), f[name])
                for name in ("mean", "sd", "ci_low", "ci_high", "median", "agreement")
            ]
            checks.append((f"factor {fid} histogram", [_int(row[f"scores_{n}"]) for n in range(1, 6)], f["histogram"]))
        report.figures += len(checks)
        report.differences += [Difference(pid, what, a, b) for what, a, b in checks if not _same(a, b)]

    # Each category's list: the run's entries against the recomputed ranking of its products (the scored
    # ones as recomputed, the others as their latest result stood).
    threshold, size = float(run["list_threshold"]), int(run["list_size"])
    entries: dict[int, list[int]] = defaultdict(list)
    for r in _rows(directory, "list.csv"):
        entries[int(r["category_id"])].append(int(r["product_id"]))
    for category_id in sorted(by_category):
        candidates = []
        for pid, result in stored.items():
            if int(result["category_id"]) != category_id and pid not in products:
                continue
            if pid in products:
                if int(products[pid]["category_id"]) != category_id:
                    continue
                c = computed[pid]
                ranking, counted = c.get("ranking_score"), c["counted"]
            else:
                ranking = _float(result["ranking_score"]) if _bool(result["published"]) else None
                counted = int(result["counted"])
            if ranking is not None and ranking >= threshold and not _bool(result.get("held", "")):
                candidates.append((-ranking, -counted, pid))
        listed = [pid for *_, pid in sorted(candidates)[:size]]
        report.figures += 1
        if listed != entries.get(category_id, []):
            report.differences.append(
                Difference(None, f"category {category_id} list", entries.get(category_id, []), listed)
            )

    # The run's fingerprint over its categories', each over its products'.
    if run["input_fingerprint"]:
        lines = [FORMAT, f"method {run['method_version']}"]
        for category_id in sorted(by_category):
            category_lines = [
                FORMAT,
                f"method {run['method_version']}",
                f"list threshold {Decimal(run['list_threshold'])} size {size}",
            ] + [
                f"product {pid} {computed[pid]['input_fingerprint']}"
                for pid in sorted(by_category[category_id])
                if "input_fingerprint" in computed[pid]
            ]
            lines.append(f"category {category_id} {_sha256(chr(10).join(category_lines) + chr(10))}")
        report.figures += 1
        recomputed = _sha256("\n".join(lines) + "\n")
        if recomputed != run["input_fingerprint"]:
            report.differences.append(Difference(None, "run input fingerprint", run["input_fingerprint"], recomputed))
    return report


def database_verify(*, run_id: int | None) -> Report:
    """Recompute the run (None: the latest finished full run) from the database: its export, written to a
    temporary directory by SQL and read back."""
    with tempfile.TemporaryDirectory(prefix="verify-scores-") as scratch:
        export_write(run_id=run_id, directory=Path(scratch))
        return export_verify(Path(scratch))
