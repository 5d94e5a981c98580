"""``manage.py fraud_eval``: measure vote screening on generated or external data (docs/fraud-eval.md).

Runs in memory on arrays; it never reads or writes the database.
"""

import csv
import math
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation.fraud.attacks import KINDS, synthetic_dataset
from moderation.fraud.data import RatingFileError, RatingTable
from moderation.fraud.evaluation import (
    AttackRun,
    Detection,
    cross_fitted,
    cross_validate_text,
    detection,
    run_attack,
)
from moderation.fraud.features import rater_features
from moderation.fraud.models import COUNTED, EXCLUDED, REVIEW, Screener

#: The benchmark the generated-data runs are held to.
TARGET_PRECISION = 0.9
TARGET_RECALL = 0.9
TARGET_SHIFT_CUT = 0.8
TARGET_GENUINE_EXCLUDED = 0.01


def _fractions(value: str) -> list[float]:
    try:
        out = [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"{value!r} is not a number or a comma-separated list of numbers") from None
    if not out or any(not 0 < x < 1 for x in out):
        raise CommandError(f"{value!r}: every value must be between 0 and 1 (e.g. 0.05)")
    return out


class Command(BaseCommand):
    help = (
        "Measure vote screening: inject standard shilling attacks into generated (or your) data and "
        "report ROC-AUC, precision, recall, F1 and the prediction shift with and without screening; or "
        "score an external ratings file against its labels; or cross-validate the comment model."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--inject",
            action="append",
            metavar="KIND[,KIND]",
            help=f"attack kinds to inject, repeatable or comma-separated: {', '.join(KINDS)} (default: all)",
        )
        parser.add_argument("--attack-size", default="0.05", help="attackers as a share of raters (list allowed)")
        parser.add_argument(
            "--filler-size", default="0.03", help="share of products each attacker also rates (list allowed)"
        )
        parser.add_argument("--targets", type=int, default=1, help="products each attack pushes (default 1)")
        parser.add_argument("--campaign-days", type=float, default=14.0, help="length of an attack (default 14)")
        parser.add_argument("--users", type=int, default=20_000, help="raters of the generated dataset")
        parser.add_argument("--products", type=int, default=400, help="products of the generated dataset")
        parser.add_argument("--seed", type=int, default=7, help="random seed of data, attacks and models")
        parser.add_argument("--ratings", type=Path, metavar="FILE.csv", help="an external ratings file")
        parser.add_argument("--labels", type=Path, metavar="FILE.csv", help="per-rater labels: user_id,label")
        parser.add_argument("--text", type=Path, metavar="FILE.csv", help="cross-validate the comment model")
        parser.add_argument("--folds", type=int, default=5, help="folds for --text (default 5)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["text"] is not None:
            self._text(options["text"], folds=options["folds"], seed=options["seed"])
        elif options["ratings"] is not None and not options["inject"]:
            self._external(options["ratings"], options["labels"], seed=options["seed"])
        else:
            self._attacks(options)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"\ntotal {time.monotonic() - started:.1f} s, peak memory {peak:,.0f} MiB")

    # --- injected attacks ----------------------------------------------------------------------------

    def _attacks(self, options: dict[str, Any]) -> None:
        kinds = [kind.strip() for value in (options["inject"] or [",".join(KINDS)]) for kind in value.split(",")]
        kinds = [kind for kind in kinds if kind]
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise CommandError(f"unknown attack kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
        if options["targets"] < 1:
            raise CommandError("--targets must be at least 1")
        seed = options["seed"]
        clock = time.monotonic()
        if options["ratings"] is not None:
            base, _ = self._load(options["ratings"], None)
            source = f"{options['ratings']}"
        else:
            if options["users"] < 100 or options["products"] < 10:
                raise CommandError("--users must be at least 100 and --products at least 10")
            base = synthetic_dataset(options["users"], options["products"], rng=np.random.default_rng(seed))
            source = f"generated: {options['users']:,} raters x {options['products']:,} products"
        raters = len(np.unique(base.user_id))
        self.stdout.write(
            f"{source}; {len(base):,} votes by {raters:,} raters ({time.monotonic() - clock:.1f} s)\n"
            f"attacks: {options['targets']} target product(s) each, campaign {options['campaign_days']:g} days; "
            "screener fitted on the attacked data without the attack labels (rules + anomaly model)\n"
        )
        runs: list[AttackRun] = []
        self._header()
        for attack_size in _fractions(options["attack_size"]):
            for filler_size in _fractions(options["filler_size"]):
                for kind in kinds:
                    run = run_attack(
                        base,
                        kind,
                        attack_size=attack_size,
                        filler_size=filler_size,
                        targets=options["targets"],
                        seed=seed,
                        campaign_days=options["campaign_days"],
                    )
                    runs.append(run)
                    self._row(run)
        met = [self._meets(run) for run in runs]
        self.stdout.write(
            f"\nbenchmark (recall >= {TARGET_RECALL} at precision >= {TARGET_PRECISION}, shift cut >= "
            f"{TARGET_SHIFT_CUT:.0%}, genuine excluded <= {TARGET_GENUINE_EXCLUDED:.0%}): "
            f"{sum(met)} of {len(met)} runs meet it"
        )
        for run, ok in zip(runs, met, strict=True):
            if not ok:
                self.stdout.write(f"  not met: {run.kind} at filler {run.filler_size:g}")

    def _header(self) -> None:
        self.stdout.write(
            f"{'attack':<10} {'size':>5} {'filler':>6} {'votes':>8} {'injected':>8} {'ROC-AUC':>7} "
            f"{'prec':>6} {'recall':>6} {'F1':>6} {'gen.excl':>8} {'gen.flag':>8} "
            f"{'shift':>7} {'screened':>8} {'cut':>6} {'secs':>6}"
        )

    def _row(self, run: AttackRun) -> None:
        d = run.detection
        self.stdout.write(
            f"{run.kind:<10} {run.attack_size:>5.2f} {run.filler_size:>6.2f} {d.votes:>8,} {run.injected:>8,} "
            f"{d.roc_auc:>7.3f} {d.precision:>6.3f} {d.recall:>6.3f} {d.f1:>6.3f} "
            f"{d.genuine_excluded:>8.2%} {d.genuine_flagged:>8.2%} {run.shift.raw:>+7.3f} "
            f"{run.shift.screened:>+8.3f} {run.shift.reduction:>6.1%} {run.seconds:>6.1f}"
        )

    @staticmethod
    def _meets(run: AttackRun) -> bool:
        d = run.detection
        cut = run.shift.reduction
        return (
            d.precision >= TARGET_PRECISION
            and d.recall >= TARGET_RECALL
            and (math.isnan(cut) or cut >= TARGET_SHIFT_CUT)
            and d.genuine_excluded <= TARGET_GENUINE_EXCLUDED
        )

    # --- an external dataset --------------------------------------------------------------------------

    def _load(self, path: Path, labels_path: Path | None) -> tuple[RatingTable, Any]:
        try:
            return RatingTable.from_csv(path, labels_path)
        except RatingFileError as exc:
            raise CommandError(str(exc)) from exc

    def _external(self, path: Path, labels_path: Path | None, *, seed: int) -> None:
        clock = time.monotonic()
        table, labels = self._load(path, labels_path)
        k = table.scores.shape[1]
        self.stdout.write(
            f"{path}: {len(table):,} votes by {len(np.unique(table.user_id)):,} raters on "
            f"{len(np.unique(table.product_id)):,} products, {k} score column(s) ({time.monotonic() - clock:.1f} s)"
        )
        clock = time.monotonic()
        screener = Screener()
        features = rater_features(table, screener.params)
        result = screener.fit(table, random_state=seed, features=features).score(table, features=features)
        counts = {verdict: int(np.count_nonzero(result.verdict == verdict)) for verdict in (COUNTED, REVIEW, EXCLUDED)}
        self.stdout.write(
            f"screened in {time.monotonic() - clock:.1f} s (rules + anomaly model): "
            + ", ".join(f"{name} {count:,} ({count / len(table):.2%})" for name, count in counts.items())
        )
        codes: dict[str, int] = {}
        for code, mask in zip(result.reason_table.codes, result.reason_table.masks, strict=True):
            codes[code] = codes.get(code, 0) + int(np.count_nonzero(mask & result.flagged))
        if codes:
            self.stdout.write("reasons on flagged votes: " + ", ".join(f"{c} {n:,}" for c, n in sorted(codes.items())))
        if labels is None or not np.any(~np.isnan(labels)):
            self.stdout.write("no labels: give a label column or --labels to measure precision and recall")
            return
        labelled = ~np.isnan(labels)
        truth = labels[labelled] == 1
        self.stdout.write(f"\n{int(labelled.sum()):,} labelled votes, {truth.mean():.2%} of them suspicious\n")
        self._detection_header()
        self._detection_row(
            "unsupervised (labels unused)", detection(truth, result.score[labelled], result.verdict[labelled])
        )
        clock = time.monotonic()
        if int(labelled.sum()) >= Screener().min_labels and 0 < truth.sum() < len(truth):
            score, verdict, scored = cross_fitted(table, labels, folds=3, seed=seed)
            self._detection_row(
                "supervised, 3 folds by rater",
                detection(labels[scored] == 1, score[scored], verdict[scored]),
            )
            self.stdout.write(f"(cross-fitted in {time.monotonic() - clock:.1f} s)")
        else:
            self.stdout.write(
                f"too few labels of both classes for the supervised model (needs {Screener().min_labels})"
            )

    def _detection_header(self) -> None:
        self.stdout.write(
            f"{'screening':<30} {'ROC-AUC':>7} {'prec':>6} {'recall':>6} {'F1':>6} {'gen.excl':>8} {'gen.flag':>8}"
        )

    def _detection_row(self, name: str, d: Detection) -> None:
        self.stdout.write(
            f"{name:<30} {d.roc_auc:>7.3f} {d.precision:>6.3f} {d.recall:>6.3f} {d.f1:>6.3f} "
            f"{d.genuine_excluded:>8.2%} {d.genuine_flagged:>8.2%}"
        )

    # --- the comment model ------------------------------------------------------------------------------

    def _text(self, path: Path, *, folds: int, seed: int) -> None:
        try:
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as source:
                reader = csv.reader(source)
                header = [name.strip().lower() for name in next(reader, [])]
                rows = [row for row in reader if any(cell.strip() for cell in row)]
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if "text" not in header or "label" not in header:
            raise CommandError(f"{path}: the header must have text and label columns (and optionally group)")
        text_at, label_at = header.index("text"), header.index("label")
        group_at = header.index("group") if "group" in header else None
        texts, labels, groups = [], [], []
        for line, row in enumerate(rows, start=2):
            value = row[label_at].strip().lower() if label_at < len(row) else ""
            if value in {"1", "true", "yes", "spam", "fraud", "fake"}:
                label = 1
            elif value in {"0", "false", "no", "ham", "genuine", "real"}:
                label = 0
            else:
                raise CommandError(f"{path}: line {line}: label {value!r} is not 0/1")
            texts.append(row[text_at] if text_at < len(row) else "")
            labels.append(label)
            groups.append(row[group_at] if group_at is not None and group_at < len(row) else "")
        clock = time.monotonic()
        try:
            metrics = cross_validate_text(
                texts,
                np.asarray(labels, dtype=np.int64),
                groups if group_at is not None else None,
                folds=folds,
                random_state=seed,
            )
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        by = "folds by group" if group_at is not None else "stratified folds"
        self.stdout.write(
            f"{path}: {len(texts):,} comments, {np.mean(labels):.2%} labelled 1; "
            f"{int(metrics['folds'])} {by}, {time.monotonic() - clock:.1f} s\n"
            f"accuracy {metrics['accuracy']:.3f}  precision {metrics['precision']:.3f}  "
            f"recall {metrics['recall']:.3f}  F1 {metrics['f1']:.3f}  ROC-AUC {metrics['roc_auc']:.3f}"
        )
