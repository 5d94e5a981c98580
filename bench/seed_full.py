"""Bench: ``seed --scale full --flush`` on PostgreSQL, against bare-SQL bounds measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/seedwork .venv/bin/python bench/seed_full.py \
        [--scale full|demo|tiny] [--seed N] [--as-of YYYY-MM-DD] [--no-insert-select]

Needs a migrated PostgreSQL database; everything in its catalog and account tables is replaced.
Prints, per table, the rows, the seconds (generation, COPY and the rebuild of its indexes and
foreign keys) and rows/s; then two bounds for the biggest table, catalog_orderline, each into a
scratch copy of the table with the same primary key, unique and check constraints, followed by the
same secondary indexes and the same foreign keys, as the seed does:

1. COPY of the same bytes: the seed's order-line stream is generated again (same seed and date give
   the same rows) into a temporary file, untimed; then only the server's work is timed: COPY FREEZE
   of that file, index builds, foreign-key validation. Run twice, the faster kept: on a shared
   2-core machine one run can take half again as long as the next. This is the bound the ratio uses.
2. INSERT … SELECT … FROM generate_series with comparable values (time-ordered ids and references,
   random buyers, products and stores, 93/5/2 % paid/refunded/cancelled): no client at all, but the
   server computes every value, which turns out slower than reading binary COPY rows.

Each measurement starts after a CHECKPOINT, and the load average at that moment is printed. The
scratch tables live in transactions that are rolled back; the temporary file is removed.
"""

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from catalog.models import OrderLine, Product, Store  # noqa: E402
from seeding.columns import model_columns  # noqa: E402
from seeding.generator import SCALES, SeedGenerator, SeedSizes  # noqa: E402
from seeding.loading import report_table, seed_database  # noqa: E402
from seeding.pgcopy import HEADER, TRAILER  # noqa: E402
from seeding.writers import CopyWriter  # noqa: E402

BOUND_TABLE = "bench_orderline_bound"
#: The seed's scales, and a tiny one for the smoke test (tests/test_benches.py): seconds, not minutes.
SIZES = {
    **SCALES,
    "tiny": SeedSizes(users=300, products=200, brands=20, order_lines=3_000, notes=200, engagements=2_000),
}


class _Rollback(Exception):
    pass


def settle() -> str:
    """Start a measurement from a clean slate: flush dirty buffers and WAL now, not during the timing.

    The seed writes about 3 GB of WAL; without this the checkpoint it triggers runs during whatever
    is measured next. Returns the load average, to show how busy the (shared) machine was.
    """
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _secondary_indexes_and_foreign_keys(cursor: CursorWrapper) -> tuple[list[str], list[str]]:
    """catalog_orderline's non-constraint index definitions and foreign-key definitions."""
    cursor.execute(
        """
        SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x
         WHERE x.indrelid = 'catalog_orderline'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p','u','x'))
        """
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'catalog_orderline'::regclass AND contype = 'f'"
    )
    foreign_keys = [row[0] for row in cursor.fetchall()]
    return indexes, foreign_keys


def _insert_select(cursor: CursorWrapper, rows: int, as_of: str) -> None:
    users, products, stores = User.objects.count(), Product.objects.count(), Store.objects.count()
    cursor.execute(
        f"""
        INSERT INTO {BOUND_TABLE} (id, order_ref, line_no, quantity, unit_price, paid_at, status,
                                   status_changed_at, created_at, updated_at, buyer_id, product_id, store_id)
        SELECT g,
               'XHS' || to_char(t.paid_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || lpad(g::text, 10, '0'),
               1,
               CASE WHEN t.r2 < 0.8 THEN 1 ELSE 2 END,
               round((t.r3 * 300)::numeric, 1),
               t.paid_at,
               CASE WHEN t.r < 0.93 THEN 'paid' WHEN t.r < 0.98 THEN 'refunded' ELSE 'cancelled' END,
               CASE WHEN t.r < 0.93 THEN NULL ELSE t.paid_at + interval '3 days' END,
               t.paid_at - interval '5 minutes',
               CASE WHEN t.r < 0.93 THEN t.paid_at ELSE t.paid_at + interval '3 days' END,
               1 + floor(t.r4 * %(users)s)::bigint,
               1 + floor(t.r5 * %(products)s)::bigint,
               1 + floor(t.r6 * %(stores)s)::bigint
          FROM (SELECT g, random() AS r, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                       random() AS r6,
                       %(as_of)s::timestamptz - interval '1095 days'
                           + (g::float8 / %(rows)s) * interval '1095 days' AS paid_at
                  FROM generate_series(1, %(rows)s) AS g) AS t
        """,
        {"rows": rows, "users": users, "products": products, "stores": stores, "as_of": as_of},
    )


def write_same_stream(path: Path, seed: int, as_of: str, sizes: SeedSizes) -> int:
    """The seed's order-line COPY stream, byte for byte, into a file; returns the number of rows."""
    activity = SeedGenerator(sizes=sizes, seed=seed, as_of=dt.date.fromisoformat(as_of)).activity
    writer = CopyWriter()
    rows = 0
    with path.open("wb") as stream:
        stream.write(HEADER)
        for chunk in activity.order_line_chunks():
            prepared = writer.prepare(OrderLine, chunk)
            rows += prepared.rows
            for block in prepared.payload:
                stream.write(memoryview(block))
        stream.write(TRAILER)
    return rows


