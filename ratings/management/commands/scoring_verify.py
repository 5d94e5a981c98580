"""Recompute scoring runs from the database as it stood at their cut-offs and compare with what they published.

    python manage.py scoring_verify            # the latest finished full run
    python manage.py scoring_verify --run 12 --run 15
    python manage.py scoring_verify --all      # every finished run, oldest first

Exits with an error when a figure differs, naming the run and the product.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings import scoring
from ratings.models import ScoringRun


class Command(BaseCommand):
    help = "Recompute scoring runs as of their cut-offs and compare with the results they published."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, action="append", default=[], help="a run id (repeatable)")
        parser.add_argument("--all", action="store_true", help="every finished run")

    def handle(self, *args: Any, **options: Any) -> None:
        finished = ScoringRun.objects.exclude(status=ScoringRun.Status.RUNNING).order_by("pk")
        if options["all"]:
            run_ids = list(finished.values_list("pk", flat=True))
        elif options["run"]:
            run_ids = options["run"]
            missing = set(run_ids) - set(finished.filter(pk__in=run_ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no finished scoring run with id {', '.join(map(str, sorted(missing)))}")
        else:
            latest = finished.filter(kind=ScoringRun.Kind.FULL).last()
            if latest is None:
                raise CommandError("there is no finished full scoring run yet")
            run_ids = [latest.pk]
        failed = 0
        for run_id in run_ids:
            checked, mismatches = scoring.run_verify(run_id=run_id)
            failed += len(mismatches)
            self.stdout.write(f"run {run_id}: {checked} products recomputed, {len(mismatches)} differ")
            for mismatch in mismatches:
                self.stdout.write(f"  product {mismatch.product_id}: stored {mismatch.stored}")
                self.stdout.write(f"  {' ' * len(str(mismatch.product_id))}          recomputed {mismatch.recomputed}")
        if failed:
            raise CommandError(f"{failed} products differ from their recomputation")
