"""Release a month's counted votes as open data (what the monthly beat task does for last month).

    python manage.py open_data_export --month 2026-11

Writes the zip under MEDIA_ROOT and lists it on /open-data/. A month is released once: run again, it
names the release already made.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings import open_data


class Command(BaseCommand):
    help = "Release a month's counted votes as an anonymised open-data zip (listed on /open-data/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM, a month that is over")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = open_data.Month.parse(options["month"])
        except ValueError as error:
            raise CommandError(f"--month takes YYYY-MM, not {options['month']!r}") from error
        try:
            release = open_data.release_build(month=month)
        except open_data.OpenDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{month}: {release.votes} votes of {release.products} products released "
            f"({release.products_suppressed} with fewer than {release.min_raters} raters left out), "
            f"{release.size_bytes} bytes in {release.file.path}"
        )
