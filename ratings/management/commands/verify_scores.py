"""Recompute every published figure of a scoring run on a path of its own and print the differences.

    python manage.py verify_scores                      # the latest finished full run, from the database
    python manage.py verify_scores --run 12 --run 15    # these runs
    python manage.py verify_scores --all                # every finished run, oldest first
    python manage.py verify_scores --run 12 --write-export audit/   # also leave its files for an auditor
    python manage.py verify_scores --export audit/      # from such files alone, without the database

Exits non-zero when any figure differs, naming the product (``docs/verify.md``).
"""

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings import verification
from ratings.models import ScoringRun


class Command(BaseCommand):
    help = "Recompute scoring runs' published figures independently of the scoring job and print the differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, action="append", default=[], help="a run id (repeatable)")
        parser.add_argument("--all", action="store_true", help="every finished run, oldest first")
        parser.add_argument("--export", type=Path, help="verify the export in this directory, not the database")
        parser.add_argument(
            "--write-export", type=Path, help="write the run's export (CSV) into this directory, then verify it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["export"] and (options["run"] or options["all"] or options["write_export"]):
            raise CommandError("--export verifies the files given: no --run, --all or --write-export with it")
        if options["write_export"] and (options["all"] or len(options["run"]) > 1):
            raise CommandError("--write-export writes one run: give at most one --run")
        try:
            if options["export"]:
                if self._report(partial(verification.export_verify, options["export"])):
                    raise CommandError("figures differ from their recomputation")
                return
            run_ids: list[int | None]
            if options["all"]:
                finished = ScoringRun.objects.exclude(status=ScoringRun.Status.RUNNING).order_by("pk")
                run_ids = list(finished.values_list("pk", flat=True))
            else:
                run_ids = list(options["run"]) or [None]
            failed = 0
            for run_id in run_ids:
                if options["write_export"]:
                    directory = options["write_export"]
                    verification.export_write(run_id=run_id, directory=directory)
                    self.stdout.write(f"export written to {directory}")
                    failed += self._report(partial(verification.export_verify, directory))
                else:
                    failed += self._report(partial(verification.database_verify, run_id=run_id))
        except verification.VerifyError as exc:
            raise CommandError(str(exc)) from exc
        if failed:
            raise CommandError(f"{failed} figures differ from their recomputation")

    def _report(self, verify: Callable[[], verification.Report]) -> int:
        """Run one verification, print its summary and differences; return how many differ."""
        started = time.perf_counter()
        report = verify()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"run {report.run_id}: {report.products} products, {report.figures} figures recomputed in {seconds:.1f} s,"
            f" {len(report.differences)} differ"
        )
        for difference in report.differences:
            self.stdout.write(f"  {difference}")
        return len(report.differences)
