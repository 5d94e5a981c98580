"""Bench: ``import_purchases`` on N generated lines, against the bare-SQL bound measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/importwork .venv/bin/python bench/import_purchases.py [N]

Needs a migrated PostgreSQL database. It makes bench users, stores and products there if there are
too few (bulk_create), writes a CSV of N lines (default 1,000,000; about 1.5 lines per order, 5%
refunded, 1% cancelled, 20% naming a store, 0.1% with an unknown buyer), then measures:

1. ``import_purchases`` of the file (first run: everything new), with the peak RSS of the process;
2. the same file again (re-run: nothing new, every line unchanged);
3. the bound: ``COPY`` of the same file into an unlogged staging table, then one
   ``INSERT … SELECT`` joining buyers, products and stores (sorted on the unique key, ``ON CONFLICT
   DO NOTHING``) into a copy of the order line table with the same indexes, checks and foreign keys;
4. the bound of the re-run: ``COPY`` again, an anti-join ``INSERT`` that finds nothing, and the
   ``UPDATE`` of refund states that finds nothing.

The bound does less than the import (no per-row messages, no duplicate detection), which is the point
of a bound. The bench's lines and tables are removed at the end unless ``--keep``.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from catalog.models import Brand, Category, OrderLine, Product, Store  # noqa: E402
from catalog.purchase_import import ImportReport, import_purchases  # noqa: E402

BENCH_USERS = 20_000
BENCH_PRODUCTS = 5_000
BENCH_STORES = 200
HEADER = "order_ref,line_no,buyer_email,product_slug,store_slug,quantity,unit_price,paid_at,status,status_changed_at"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ensure_catalog() -> tuple[list[str], list[str], list[str]]:
    """Emails, product slugs and store slugs to reference; bench rows are made if there are too few."""
    if User.objects.count() < BENCH_USERS:
        User.objects.bulk_create(
            [User(email=f"bench-user-{n}@example.com", password=make_password(None)) for n in range(BENCH_USERS)],
            batch_size=5000,
            ignore_conflicts=True,
        )
    if Store.objects.count() < BENCH_STORES:
        Store.objects.bulk_create(
            [Store(slug=f"bench-store-{n}", name_zh=f"店铺{n}", name_en=f"Store {n}") for n in range(BENCH_STORES)],
            ignore_conflicts=True,
        )
    if Product.objects.count() < BENCH_PRODUCTS:
        category, _ = Category.objects.get_or_create(
            slug="bench-category", defaults={"name_zh": "测试", "name_en": "Bench"}
        )
        brand, _ = Brand.objects.get_or_create(slug="bench-brand", defaults={"name_zh": "品牌", "name_en": "Brand"})
        store_ids = list(Store.objects.values_list("id", flat=True)[:BENCH_STORES])
        rng = random.Random(7)
        Product.objects.bulk_create(
            [
                Product(
                    slug=f"bench-product-{n}",
                    name_zh=f"商品{n}",
                    name_en=f"Product {n}",
                    category=category,
                    brand=brand,
                    store_id=rng.choice(store_ids),
                    price=99,
                )
                for n in range(BENCH_PRODUCTS)
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
    emails = list(User.objects.order_by("id").values_list("email", flat=True)[:BENCH_USERS])
    products = list(Product.objects.order_by("id").values_list("slug", flat=True)[:BENCH_PRODUCTS])
    stores = list(Store.objects.order_by("id").values_list("slug", flat=True)[:BENCH_STORES])
    return emails, products, stores


def write_csv(path: Path, lines: int, prefix: str, emails: list[str], products: list[str], stores: list[str]) -> None:
    """N lines in order of order_ref (as stores export them), streamed to disk."""
    rng = random.Random(42)
    start = datetime(2025, 1, 1)  # noqa: DTZ001 - naive on purpose: the importer reads it as Shanghai time
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        writer = csv.writer(out, lineterminator="\n")
        written, order = 0, 0
        while written < lines:
            order += 1
            buyer = rng.choice(emails) if rng.random() > 0.001 else f"unknown-{order}@example.com"
            paid_at = start + timedelta(seconds=rng.randrange(300 * 86400))
            for line_no in range(1, min(rng.choice((1, 1, 2, 2, 3)), lines - written) + 1):
                roll = rng.random()
                status, changed = "", ""
                if roll < 0.05:
                    status, changed = "refunded", (paid_at + timedelta(days=rng.randrange(1, 30))).isoformat(" ")
                elif roll < 0.06:
                    status, changed = "cancelled", (paid_at + timedelta(minutes=rng.randrange(1, 120))).isoformat(" ")
                writer.writerow(
                    (
                        f"{prefix}{order:010d}",
                        line_no,
                        buyer,
                        rng.choice(products),
                        rng.choice(stores) if rng.random() < 0.2 else "",
                        rng.randrange(1, 4),
                        f"{rng.randrange(100, 100000) / 100:.2f}",
                        paid_at.isoformat(" "),
                        status,
                        changed,
                    )
                )
                written += 1


def timed_import(path: Path) -> tuple[ImportReport, float]:
    started = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as source:
        report = import_purchases(stream=source)
    return report, time.perf_counter() - started


BOUND_TABLE = "bench_bound_orderline"
STAGING = "bench_staging"
COLUMNS = "order_ref, line_no, buyer_id, product_id, store_id, quantity, unit_price, paid_at, status, status_changed_at"
SELECT = """
    SELECT s.order_ref, s.line_no::int, u.id, p.id, COALESCE(st.id, p.store_id), s.quantity::int,
           s.unit_price::numeric, s.paid_at::timestamptz, COALESCE(NULLIF(s.status, ''), 'paid'),
           NULLIF(s.status_changed_at, '')::timestamptz
    FROM bench_staging s
    JOIN accounts_user u ON u.email = s.buyer_email
    JOIN catalog_product p ON p.slug = s.product_slug
    LEFT JOIN catalog_store st ON st.slug = NULLIF(s.store_slug, '')
    WHERE NULLIF(s.store_slug, '') IS NULL OR st.id IS NOT NULL
