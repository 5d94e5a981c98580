"""``manage.py fraud_eval``: measure vote screening on generated or external data (docs/fraud-eval.md).

Runs in memory on arrays; it never reads or writes the database.
"""

import csv
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation.fraud.attacks import KINDS, synthetic_dataset
from moderation.fraud.data import RatingFileError, RatingTable
from moderation.fraud.evaluation import (
    FULL_ATTACK,
    TARGET_GENUINE_EXCLUDED,
    TARGET_GENUINE_FLAGGED,
    TARGET_PRECISION,
    TARGET_RECALL,
    TARGET_SHIFT_CUT,
    TARGET_SMALL_RECALL,
    WORSE_BY,
    AttackRun,
    Detection,
    Shift,
    cross_fitted,
    cross_validate_text,
    detection,
    mean_and_spread,
    run_setting,
    shortfalls,
)
from moderation.fraud.features import rater_features
from moderation.fraud.models import COUNTED, EXCLUDED, REVIEW, Screener


def _fractions(value: str) -> list[float]:
    try:
        out = [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"{value!r} is not a number or a comma-separated list of numbers") from None
    if not out or any(not 0 < x < 1 for x in out):
        raise CommandError(f"{value!r}: every value must be between 0 and 1 (e.g. 0.05)")
    return out


def _spread(values: list[float], *, percent: bool = False, signed: bool = False) -> str:
    """``mean±sd`` of the values, compact enough for a table cell."""
    mean, sd = mean_and_spread(values)
    if np.isnan(mean):
        return "n/a"
    if percent:
        return f"{mean:.1%}±{sd:.1%}"
    return f"{mean:+.3f}±{sd:.3f}" if signed else f"{mean:.3f}±{sd:.3f}"


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
        parser.add_argument(
            "--targets", type=int, default=1, help="target products per seed, each attacked in its own run (default 1)"
        )
        parser.add_argument(
            "--seeds", type=int, default=3, help="seeds per setting, each with its own targets (default 3)"
        )
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
        if options["targets"] < 1 or options["seeds"] < 1:
            raise CommandError("--targets and --seeds must be at least 1")
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
        seeds = list(range(seed, seed + options["seeds"]))
        self.stdout.write(
            f"{source}; {len(base):,} votes by {raters:,} raters ({time.monotonic() - clock:.1f} s)\n"
            f"each setting: seeds {seeds[0]}..{seeds[-1]} x {options['targets']} target product(s), each target "
            f"attacked in its own run, campaign {options['campaign_days']:g} days; the screener is fitted on the "
            "attacked data without the attack labels (rules + anomaly model); figures are mean±sd over the runs\n"
        )
        settings: list[list[AttackRun]] = []
        for attack_size in _fractions(options["attack_size"]):
            for filler_size in _fractions(options["filler_size"]):
                for kind in kinds:
                    runs = run_setting(
                        base,
                        kind,
                        attack_size=attack_size,
                        filler_size=filler_size,
                        seeds=seeds,
                        targets=options["targets"],
                        campaign_days=options["campaign_days"],
                    )
                    settings.append(runs)
                    if options["verbosity"] >= 2:
                        for run in runs:
                            self._run_line(run)
        self._detection_table(settings)
        self._shift_table(settings)
        missed = [(runs[0], shortfalls(runs)) for runs in settings]
        self.stdout.write(
            f"\nbenchmark (means over the runs; attacks of {FULL_ATTACK:.0%} of raters or more: precision >= "
            f"{TARGET_PRECISION}, recall >= {TARGET_RECALL}, score and prediction shift cut >= {TARGET_SHIFT_CUT:.0%}; "
            f"smaller attacks: recall >= {TARGET_SMALL_RECALL}; always: genuine flagged <= "
            f"{TARGET_GENUINE_FLAGGED:.0%}, genuine excluded <= {TARGET_GENUINE_EXCLUDED:.1%}, screening never "
            f"worsens a target's shift by more than {WORSE_BY} in any run): "
            f"{sum(not m for _, m in missed)} of {len(missed)} settings meet it"
        )
        for run, reasons in missed:
            if reasons:
                self.stdout.write(f"  not met: {self._setting(run)}: {'; '.join(reasons)}")
        seconds = sum(run.seconds for runs in settings for run in runs)
        self.stdout.write(f"{sum(len(runs) for runs in settings)} runs, {seconds:.1f} s")

    @staticmethod
    def _setting(run: AttackRun) -> str:
        return f"{run.kind} at size {run.attack_size:.0%}, filler {run.filler_size:.0%}"

    def _run_line(self, run: AttackRun) -> None:
        d, r = run.detection, run.raters
        self.stdout.write(
            f"  run {self._setting(run)}, seed {run.seed}, target {run.targets.tolist()}: "
            f"{run.injected:,} injected votes, AUC {d.roc_auc:.3f}, precision {d.precision:.3f}, recall "
            f"{d.recall:.3f}, genuine flagged {d.genuine_flagged:.2%}; raters: recall {r.recall:.3f}, genuine "
            f"flagged {r.genuine_flagged:.2%}; score shift {run.shift.raw:+.3f} -> {run.shift.screened:+.3f}, "
            f"prediction shift {run.prediction.raw:+.3f} -> {run.prediction.screened:+.3f} ({run.seconds:.1f} s)"
        )

    def _detection_table(self, settings: list[list[AttackRun]]) -> None:
        def cells(found: list[Detection]) -> str:
            return " ".join(
                [
                    f"{_spread([d.roc_auc for d in found]):>13}",
                    f"{_spread([d.precision for d in found]):>13}",
                    f"{_spread([d.recall for d in found]):>13}",
                    f"{_spread([d.genuine_flagged for d in found], percent=True):>13}",
                ]
            )

        self.stdout.write(
            f"{'':<27} {'per vote':<69} per rater\n"
            f"{'attack':<10} {'size':>4} {'filler':>6} {'runs':>4} {'ROC-AUC':>13} {'prec':>13} {'recall':>13} "
            f"{'gen.flag':>13} {'gen.excl':>13}   {'ROC-AUC':>13} {'prec':>13} {'recall':>13} {'gen.flag':>13}"
        )
        for runs in settings:
            votes = [run.detection for run in runs]
            excluded = _spread([d.genuine_excluded for d in votes], percent=True)
            self.stdout.write(
                f"{self._key(runs)} {cells(votes)} {excluded:>13}   {cells([run.raters for run in runs])}"
            )

    def _shift_table(self, settings: list[list[AttackRun]]) -> None:
        def cells(shifts: list[Shift]) -> str:
            return (
                f"{_spread([s.raw for s in shifts], signed=True):>13} "
                f"{_spread([s.screened for s in shifts], signed=True):>13} "
                f"{_spread([s.reduction for s in shifts], percent=True):>13}"
            )

        self.stdout.write(
            f"\n{'':<27} {'score shift (comprehensive score)':<41}   prediction shift (kNN, Mobasher et al. 2007)\n"
            f"{'attack':<10} {'size':>4} {'filler':>6} {'runs':>4} {'raw':>13} {'screened':>13} {'cut':>13}   "
            f"{'raw':>13} {'screened':>13} {'cut':>13}"
        )
        for runs in settings:
            shifts = cells([run.shift for run in runs])
            self.stdout.write(f"{self._key(runs)} {shifts}   {cells([run.prediction for run in runs])}")

    @staticmethod
    def _key(runs: list[AttackRun]) -> str:
        first = runs[0]
        return f"{first.kind:<10} {first.attack_size:>4.0%} {first.filler_size:>6.0%} {len(runs):>4}"

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
