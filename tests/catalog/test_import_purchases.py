"""Importing purchase records from a CSV export: ``catalog.purchase_import`` and its command."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.utils import timezone, translation

from catalog import purchase_import
from catalog.models import OrderLine
from catalog.purchase_import import ImportReport, PurchaseFileError, RowError, import_purchases
from tests.factories import OrderLineFactory, ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The importer reports in the reader's language; these tests read it in English."""
    with translation.override("en"):
        yield


SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "order_ref",
    "line_no",
    "buyer_email",
    "product_slug",
    "store_slug",
    "quantity",
    "unit_price",
    "paid_at",
    "status",
    "status_changed_at",
]


def csv_text(rows: list[dict[str, Any]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def run(text: str, **kwargs: Any) -> ImportReport:
    return import_purchases(stream=io.StringIO(text), **kwargs)


@pytest.fixture
def alice() -> Any:
    return UserFactory(email="alice@example.com")


@pytest.fixture
def shampoo() -> Any:
    return ProductFactory(slug="shampoo", store=StoreFactory(slug="flagship"))


def good(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid row for alice buying the shampoo; order refs differ by ``n``."""
    row = {
        "order_ref": f"T{n:06d}",
        "line_no": 1,
        "buyer_email": "alice@example.com",
        "product_slug": "shampoo",
        "store_slug": "",
        "quantity": 1,
        "unit_price": "89.00",
        "paid_at": "2025-03-15 10:00:00",
        "status": "",
        "status_changed_at": "",
    }
    return row | overrides


def test_it_imports_every_good_row_and_reports_each_bad_one_with_its_line(alice: Any, shampoo: Any) -> None:
    # given a file whose third and fifth rows (lines 4 and 6) are bad
    text = csv_text(
        [good(1), good(2), good(3, quantity=0), good(4), good(5, buyer_email="nobody@example.com"), good(6)]
    )

    # when
    report = run(text)

    # then
    assert (report.read, report.imported, report.updated, report.unchanged, report.rejected) == (6, 4, 0, 0, 2)
    assert [error.line for error in report.errors] == [4, 6]
    assert "quantity must be at least 1" in report.errors[0].reason
    assert "nobody@example.com" in report.errors[1].reason
    assert sorted(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001", "T000002", "T000004", "T000006"]


def test_it_stores_each_value_of_a_good_row(alice: Any, shampoo: Any) -> None:
    run(csv_text([good(1, line_no=3, quantity=2, unit_price="129.9", paid_at="2025-03-15T10:00:00+08:00")]))

    line = OrderLine.objects.get()
    assert (line.order_ref, line.line_no, line.buyer, line.product) == ("T000001", 3, alice, shampoo)
    assert line.store == shampoo.store
    assert (line.quantity, line.unit_price) == (2, Decimal("129.90"))
    assert line.paid_at == datetime(2025, 3, 15, 2, 0, tzinfo=UTC)
    assert (line.status, line.status_changed_at) == ("paid", None)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"buyer_email": "nobody@example.com"}, "No user has the email 'nobody@example.com'."),
        ({"product_slug": "no-such-product"}, "No product has the slug 'no-such-product'."),
        ({"store_slug": "no-such-store"}, "No store has the slug 'no-such-store'."),
        ({"paid_at": "15/03/2025 10:00"}, "paid_at must be an ISO 8601 date and time"),
        ({"paid_at": ""}, "paid_at must be an ISO 8601 date and time"),
        ({"paid_at": "2025-02-30 10:00:00"}, "paid_at must be an ISO 8601 date and time"),
        ({"paid_at": "1999-12-31 23:00:00"}, "paid_at is before the year 2000"),
        ({"paid_at": "2999-01-01 00:00:00"}, "paid_at is in the future"),
        ({"quantity": "-2"}, "quantity must be at least 1, got -2."),
        ({"quantity": "0"}, "quantity must be at least 1, got 0."),
        ({"quantity": "1.5"}, "quantity must be a whole number, got '1.5'."),
        ({"quantity": "two"}, "quantity must be a whole number, got 'two'."),
        ({"quantity": ""}, "quantity must be a whole number"),
        ({"unit_price": "-29.90"}, "unit_price must not be negative, got -29.90."),
        ({"unit_price": "12.345"}, "unit_price has more than 2 decimal places"),
        ({"unit_price": "¥89"}, "unit_price must be a number such as 129.90"),
        ({"unit_price": "NaN"}, "unit_price must be a number such as 129.90"),
        ({"unit_price": "100000000"}, "unit_price is too large"),
        ({"status": "returned", "status_changed_at": "2025-03-20 10:00:00"}, "status must be one of paid, refunded"),
        ({"status": "refunded"}, "status_changed_at is required when the status is refunded."),
        ({"status": "cancelled"}, "status_changed_at is required when the status is cancelled."),
        ({"status_changed_at": "2025-03-20 10:00:00"}, "status_changed_at must be empty when the status is paid."),
        ({"status": "paid", "status_changed_at": "2025-03-20 10:00:00"}, "status_changed_at must be empty"),
        ({"status": "refunded", "status_changed_at": "soon"}, "status_changed_at must be an ISO 8601 date"),
        ({"status": "refunded", "status_changed_at": "2025-03-14 10:00:00"}, "status_changed_at is earlier than"),
        ({"order_ref": ""}, "order_ref is empty."),
        ({"order_ref": "X" * 41}, "order_ref is longer than 40 characters."),
        ({"line_no": "0"}, "line_no must be at least 1"),
        ({"line_no": "40000"}, "line_no must be at most 32767"),
        ({"buyer_email": ""}, "buyer_email is empty."),
        ({"product_slug": ""}, "product_slug is empty."),
    ],
)
def test_it_rejects_a_bad_row_with_its_line_and_the_reason(
    alice: Any, shampoo: Any, overrides: dict[str, Any], reason: str
) -> None:
    report = run(csv_text([good(1), good(2, **overrides), good(3)]))

    assert report.rejected == 1
    assert report.errors[0].line == 3
    assert reason in report.errors[0].reason
    assert report.imported == 2
    assert not OrderLine.objects.filter(order_ref="T000002").exists()


def test_it_reports_every_problem_of_a_row_at_once(alice: Any, shampoo: Any) -> None:
    report = run(csv_text([good(1, quantity="-1", unit_price="-1", paid_at="yesterday")]))

    [error] = report.errors
    assert "quantity" in error.reason and "unit_price" in error.reason and "paid_at" in error.reason


def test_it_rejects_a_repeated_order_line_and_names_the_line_it_first_appeared_on(alice: Any, shampoo: Any) -> None:
    # given the same order line on lines 2, 4 (same chunk) and 7 (a later chunk)
    rows = [good(1), good(2), good(1, quantity=3), good(3), good(4), good(1), good(5)]

    report = run(csv_text(rows), chunk_size=3)

    assert [(error.line, error.reason) for error in report.errors] == [
        (4, "Duplicate order line: the same order_ref and line_no are on line 2."),
        (7, "Duplicate order line: the same order_ref and line_no are on line 2."),
    ]
    assert report.imported == 5
    assert OrderLine.objects.get(order_ref="T000001").quantity == 1


def test_a_repeat_counts_as_a_duplicate_even_when_the_first_row_was_rejected(alice: Any, shampoo: Any) -> None:
    report = run(csv_text([good(1, quantity=0), good(2), good(1)]), chunk_size=2)

    assert [(error.line, error.reason.split(":")[0]) for error in report.errors] == [
        (2, "quantity must be at least 1, got 0."),
        (4, "Duplicate order line"),
    ]


def test_a_row_with_too_few_values_is_rejected_and_empty_trailing_values_are_tolerated(
    alice: Any, shampoo: Any
) -> None:
    text = csv_text([good(1)]) + "T000002,1,alice@example.com,shampoo\n" + csv_text([good(3)]).splitlines()[1] + ",,\n"

    report = run(text)

    assert report.errors == [RowError(3, "Expected 10 values, found 4.")]
    assert report.imported == 2


def test_a_row_the_csv_reader_cannot_read_or_the_database_cannot_store_is_rejected_alone(
    alice: Any, shampoo: Any
) -> None:
    text = csv_text([good(1), good(2, order_ref="T\x00"), good(3, product_slug="x" * 200_000), good(4)])

    report = run(text)

    assert [(error.line, error.reason.split(":")[0]) for error in report.errors] == [
        (3, "The row holds a NUL character, which cannot be stored."),
        (4, "This row cannot be read as CSV"),
    ]
    assert report.imported == 2


def test_a_rerun_adds_nothing_and_reports_every_line_unchanged(alice: Any, shampoo: Any) -> None:
    text = csv_text(
        [good(1), good(2, status="refunded", status_changed_at="2025-03-20 09:00:00"), good(3, paid_at="x")]
    )
    run(text)
    stored = list(OrderLine.objects.order_by("id").values())

    report = run(text)

    assert (report.read, report.imported, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 2, 1)
    assert list(OrderLine.objects.order_by("id").values()) == stored


def test_a_later_refund_updates_the_status_and_nothing_else(alice: Any, shampoo: Any) -> None:
    run(csv_text([good(1), good(2)]))
    before = OrderLine.objects.get(order_ref="T000001")

    # the store's later export: line 1 refunded, with a different price and quantity that must not win
    later = good(1, status="refunded", status_changed_at="2025-03-25 12:00:00", quantity=5, unit_price="1.00")
    report = run(csv_text([later, good(2)]))

    assert (report.imported, report.updated, report.unchanged) == (0, 1, 1)
    after = OrderLine.objects.get(order_ref="T000001")
    assert after.status == OrderLine.Status.REFUNDED
    assert after.status_changed_at == datetime(2025, 3, 25, 12, 0, tzinfo=SHANGHAI)
    assert (after.quantity, after.unit_price, after.paid_at, after.created_at) == (
        before.quantity,
        before.unit_price,
        before.paid_at,
        before.created_at,
    )
    assert after.updated_at > before.updated_at


def test_a_corrected_refund_time_updates_the_line(alice: Any, shampoo: Any) -> None:
    run(csv_text([good(1, status="refunded", status_changed_at="2025-03-25 12:00:00")]))

    report = run(csv_text([good(1, status="cancelled", status_changed_at="2025-03-16 08:00:00")]))

    assert report.updated == 1
    line = OrderLine.objects.get()
    assert (line.status, line.status_changed_at) == ("cancelled", datetime(2025, 3, 16, 8, tzinfo=SHANGHAI))


def test_an_older_export_that_still_says_paid_does_not_undo_a_refund(alice: Any, shampoo: Any) -> None:
    refunded_at = timezone.now() - timedelta(days=2)
    OrderLineFactory(
        order_ref="T000001", buyer=alice, product=shampoo, status="refunded", status_changed_at=refunded_at
    )

    report = run(csv_text([good(1)]))

    assert (report.updated, report.unchanged) == (0, 1)
    assert OrderLine.objects.get().status == OrderLine.Status.REFUNDED


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([c for c in HEADER if c != "paid_at"], "missing required column(s): paid_at"),
        ([c for c in HEADER if c not in ("buyer_email", "quantity")], "missing required column(s): buyer_email, quan"),
        ([*HEADER, "coupon"], "unknown column(s): coupon"),
        ([*HEADER, "quantity"], "repeated column(s): quantity"),
    ],
)
def test_a_bad_header_stops_the_import_before_anything_is_written(
    alice: Any, shampoo: Any, header: list[str], message: str
) -> None:
    text = csv_text([{column: value for column, value in good(1).items() if column in header}], header=header)

    with pytest.raises(PurchaseFileError) as raised:
        run(text)

    assert message in str(raised.value)
    assert "Expected the columns order_ref, line_no, buyer_email" in str(raised.value)
    assert not OrderLine.objects.exists()


def test_an_empty_file_is_unusable() -> None:
    with pytest.raises(PurchaseFileError, match="The file is empty"):
        run("")


def test_columns_may_come_in_any_order_in_any_case_and_the_optional_ones_may_be_left_out(
    alice: Any, shampoo: Any
) -> None:
    text = (
        "Paid_At , QUANTITY,unit_price,product_slug,buyer_email,line_no,order_ref\n"
        "2025-03-15 10:00:00,2,89.00,shampoo,alice@example.com,1,T000001\n"
    )

    report = run(text)

    assert report.imported == 1
    line = OrderLine.objects.get()
    assert (line.quantity, line.store, line.status) == (2, shampoo.store, "paid")


def test_a_byte_order_mark_is_ignored(alice: Any, shampoo: Any) -> None:
    report = run("\ufeff" + csv_text([good(1)]))

    assert (report.imported, report.rejected) == (1, 0)


def test_a_naive_time_is_read_in_shanghai_time_and_an_explicit_offset_is_kept(alice: Any, shampoo: Any) -> None:
    run(
        csv_text(
            [
                good(1, paid_at="2025-03-15 10:00:00"),
                good(2, paid_at="2025-03-15T10:00:00Z"),
                good(3, paid_at="2025-03-15T10:00:00-05:00"),
                good(4, paid_at="2025-03-15", status="refunded", status_changed_at="2025-03-16T09:30"),
            ]
        )
    )

    paid = dict(OrderLine.objects.values_list("order_ref", "paid_at"))
    assert paid["T000001"] == datetime(2025, 3, 15, 2, 0, tzinfo=UTC)
    assert paid["T000002"] == datetime(2025, 3, 15, 10, 0, tzinfo=UTC)
    assert paid["T000003"] == datetime(2025, 3, 15, 15, 0, tzinfo=UTC)
    assert paid["T000004"] == datetime(2025, 3, 14, 16, 0, tzinfo=UTC)
    assert OrderLine.objects.get(order_ref="T000004").status_changed_at == datetime(2025, 3, 16, 1, 30, tzinfo=UTC)


def test_the_store_defaults_to_the_products_store_and_can_be_named(alice: Any, shampoo: Any) -> None:
    outlet = StoreFactory(slug="outlet")

    run(csv_text([good(1), good(2, store_slug="outlet")]))

    stores = dict(OrderLine.objects.values_list("order_ref", "store"))
    assert stores == {"T000001": shampoo.store.pk, "T000002": outlet.pk}


def test_a_buyer_is_found_by_the_email_in_lower_case(alice: Any, shampoo: Any) -> None:
    report = run(csv_text([good(1, buyer_email=" Alice@Example.COM ")]))

    assert report.imported == 1
    assert OrderLine.objects.get().buyer == alice


def test_status_may_be_written_in_capitals_and_canceled_in_american_spelling(alice: Any, shampoo: Any) -> None:
    run(csv_text([good(1, status="Canceled", status_changed_at="2025-03-15 11:00"), good(2, status="PAID")]))

    assert dict(OrderLine.objects.values_list("order_ref", "status")) == {"T000001": "cancelled", "T000002": "paid"}


def test_it_keeps_the_first_errors_in_the_report_and_hands_every_one_to_the_callback(alice: Any, shampoo: Any) -> None:
    seen: list[RowError] = []

    report = run(csv_text([good(n, quantity=0) for n in range(5)]), max_errors_kept=2, on_error=seen.append)

    assert report.rejected == 5
    assert [error.line for error in report.errors] == [2, 3]
    assert report.errors_not_kept == 3
    assert [error.line for error in seen] == [2, 3, 4, 5, 6]


def test_the_number_of_queries_per_chunk_does_not_grow_with_the_file(
    django_assert_max_num_queries: Any, alice: Any
) -> None:
    # rows spread over several buyers, products and stores, refunds and named stores included
    buyers = [alice, *UserFactory.create_batch(3)]
    products = [ProductFactory() for _ in range(4)]

    def rows(count: int) -> list[dict[str, Any]]:
        return [
            good(
                n,
                buyer_email=buyers[n % 4].email,
                product_slug=products[n % 4].slug,
                store_slug=products[(n + 1) % 4].store.slug if n % 3 == 0 else "",
                status="refunded" if n % 5 == 0 else "",
                status_changed_at="2025-03-20 10:00:00" if n % 5 == 0 else "",
            )
            for n in range(count)
        ]

    # Per chunk at most: savepoint, seen keys (+ savepoint on PostgreSQL), buyers, products, stores,
    # existing lines, insert, upsert, release. Django does not count PostgreSQL's COPY statements.
    per_chunk, per_run = 10, 2
    with django_assert_max_num_queries(per_run + 1 * per_chunk):
        assert run(csv_text(rows(10)), chunk_size=10).imported == 10
    with django_assert_max_num_queries(per_run + 5 * per_chunk):
        assert run(csv_text(rows(50)), chunk_size=10).unchanged == 10


def test_a_failure_keeps_the_chunks_before_it_and_a_rerun_carries_on(
    alice: Any, shampoo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = csv_text([good(n) for n in range(1, 8)])
    real_insert = purchase_import._insert_lines
    calls = 0

    def crash_on_the_second_chunk(objs: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the machine went away")
        return real_insert(objs, **kwargs)

    monkeypatch.setattr(purchase_import, "_insert_lines", crash_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        run(text, chunk_size=3)
    assert OrderLine.objects.count() == 3
    monkeypatch.undo()

    report = run(text, chunk_size=3)

    assert (report.imported, report.unchanged) == (4, 3)
    assert OrderLine.objects.count() == 7


def test_a_chunk_that_lost_a_race_for_an_order_line_is_done_again(
    alice: Any, shampoo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_insert = purchase_import._insert_lines
    calls = 0

    def conflict_once(objs: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_insert(objs, **kwargs)

    monkeypatch.setattr(purchase_import, "_insert_lines", conflict_once)

    report = run(csv_text([good(1), good(2)]))

    assert (report.imported, report.rejected) == (2, 0)
    assert OrderLine.objects.count() == 2


# --- conflicts, malformed files and invisible characters ---------------------------------------------


@pytest.fixture
def bob() -> Any:
    return UserFactory(email="bob@example.com")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"buyer_email": "bob@example.com"}, "buyer_email"),
        ({"product_slug": "conditioner"}, "product_slug"),
        ({"store_slug": "outlet"}, "store_slug"),
        ({"buyer_email": "bob@example.com", "product_slug": "conditioner"}, "buyer_email, product_slug"),
    ],
)
def test_a_refund_for_another_buyer_product_or_store_is_refused_as_a_conflict_and_not_applied(
    alice: Any, bob: Any, shampoo: Any, overrides: dict[str, Any], named: str
) -> None:
    # given alice's stored purchase of the shampoo
    ProductFactory(slug="conditioner")
    StoreFactory(slug="outlet")
    run(csv_text([good(1), good(2)]))
    stored = list(OrderLine.objects.order_by("id").values())

    # when a later file refunds the same order line, naming someone or something else
    refund = good(1, status="refunded", status_changed_at="2025-03-25 12:00:00", **overrides)
    report = run(csv_text([refund, good(2), good(3)]))

    # then the row is reported on its line, nothing of the stored line changes, and the rest goes on
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (1, 0, 1, 1)
    assert report.errors == [
        RowError(
            2,
            f"Conflict: order line T000001/1 is stored with another {named}; the row is not applied "
            "(correct the stored line in the admin if it really changed).",
        )
    ]
    assert list(OrderLine.objects.filter(order_ref__in=["T000001", "T000002"]).order_by("id").values()) == stored


def test_another_buyers_line_that_reuses_a_stored_order_line_is_reported_not_counted_unchanged(
    alice: Any, bob: Any, shampoo: Any
) -> None:
    run(csv_text([good(1)]))

    report = run(csv_text([good(1, buyer_email="bob@example.com")]))

    assert (report.unchanged, report.rejected) == (0, 1)
    assert report.errors[0].reason.startswith("Conflict: order line T000001/1 is stored with another buyer_email")
    assert list(OrderLine.objects.values_list("buyer__email", flat=True)) == ["alice@example.com"]


def test_a_row_without_a_store_does_not_conflict_with_the_store_the_line_was_stored_with(
    alice: Any, shampoo: Any
) -> None:
    # the line was sold by another store than the product's own; the later export leaves the store out
    StoreFactory(slug="outlet")
    run(csv_text([good(1, store_slug="outlet")]))

    report = run(csv_text([good(1, status="refunded", status_changed_at="2025-03-25 12:00:00")]))

    assert (report.updated, report.rejected) == (1, 0)


def test_an_unclosed_quote_is_reported_on_its_line_and_the_rows_after_it_are_still_read(
    alice: Any, shampoo: Any
) -> None:
    # given twelve rows, the ninth of which (line 10) opens a quote it never closes
    lines = csv_text([good(n) for n in range(1, 13)]).splitlines(keepends=True)
    lines[9] = lines[9].replace("alice@example.com", '"alice@example.com', 1)

    report = run("".join(lines))

    assert (report.read, report.imported, report.rejected) == (12, 11, 1)
    assert report.errors == [
        RowError(
            10,
            "A quote opened on this line is not closed on it (a value cannot hold a line break); "
            "the next line is read as a row of its own.",
        )
    ]
    assert not OrderLine.objects.filter(order_ref="T000009").exists()


def test_an_unclosed_quote_that_a_later_line_closes_loses_none_of_the_lines_between(alice: Any, shampoo: Any) -> None:
    lines = csv_text([good(n) for n in range(1, 6)]).splitlines(keepends=True)
    lines[2] = lines[2].replace("shampoo", '"shampoo', 1)  # line 3 opens a quote ...
    lines[4] = lines[4].replace("shampoo", 'sham"poo', 1)  # ... that line 5 seems to close

    report = run("".join(lines))

    assert [error.line for error in report.errors] == [3, 5]
    assert sorted(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001", "T000003", "T000005"]
    assert report.read == 5


def test_a_header_with_an_unclosed_quote_makes_the_file_unusable() -> None:
    with pytest.raises(PurchaseFileError, match="header row has a quote that is not closed"):
        run('order_ref,"line_no,buyer_email\nT1,1,a@example.com\n')


def test_an_order_ref_loses_a_byte_order_mark_and_zero_width_or_bidi_characters(alice: Any, shampoo: Any) -> None:
    # given a stored line, and a later file whose refs carry invisible characters (a pasted BOM,
    # a zero-width space, a right-to-left mark)
    run(csv_text([good(1), good(2)]))
    later = [
        good(1, order_ref="\ufeffT000001", status="refunded", status_changed_at="2025-03-25 12:00:00"),
        good(2, order_ref="T000\u200b002"),
        good(3, order_ref="\u200fT000003\u200e"),
    ]

    report = run(csv_text(later))

    # then they are the same order lines as the visible refs, and a new line is stored without them
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (1, 1, 1, 0)
    assert sorted(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001", "T000002", "T000003"]
    assert OrderLine.objects.get(order_ref="T000001").status == OrderLine.Status.REFUNDED


def test_an_order_ref_of_invisible_characters_only_is_empty(alice: Any, shampoo: Any) -> None:
    report = run(csv_text([good(1, order_ref="\u200b\u200b")]))

    assert report.errors == [RowError(2, "order_ref is empty.")]


def test_the_command_reads_a_utf16_file_as_written(alice: Any, shampoo: Any, tmp_path: Path) -> None:
    source = tmp_path / "purchases.csv"
    source.write_bytes(csv_text([good(1), good(2, order_ref="订单2")]).encode("utf-16"))  # with its BOM
    out = io.StringIO()

    call_command("import_purchases", str(source), stdout=out)

    assert "imported             2" in out.getvalue()
    assert sorted(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001", "订单2"]


def test_the_command_refuses_a_utf16_file_without_byte_order_mark_with_a_clear_reason(tmp_path: Path) -> None:
    source = tmp_path / "purchases.csv"
    source.write_bytes(csv_text([good(1)]).encode("utf-16-le"))

    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_purchases", str(source))
    assert not OrderLine.objects.exists()


def test_the_command_reports_each_row_of_a_gbk_file_that_is_not_ascii_and_imports_the_rest(
    alice: Any, shampoo: Any, tmp_path: Path
) -> None:
    source = tmp_path / "purchases.csv"
    rows = [good(1), good(2, order_ref="订单2"), good(3), good(4, order_ref="订单4"), good(5)]
    source.write_bytes(csv_text(rows).encode("gbk"))
    out = io.StringIO()

    call_command("import_purchases", str(source), stdout=out)

    printed = out.getvalue()
    assert "read                 5" in printed
    assert "line 3: The row holds bytes that are not valid UTF-8" in printed
    assert "line 5: The row holds bytes that are not valid UTF-8" in printed
    assert sorted(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001", "T000003", "T000005"]


# --- the command ----------------------------------------------------------------------------------


def test_the_command_imports_a_file_prints_a_summary_and_writes_every_rejected_row(
    alice: Any, shampoo: Any, tmp_path: Path
) -> None:
    source = tmp_path / "purchases.csv"
    source.write_bytes(("\ufeff" + csv_text([good(1), good(2, quantity=0), good(3, unit_price="-1")])).encode())
    errors = tmp_path / "errors.csv"
    out = io.StringIO()

    call_command("import_purchases", str(source), "--errors", str(errors), "--show-errors", "1", stdout=out)

    printed = out.getvalue()
    assert "read                 3" in printed
    assert "imported             1" in printed
    assert "rejected             2" in printed
    assert "line 3: quantity must be at least 1, got 0." in printed
    assert "line 4" not in printed
    assert f"… and 1 more (all of them are in {errors})" in printed
    assert list(csv.reader(errors.open(encoding="utf-8"))) == [
        ["line", "reason"],
        ["3", "quantity must be at least 1, got 0."],
        ["4", "unit_price must not be negative, got -1."],
    ]


def test_the_command_rejects_a_row_that_is_not_utf8_and_imports_the_rest(
    alice: Any, shampoo: Any, tmp_path: Path
) -> None:
    source = tmp_path / "purchases.csv"
    source.write_bytes(csv_text([good(1), good(2, order_ref="订单2")]).encode("gbk"))
    out = io.StringIO()

    call_command("import_purchases", str(source), stdout=out)

    assert "line 3: The row holds bytes that are not valid UTF-8" in out.getvalue()
    assert list(OrderLine.objects.values_list("order_ref", flat=True)) == ["T000001"]


def test_the_command_fails_on_a_missing_file_or_an_unusable_header(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_purchases", str(tmp_path / "missing.csv"))

    bad = tmp_path / "bad.csv"
    bad.write_text("order,buyer\nT1,alice@example.com\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing required column"):
        call_command("import_purchases", str(bad))


# --- the samples in samples/ and docs/importing-purchases.md ---------------------------------------


@pytest.fixture
def sample_catalog() -> None:
    for email in ("li.wei", "zhang.min", "chen.jing", "wang.fang", "liu.yang"):
        UserFactory(email=f"{email}@example.com")
    StoreFactory(slug="beauty-outlet")
    for slug in (
        "hydrating-shampoo-500ml",
        "green-tea-essence-30ml",
        "silk-scarf-classic",
        "jasmine-tea-250g",
        "bamboo-toothbrush-4pack",
    ):
        ProductFactory(slug=slug)


def test_the_good_sample_imports_every_row_and_a_second_run_changes_nothing(sample_catalog: None) -> None:
    out = io.StringIO()
    call_command("import_purchases", str(SAMPLES / "purchases.csv"), stdout=out)
    again = io.StringIO()
    call_command("import_purchases", str(SAMPLES / "purchases.csv"), stdout=again)

    assert "imported            30" in out.getvalue()
    assert "rejected             0" in out.getvalue()
    assert "unchanged           30" in again.getvalue()
    assert OrderLine.objects.count() == 30
    assert OrderLine.objects.exclude(status="paid").count() == 4


def test_the_sample_with_errors_rejects_the_rows_the_docs_list(sample_catalog: None) -> None:
    with (SAMPLES / "purchases_with_errors.csv").open(encoding="utf-8-sig", newline="") as source:
        report = import_purchases(stream=source)

    assert (report.read, report.imported, report.rejected) == (15, 3, 12)
    assert [error.line for error in report.errors] == list(range(3, 15))
    docs = (SAMPLES.parent / "docs" / "importing-purchases.md").read_text(encoding="utf-8")
    for error in report.errors:
        assert f"line {error.line}: {error.reason}" in docs