def measure_bound(fill: str, *, rows: int, as_of: str, stream: Path | None = None) -> dict[str, float]:
    """Seconds to fill a same-schema scratch table (``fill``: "copy" or "insert"), index it and add its FKs."""
    timings: dict[str, float] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            indexes, foreign_keys = _secondary_indexes_and_foreign_keys(cursor)
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                f"CREATE TABLE {BOUND_TABLE} (LIKE catalog_orderline "
                "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)"
            )
            cursor.execute(f"ALTER TABLE {BOUND_TABLE} ADD PRIMARY KEY (id), ADD UNIQUE (order_ref, line_no)")

            started = time.perf_counter()
            if fill == "copy" and stream is not None:
                columns = ", ".join(column.name for column in model_columns(OrderLine))
                with stream.open("rb") as source:
                    cursor.cursor.copy_expert(
                        f"COPY {BOUND_TABLE} ({columns}) FROM STDIN WITH (FORMAT binary, FREEZE)", source, size=1 << 20
                    )
            else:
                _insert_select(cursor, rows, as_of)
            timings["rows"] = time.perf_counter() - started

            started = time.perf_counter()
            for number, definition in enumerate(indexes):
                head, _, columns = definition.partition(" USING ")
                unique = "UNIQUE " if head.startswith("CREATE UNIQUE") else ""
                cursor.execute(f"CREATE {unique}INDEX bench_bound_idx_{number} ON {BOUND_TABLE} USING {columns}")
            timings["indexes"] = time.perf_counter() - started

            started = time.perf_counter()
            for definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {BOUND_TABLE} ADD {definition}")
            timings["foreign_keys"] = time.perf_counter() - started
            timings["total"] = timings["rows"] + timings["indexes"] + timings["foreign_keys"]
            timings["index_count"] = len(indexes)
            timings["foreign_key_count"] = len(foreign_keys)
            raise _Rollback
    except _Rollback:
        pass
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SIZES), default="full", help="how much to seed (tiny: smoke test)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=None, help="reference date YYYY-MM-DD (default: today)")
    parser.add_argument(
        "--no-insert-select", dest="insert_select", action="store_false", help="skip the INSERT…SELECT bound"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL=postgres://... : the full scale runs on PostgreSQL only.")
    as_of = args.as_of or timezone.localdate().isoformat()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone() or ("?",)

    loads = {"seed": settle()}
    sizes = SIZES[args.scale]
    started = time.perf_counter()
    # What ``seed --scale … --flush`` runs, without its printing (and, at demo scale, its demo ratings).
    report = seed_database(sizes=sizes, seed=args.seed, as_of=dt.date.fromisoformat(as_of), flush=True)
    wall = time.perf_counter() - started
    seed_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    lines = report.tables[OrderLine._meta.db_table]
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as scratch:
        stream = Path(scratch) / "orderline.copy"
        streamed = write_same_stream(stream, args.seed, as_of, sizes)
        if streamed != lines.rows:
            sys.exit(f"the regenerated stream has {streamed} rows, the seed wrote {lines.rows}: not deterministic?")
        size_mb = stream.stat().st_size / 1e6
        # Twice, keeping the faster: on a shared machine one run can be slowed by its neighbours.
        attempts = []
        for attempt in (1, 2):
            loads[f"COPY same bytes #{attempt}"] = settle()
            attempts.append(measure_bound("copy", rows=lines.rows, as_of=as_of, stream=stream))
        copy_bound = min(attempts, key=lambda timings: timings["total"])
    insert_bound = None
    if args.insert_select:
        loads["INSERT…SELECT"] = settle()
        insert_bound = measure_bound("insert", rows=lines.rows, as_of=as_of)

    print()
    print(
        f"seed --scale {args.scale} --flush (seed {args.seed}, as of {as_of}); "
        f"PostgreSQL {version}, {os.cpu_count()} cores,"
    )
    print(f"Python {platform.python_version()}; command wall time {wall:.1f} s, peak RSS {seed_peak_mb:,.0f} MB")
    print()
    for line in report_table(report):
        print(line)
    print()
    print(f"catalog_orderline, {lines.rows:,} rows ({size_mb:,.0f} MB of binary COPY): seed vs. bare-SQL bounds")
    bounds = [("COPY same bytes", copy_bound)] + ([("INSERT…SELECT", insert_bound)] if insert_bound else [])
    print(f"  {'':<36} {'seed':>10}" + "".join(f" {name:>16}" for name, _ in bounds))
    loading = lines.seconds - lines.rebuild_seconds
    print(f"  {'rows in':<36} {loading:>9.1f}s" + "".join(f" {b['rows']:>15.1f}s" for _, b in bounds))
    print(
        f"  {'secondary indexes + foreign keys':<36} {lines.rebuild_seconds:>9.1f}s"
        + "".join(f" {b['indexes'] + b['foreign_keys']:>15.1f}s" for _, b in bounds)
    )
    print(f"  {'total':<36} {lines.seconds:>9.1f}s" + "".join(f" {b['total']:>15.1f}s" for _, b in bounds))
    print(
        f"  {'rows/s':<36} {lines.rows / lines.seconds:>10,.0f}"
        + "".join(f" {lines.rows / b['total']:>16,.0f}" for _, b in bounds)
    )
    print(
        f"  (bound: {int(copy_bound['index_count'])} indexes {copy_bound['indexes']:.1f}s, "
        f"{int(copy_bound['foreign_key_count'])} foreign keys {copy_bound['foreign_keys']:.1f}s)"
    )
    for name, load in loads.items():
        print(f"  before {name}: CHECKPOINT, {load}")
    runs = ", ".join(f"{timings['total']:.1f}s" for timings in attempts)
    print(f"  COPY of the same bytes, both runs (rows in + indexes + foreign keys): {runs}; the faster is the bound")
    print(f"  ratio seed / bound (COPY of the same bytes): {lines.seconds / copy_bound['total']:.2f}")
    if insert_bound:
        print(f"  ratio seed / INSERT…SELECT: {lines.seconds / insert_bound['total']:.2f}")


if __name__ == "__main__":
    main()
