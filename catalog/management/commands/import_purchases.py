"""``manage.py import_purchases FILE.csv``: load a store's export of order lines (docs/importing-purchases.md)."""

import csv
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.purchase_import import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    ImportReport,
    PurchaseFileError,
    RowError,
    import_purchases,
    open_purchase_file,
)


class Command(BaseCommand):
    help = (
        "Import purchase records from a CSV file (UTF-8, or UTF-16 with its BOM; header row). Good rows are "
        "imported, bad rows are reported with their line and reason; re-running a file adds nothing twice. "
        "Exits with 0 when the file was read to the end, with 1 when the file itself is unusable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file to import")
        parser.add_argument(
            "--errors", type=Path, metavar="ERRORS.csv", help="write every rejected row (line, reason) to this CSV file"
        )
        parser.add_argument(
            "--show-errors", type=int, default=20, metavar="N", help="print the first N rejected rows (default 20)"
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"rows per transaction, 1 to {MAX_CHUNK_SIZE} (default {DEFAULT_CHUNK_SIZE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        errors_path: Path | None = options["errors"]
        chunk_size: int = options["chunk_size"]
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise CommandError(f"--chunk-size must be between 1 and {MAX_CHUNK_SIZE}.")
        started = time.monotonic()
        with ExitStack() as stack:
            try:
                source = stack.enter_context(open_purchase_file(path))
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
            on_error = None
            if errors_path is not None:
                try:
                    errors_file = stack.enter_context(errors_path.open("w", encoding="utf-8", newline=""))
                except OSError as exc:
                    raise CommandError(f"Cannot write {errors_path}: {exc.strerror or exc}") from exc
                writer = csv.writer(errors_file)
                writer.writerow(["line", "reason"])

                def on_error(error: RowError) -> None:
                    writer.writerow([error.line, error.reason])

            def on_chunk(report: ImportReport) -> None:
                if options["verbosity"] >= 2:
                    self.stderr.write(f"{report.read:,} rows read, {report.rejected:,} rejected so far")

            try:
                report = import_purchases(stream=source, chunk_size=chunk_size, on_error=on_error, on_chunk=on_chunk)
            except PurchaseFileError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        self._print_report(report, path=path, errors_path=errors_path, show=max(options["show_errors"], 0))
        if options["verbosity"] >= 2:
            self.stderr.write(f"done in {time.monotonic() - started:.1f} s")

    def _print_report(self, report: ImportReport, *, path: Path, errors_path: Path | None, show: int) -> None:
        self.stdout.write(f"Import of {path}:")
        for label, count in (
            ("read", report.read),
            ("imported", report.imported),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("rejected", report.rejected),
        ):
            self.stdout.write(f"  {label:<10}{count:>12,}")
        if not report.rejected:
            return
        self.stdout.write("Rejected rows:")
        for error in report.errors[:show]:
            self.stdout.write(f"  line {error.line}: {error.reason}")
        rest = report.rejected - min(show, len(report.errors))
        if rest:
            where = f"all of them are in {errors_path}" if errors_path else "use --errors FILE.csv to get all of them"
            self.stdout.write(f"  … and {rest:,} more ({where})")
        elif errors_path:
            self.stdout.write(f"  (also written to {errors_path})")