"""


def bound_setup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BOUND_TABLE}, {STAGING}")
        cursor.execute(f"CREATE TABLE {BOUND_TABLE} (LIKE catalog_orderline INCLUDING ALL)")
        for column, target in (
            ("buyer_id", "accounts_user"),
            ("product_id", "catalog_product"),
            ("store_id", "catalog_store"),
        ):
            cursor.execute(
                f"ALTER TABLE {BOUND_TABLE} ADD FOREIGN KEY ({column}) REFERENCES {target} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        cursor.execute(
            f"CREATE UNLOGGED TABLE {STAGING} (order_ref text, line_no text, buyer_email text, product_slug text, "
            "store_slug text, quantity text, unit_price text, paid_at text, status text, status_changed_at text)"
        )


def copy_into_staging(path: Path) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STAGING}")
        with path.open(encoding="utf-8") as source:
            cursor.cursor.copy_expert(f"COPY {STAGING} ({HEADER}) FROM STDIN WITH (FORMAT csv, HEADER true)", source)
        cursor.execute(f"ANALYZE {STAGING}")


def bound_first_run(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Asia/Shanghai'")
        copy_into_staging(path)
        cursor.execute(
            f"INSERT INTO {BOUND_TABLE} ({COLUMNS}, created_at, updated_at) "
            f"SELECT *, now(), now() FROM ({SELECT}) AS rows ORDER BY 1, 2 ON CONFLICT (order_ref, line_no) DO NOTHING"
        )
        inserted = cursor.rowcount
    return inserted, time.perf_counter() - started


def bound_rerun(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Asia/Shanghai'")
        copy_into_staging(path)
        cursor.execute(
            f"INSERT INTO {BOUND_TABLE} ({COLUMNS}, created_at, updated_at) "
            f"SELECT *, now(), now() FROM ({SELECT}) AS rows (order_ref, line_no) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {BOUND_TABLE} o WHERE o.order_ref = rows.order_ref "
            "AND o.line_no = rows.line_no) ORDER BY 1, 2"
        )
        changed = cursor.rowcount
        cursor.execute(
            f"UPDATE {BOUND_TABLE} o SET status = COALESCE(NULLIF(s.status, ''), 'paid'), "
            "status_changed_at = NULLIF(s.status_changed_at, '')::timestamptz, updated_at = now() "
            f"FROM {STAGING} s WHERE o.order_ref = s.order_ref AND o.line_no = s.line_no::int "
            "AND NULLIF(s.status, '') IS NOT NULL AND s.status <> 'paid' "
            "AND (o.status, o.status_changed_at) "
            "IS DISTINCT FROM (s.status, NULLIF(s.status_changed_at, '')::timestamptz)"
        )
        changed += cursor.rowcount
    return changed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lines", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the imported lines, the file and the bound tables")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The bench needs PostgreSQL: set DATABASE_URL=postgres://...")

    emails, products, stores = ensure_catalog()
    prefix = f"B{uuid.uuid4().hex[:6]}-"
    path = Path(tempfile.gettempdir()) / f"bench-purchases-{prefix}{args.lines}.csv"
    started = time.perf_counter()
    write_csv(path, args.lines, prefix, emails, products, stores)
    generated = time.perf_counter() - started
    size_mb = path.stat().st_size / 2**20
    rss_before = peak_rss_mb()

    try:
        first, first_s = timed_import(path)
        rss_first = peak_rss_mb()
        again, again_s = timed_import(path)
        rss_again = peak_rss_mb()
        bound_setup()
        bound_inserted, bound_s = bound_first_run(path)
        bound_changed, bound_rerun_s = bound_rerun(path)
    finally:
        if not args.keep:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {BOUND_TABLE}, {STAGING}")
            OrderLine.objects.filter(order_ref__startswith=prefix)._raw_delete(connection.alias)
            path.unlink(missing_ok=True)

    if first.imported != bound_inserted or (again.imported, again.updated, bound_changed) != (0, 0, 0):
        sys.exit(f"The runs disagree: {first}, {again}, bound {bound_inserted} then {bound_changed}")
    rows = first.read
    print(
        f"{rows:,} lines, {size_mb:.0f} MB, generated in {generated:.1f} s; "
        f"peak RSS before importing {rss_before:.0f} MB"
    )
    print(
        f"first run: {first.imported:,} imported, {first.rejected:,} rejected; "
        f"re-run: {again.unchanged:,} unchanged, {again.rejected:,} rejected"
    )
    table = [
        ("import_purchases, first run", rows, first_s, rss_first),
        ("import_purchases, re-run (nothing new)", rows, again_s, rss_again),
        ("bare SQL: COPY + INSERT … SELECT join", rows, bound_s, None),
        ("bare SQL re-run: COPY + anti-join + UPDATE", rows, bound_rerun_s, None),
    ]
    print(f"\n| {'step':<44} | {'rows':>10} | {'seconds':>8} | {'rows/s':>9} | {'peak RSS':>9} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 10}|{'-' * 11}|{'-' * 11}|")
    for name, count, seconds, rss in table:
        rss_text = f"{rss:.0f} MB" if rss is not None else ""
        print(f"| {name:<44} | {count:>10,} | {seconds:>8.1f} | {count / seconds:>9,.0f} | {rss_text:>9} |")
    print(f"\nratio to the bound: first run {first_s / bound_s:.1f}×, re-run {again_s / bound_rerun_s:.1f}×")


if __name__ == "__main__":
    main()
