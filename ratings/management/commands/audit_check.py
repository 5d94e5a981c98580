"""Perform the agreed-upon procedures of docs/audit.md on an audit export, from its files alone.

    python manage.py audit_check --export /srv/exports/run-12 [--sample 200] [--seed 7] [--check recompute]

Exits non-zero when any check fails, naming the check and the rows that failed it.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings import audit

#: Failures printed per check; the count says how many more there were.
SHOWN = 20


class Command(BaseCommand):
    help = "Check an audit export: invitations against purchases, one vote per person, exclusions, recomputed scores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--export", type=Path, required=True, help="the export's directory")
        parser.add_argument("--sample", type=int, default=100, help="invitations to sample (default 100)")
        parser.add_argument("--seed", type=int, default=0, help="the sample's random seed (default 0)")
        parser.add_argument("--check", action="append", choices=audit.CHECKS, help="run only this check (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = audit.checks_run(
                options["export"],
                sample=options["sample"],
                seed=options["seed"],
                only=options["check"] or audit.CHECKS,
            )
        except audit.AuditError as error:
            raise CommandError(str(error)) from error
        failed = [r for r in results if not r.passed]
        for r in results:
            if r.passed:
                self.stdout.write(self.style.SUCCESS(f"PASS {r.name}: {r.checked} checked"))
                continue
            self.stdout.write(self.style.ERROR(f"FAIL {r.name}: {len(r.failures)} of {r.checked} checked"))
            for failure in r.failures[:SHOWN]:
                self.stdout.write(f"  {failure}")
            if len(r.failures) > SHOWN:
                self.stdout.write(f"  … and {len(r.failures) - SHOWN} more")
        if failed:
            raise CommandError(f"failed: {', '.join(r.name for r in failed)}")
