"""Rows into a table by PostgreSQL's ``COPY … FROM STDIN``: the bulk load shared by importers and jobs."""

import csv
import io
from collections.abc import Iterable, Sequence

from django.db import connection


def can_copy() -> bool:
    """``COPY`` is used on PostgreSQL through psycopg2; psycopg 3 has another COPY API and gets the ORM path."""
    driver = getattr(connection, "Database", None)
    return connection.vendor == "postgresql" and getattr(driver, "__name__", "") == "psycopg2"


def copy_in(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """``COPY`` rows into a table (see ``can_copy``).

    Rows go as CSV: None becomes an unquoted empty value, which COPY reads as NULL, and datetimes keep
    their UTC offset. Errors are raised as Django's (a unique violation is an ``IntegrityError``).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, buffer)
