"""Write an auditor's pseudonymised file set of one scoring run (docs/audit.md).

    python manage.py audit_export --run 12 --out /srv/exports/run-12 [--parquet]

Prints the export's pseudonym key once: hand it to the auditor only if the store is to confirm sampled
purchases; it is stored nowhere (the audit export row in the admin keeps its SHA-256).
"""

import getpass
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings import audit


class Command(BaseCommand):
    help = "Write a pseudonymised audit export of a scoring run (CSV, and Parquet with --parquet)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, required=True, help="the scoring run's id")
        parser.add_argument("--out", type=Path, required=True, help="an empty or new directory")
        parser.add_argument("--parquet", action="store_true", help="also write Parquet files (needs pyarrow)")

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.perf_counter()
        try:
            summary = audit.export_write(
                run_id=options["run"], directory=options["out"], parquet=options["parquet"], created_by=_operator()
            )
        except audit.AuditError as error:
            raise CommandError(str(error)) from error
        if summary.parquet_skipped:
            self.stderr.write(self.style.WARNING(summary.parquet_skipped))
        self.stdout.write(
            f"Run {summary.run_id}: {summary.products} products, {summary.votes} votes, "
            f"{summary.invitations} invitations written to {summary.directory} "
            f"({', '.join(summary.formats)}) in {time.perf_counter() - began:.1f} s."
        )
        self.stdout.write(
            "Pseudonym key (shown once, stored nowhere; needed only to confirm purchases with the store):\n"
            f"  {summary.key_hex}"
        )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
