"""Importing purchase records (order lines) from a store's CSV export.

The file is read row by row and written chunk by chunk, so memory stays flat however long the file
is: the process holds one chunk of rows, the product and store slugs met so far (bounded) and the
first errors; the keys met so far, needed to catch a line repeated anywhere in the file, are kept in
a temporary table. Each chunk costs a fixed number of statements and commits in its own transaction
(a savepoint when the caller has a transaction open).

Idempotency contract: the unique constraint on (order_ref, line_no) is the guarantee that a line is
never stored twice. Re-running a file, or the rest of a file after a crash, inserts only the lines
that are missing; a line that exists already is left alone, except that it takes a refund or a
cancellation the file reports for it (stores export refunds later than the sale), which also withdraws
what the purchase earned (``ratings.purchases.purchases_withdrawn``, in the same transaction). A
refunded or cancelled line never goes back to paid, and a row naming another buyer, product or store
than the stored line is refused as a conflict. See docs/importing-purchases.md.
"""

import codecs
import contextlib
import csv
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TextIO, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.models import OrderLine, Product, Store
from ratings.purchases import purchases_withdrawn
from xhs.copy_in import can_copy, copy_in

REQUIRED_COLUMNS = ("order_ref", "line_no", "buyer_email", "product_slug", "quantity", "unit_price", "paid_at")
OPTIONAL_COLUMNS = ("store_slug", "status", "status_changed_at")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

DEFAULT_CHUNK_SIZE = 5000
#: A chunk is held in memory and written in one transaction; larger ones gain nothing measurable.
MAX_CHUNK_SIZE = 10_000
DEFAULT_MAX_ERRORS_KEPT = 1000
#: Products and stores are few (about 20k); the bound only keeps a file of made-up slugs from growing it.
_SLUG_CACHE_LIMIT = 100_000

_ORDER_REF_MAX_LENGTH = OrderLine._meta.get_field("order_ref").max_length or 40
_LINE_NO_MAX = 32_767  # PositiveSmallIntegerField
_QUANTITY_MAX = 2_147_483_647  # PositiveIntegerField
_PRICE_LIMIT = Decimal(10) ** 8  # DecimalField(max_digits=10, decimal_places=2)
_CENT = Decimal("0.01")
_DIGITS = re.compile(r"[0-9]+")
_PRICE_FORMAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: Clocks of the store and of this server may disagree a little; a day ahead is surely a mistake.
_FUTURE_SLACK = timedelta(days=1)
#: Invisible characters that exports and copy-paste slip into values: byte order marks, zero-width spaces
#: and joiners, bidirectional controls. Removed from every value, so "T1\u200b" is the order line "T1".
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_STATUS_ALIASES = {"": OrderLine.Status.PAID.value, "canceled": OrderLine.Status.CANCELLED.value}
_STATUSES = frozenset(OrderLine.Status.values)
_PAID = OrderLine.Status.PAID.value


class PurchaseFileError(ValueError):
    """The file as a whole cannot be imported (no header, unknown or missing columns); nothing was written."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: its line in the file (the first line of the record, header = line 1) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What a run did. ``read == imported + updated + unchanged + rejected``.

    ``errors`` holds the first rejected rows only (see ``max_errors_kept``); every one of them goes to
    the ``on_error`` callback.
    """

    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def errors_not_kept(self) -> int:
        return self.rejected - len(self.errors)


def import_purchases(
    *,
    stream: Iterable[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_errors_kept: int = DEFAULT_MAX_ERRORS_KEPT,
    on_error: Callable[[RowError], None] | None = None,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import the purchase records of a CSV export and report what happened to each row.

    ``stream`` yields the lines of the file (a text file opened with ``newline=""``, a ``StringIO``,
    a list of lines); a leading BOM is ignored. The header is checked first: a missing, unknown or
    repeated column raises ``PurchaseFileError`` before anything is written. Then every good row is
    imported and every bad one is reported with its line and reason, in file order, to ``on_error``
    (after its chunk has committed). ``on_chunk`` sees the running report after each chunk.

    Each chunk of ``chunk_size`` rows is validated, resolved (buyers by email, products and stores by
    slug: one query each) and written (one insert for the new lines, one upsert for the changed ones)
    in its own transaction, so a crash keeps the chunks before it and a re-run carries on correctly.
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}")
    report = ImportReport()
    lines = _Lines(stream)
    reader = csv.reader(lines)
    columns = _read_header(reader, lines)
    with _SeenKeys() as seen:
        importer = _ChunkImporter(columns=columns, seen=seen)
        for chunk in _chunks(_records(reader, lines), chunk_size):
            outcome = importer.import_chunk(chunk)
            report.read += len(chunk)
            report.imported += outcome.imported
            report.updated += outcome.updated
            report.unchanged += outcome.unchanged
            report.rejected += len(outcome.errors)
            for error in outcome.errors:
                if len(report.errors) < max_errors_kept:
                    report.errors.append(error)
                if on_error is not None:
                    on_error(error)
            if on_chunk is not None:
                on_chunk(report)
            if settings.DEBUG and not connection.force_debug_cursor:
                # DEBUG keeps the last 9,000 statements, and ours carry thousands of values each.
                connection.queries_log.clear()
    return report


def open_purchase_file(path: Path) -> TextIO:
    """Open a store's export for ``import_purchases``: UTF-8 with or without a BOM, or UTF-16 with its BOM.

    Bytes that are not valid in that encoding (a GBK export) become U+FFFD, so that each row holding
    them is rejected on its own line instead of the file failing as a whole. Raises ``OSError``.
    """
    with path.open("rb") as raw:
        start = raw.read(2)
    utf16 = start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    return path.open(encoding="utf-16" if utf16 else "utf-8-sig", errors="replace", newline="")


# --- Reading ----------------------------------------------------------------------------------


class _Columns(NamedTuple):
    """Where each column is in a record; -1 for an optional column the file does not have."""

    order_ref: int
    line_no: int
    buyer_email: int
    product_slug: int
    quantity: int
    unit_price: int
    paid_at: int
    store_slug: int
    status: int
    status_changed_at: int
    width: int


class _Lines:
    """The file's lines, handed to the csv reader and counted here, one record at a time.

    No value of this format holds a line break, so a record that takes more than one line has a quote
    left open on its first line: ``end_record`` says so and gives back the lines the record swallowed,
    to be read again as rows of their own. Nothing after an unclosed quote is lost, and line numbers stay
    those of the file (the csv reader's own count would include lines read twice).
    """

    def __init__(self, stream: Iterable[str]) -> None:
        self._stream = iter(stream)
        self._again: list[str] = []  # lines to read again, the next one last
        self._taken: list[str] = []
        #: The line the last record started on (the header is line 1).
        self.line = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._stream)
        self._taken.append(line)
        return line

    def end_record(self) -> bool:
        """Close the record just read; False when it ran past its first line."""
        taken, self._taken = self._taken, []
        if taken:
            self.line += 1
        if len(taken) <= 1:
            return True
        self._again.extend(reversed(taken[1:]))
        return False


def _unclosed_quote(one_line: bool, values: list[str]) -> bool:
    # A quote left open on the last line of the file keeps that line's end as the last value's.
    return not one_line or bool(values and values[-1].endswith(("\n", "\r")))


def _read_header(reader: Iterator[list[str]], lines: _Lines) -> _Columns:
    try:
        header = next(reader)
    except StopIteration:
        raise PurchaseFileError(_empty_file_message()) from None
    except csv.Error as exc:
        raise PurchaseFileError(_("The header row cannot be read as CSV: %(error)s") % {"error": exc}) from exc
    if _unclosed_quote(lines.end_record(), header):
        raise PurchaseFileError(_("The header row has a quote that is not closed on its line."))
    joined = "".join(header)
    if "\x00" in joined or "\ufffd" in joined:
        raise PurchaseFileError(
            _(
                "The header row holds bytes that are not UTF-8 (a file saved as UTF-16 without a byte order "
                "mark, or as GBK); save the file as UTF-8."
            )
        )
    names = [_INVISIBLE.sub("", name).strip().lower() for name in header]
    while names and not names[-1]:  # spreadsheets like to add empty trailing columns
        names.pop()
    if not names:
        raise PurchaseFileError(_empty_file_message())
    repeated = sorted({name for name in names if names.count(name) > 1})
    unknown = [name or _("(empty)") for name in names if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    problems: list[str] = []
    if missing:
        problems.append(_("missing required column(s): %(names)s") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown column(s): %(names)s") % {"names": ", ".join(unknown)})
    if repeated:
        problems.append(_("repeated column(s): %(names)s") % {"names": ", ".join(repeated)})
    if problems:
        raise PurchaseFileError(
            _(
                "The header row is not usable (%(problems)s). "
                "Expected the columns %(required)s, optionally %(optional)s."
            )
            % {
                "problems": "; ".join(problems),
                "required": ", ".join(REQUIRED_COLUMNS),
                "optional": ", ".join(OPTIONAL_COLUMNS),
            }
        )
    position = {name: index for index, name in enumerate(names)}
    return _Columns._make([*(position.get(name, -1) for name in COLUMNS), len(names)])


def _empty_file_message() -> str:
    return _("The file is empty: it needs a header row naming the columns %(required)s.") % {
        "required": ", ".join(REQUIRED_COLUMNS)
    }


class _Record(NamedTuple):
    line: int
    values: list[str]
    #: Set when the csv module itself could not read the record.
    unreadable: str | None = None


def _records(reader: Iterator[list[str]], lines: _Lines) -> Iterator[_Record]:
    """The data records with the line each starts on; blank lines are skipped."""
    while True:
        unreadable = None
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            values = []
            unreadable = _("This row cannot be read as CSV: %(error)s") % {"error": exc}
        if _unclosed_quote(lines.end_record(), values):
            values = []
            unreadable = _(
                "A quote opened on this line is not closed on it (a value cannot hold a line break); "
                "the next line is read as a row of its own."
            )
        if values or unreadable:
            yield _Record(lines.line, values, unreadable)


def _chunks(records: Iterator[_Record], size: int) -> Iterator[list[_Record]]:
    chunk: list[_Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Validating a row (no database) ----------------------------------------------------------------


class _Row(NamedTuple):
    line: int
    order_ref: str
    line_no: int
    buyer_email: str
    product_slug: str
    store_slug: str
    quantity: int
    unit_price: Decimal
    paid_at: datetime
    status: str
    status_changed_at: datetime | None


_Key = tuple[str, int]
_T = TypeVar("_T")


def _parse(
    record: _Record, columns: _Columns, tz: tzinfo, latest: datetime
) -> tuple[_Key | None, _Row | None, list[str]]:
    """The row's order line key (when readable), the row (when valid) and the problems found in it."""
    if record.unreadable is not None:
        return None, None, [record.unreadable]
    values = [value.strip() for value in record.values]
    # Values past the header's last column are tolerated when empty (a trailing comma).
    if len(values) < columns.width or (len(values) > columns.width and any(values[columns.width :])):
        message = _("Expected %(expected)d values, found %(found)d.")
        return None, None, [message % {"expected": columns.width, "found": len(values)}]
    joined = "".join(values)
    if _INVISIBLE.search(joined):
        values = [_INVISIBLE.sub("", value).strip() for value in values]
    if "\ufffd" in joined:
        return None, None, [_("The row holds bytes that are not valid UTF-8; save the file as UTF-8.")]
    if "\x00" in joined:
        return None, None, [_("The row holds a NUL character, which cannot be stored.")]
    problems: list[str] = []

    order_ref = values[columns.order_ref]
    if not order_ref:
        problems.append(_("order_ref is empty."))
    elif len(order_ref) > _ORDER_REF_MAX_LENGTH:
        problems.append(_("order_ref is longer than %(max)d characters.") % {"max": _ORDER_REF_MAX_LENGTH})
    line_no = _whole_number(values[columns.line_no], "line_no", _LINE_NO_MAX, problems)
    key = (order_ref, line_no) if line_no is not None and not problems else None

    buyer_email = values[columns.buyer_email]
    if not buyer_email:
        problems.append(_("buyer_email is empty."))
    product_slug = values[columns.product_slug]
    if not product_slug:
        problems.append(_("product_slug is empty."))
    store_slug = values[columns.store_slug] if columns.store_slug >= 0 else ""
    quantity = _whole_number(values[columns.quantity], "quantity", _QUANTITY_MAX, problems)
    unit_price = _price(values[columns.unit_price], problems)
    paid_at = _moment(values[columns.paid_at], "paid_at", tz, latest, problems)

    status = values[columns.status].lower() if columns.status >= 0 else ""
    status = _STATUS_ALIASES.get(status, status)
    changed_text = values[columns.status_changed_at] if columns.status_changed_at >= 0 else ""
    status_changed_at = None
    if status not in _STATUSES:
        problems.append(
            _("status must be one of paid, refunded, cancelled (empty means paid), got %(value)s.")
            % {"value": _shown(status)}
        )
    elif status == _PAID:
        if changed_text:
            problems.append(_("status_changed_at must be empty when the status is paid."))
    elif not changed_text:
        problems.append(_("status_changed_at is required when the status is %(status)s.") % {"status": status})
    else:
        status_changed_at = _moment(changed_text, "status_changed_at", tz, latest, problems)
        if status_changed_at is not None and paid_at is not None and status_changed_at < paid_at:
            problems.append(_("status_changed_at is earlier than paid_at."))

    if problems or line_no is None or quantity is None or unit_price is None or paid_at is None:
        return key, None, problems
    row = _Row(
        record.line, order_ref, line_no, buyer_email, product_slug, store_slug, quantity, unit_price, paid_at,
        status, status_changed_at,
    )  # fmt: skip
    return key, row, problems


def _shown(value: str) -> str:
    """A value quoted in a message, cut short so one absurd cell cannot flood the report."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _whole_number(text: str, column: str, maximum: int, problems: list[str]) -> int | None:
    # ASCII digits only: int() would also take signs, underscores and every script's digits ("５").
    if not _DIGITS.fullmatch(text):
        if text.startswith("-") and _DIGITS.fullmatch(text[1:]):
            problems.append(_("%(column)s must be at least 1, got %(value)s.") % {"column": column, "value": text})
        else:
            problems.append(
                _("%(column)s must be a whole number, got %(value)s.") % {"column": column, "value": _shown(text)}
            )
        return None
    number = int(text)
    if number < 1:
        problems.append(_("%(column)s must be at least 1, got %(value)s.") % {"column": column, "value": text})
        return None
    if number > maximum:
        problems.append(
            _("%(column)s must be at most %(max)d, got %(value)s.") % {"column": column, "max": maximum, "value": text}
        )
        return None
    return number


def _price(text: str, problems: list[str]) -> Decimal | None:
    # Plain decimals only: Decimal() would also take "1e3", "1_000", "NaN" and every script's digits.
    if not _PRICE_FORMAT.fullmatch(text):
        problems.append(_("unit_price must be a number such as 129.90, got %(value)s.") % {"value": _shown(text)})
        return None
    price = Decimal(text)
    if price < 0:
        problems.append(_("unit_price must not be negative, got %(value)s.") % {"value": text})
        return None
    if price >= _PRICE_LIMIT:
        problems.append(_("unit_price is too large, got %(value)s.") % {"value": _shown(text)})
        return None
    rounded = price.quantize(_CENT)
    if rounded != price:
        problems.append(_("unit_price has more than 2 decimal places, got %(value)s.") % {"value": text})
        return None
    return rounded


def _moment(text: str, column: str, tz: tzinfo, latest: datetime, problems: list[str]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            _("%(column)s must be an ISO 8601 date and time such as 2025-03-01T14:30:00+08:00, got %(value)s.")
            % {"column": column, "value": _shown(text)}
        )
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # what make_aware() does for a zoneinfo zone, without its checks
    if moment < _EARLIEST:
        problems.append(_("%(column)s is before the year 2000, got %(value)s.") % {"column": column, "value": text})
        return None
    if moment > latest:
        problems.append(_("%(column)s is in the future, got %(value)s.") % {"column": column, "value": text})
        return None
    return moment


# --- Writing a chunk -----------------------------------------------------------------------------


class _ChunkOutcome(NamedTuple):
    imported: int
    updated: int
    unchanged: int
    errors: list[RowError]


class _ChunkImporter:
    """Imports one chunk at a time; remembers product and store slugs across chunks."""

    def __init__(self, *, columns: _Columns, seen: "_SeenKeys") -> None:
        self.columns = columns
        self.seen = seen
        self.timezone = timezone.get_default_timezone()
        self.products: dict[str, tuple[int, int] | None] = {}
        self.stores: dict[str, int | None] = {}

    def import_chunk(self, chunk: Sequence[_Record]) -> _ChunkOutcome:
        """Validate, resolve and write one chunk in one transaction; retried once on a unique-key race."""
        try:
            with transaction.atomic():
                return self._import_chunk(chunk)
        except IntegrityError:
            # Another writer stored one of these lines (or deleted a product) between our read and our
            # write. The transaction rolled back, so the chunk is simply done again with fresh lookups.
            self.products.clear()
            self.stores.clear()
            with transaction.atomic():
                return self._import_chunk(chunk)

    def _import_chunk(self, chunk: Sequence[_Record]) -> _ChunkOutcome:
        errors: list[RowError] = []
        latest = timezone.now() + _FUTURE_SLACK
        first_line_of: dict[_Key, int] = {}
        rows: list[_Row] = []
        for record in chunk:
            key, row, problems = _parse(record, self.columns, self.timezone, latest)
            if key is not None:
                first = first_line_of.setdefault(key, record.line)
                if first != record.line:
                    problems = [_duplicate_message(first)]
                    row = None
            if row is not None:
                rows.append(row)
            elif problems:
                errors.append(RowError(record.line, " ".join(problems)))

        earlier = self.seen.add(first_line_of)
        if earlier:
            # A repeat of an earlier chunk's line: that is the one thing to say about the row.
            repeats = {line: earlier[key] for key, line in first_line_of.items() if key in earlier}
            rows = [row for row in rows if row.line not in repeats]
            errors = [error for error in errors if error.line not in repeats]
            errors.extend(RowError(line, _duplicate_message(first)) for line, first in repeats.items())

        buyers = self._buyers({row.buyer_email for row in rows})
        products = self._products({row.product_slug for row in rows})
        stores = self._stores({row.store_slug for row in rows if row.store_slug})
        existing = _stored_states({(row.order_ref, row.line_no) for row in rows})

        new: list[_Line] = []
        changed: list[_Line] = []
        withdrawn: list[int] = []
        unchanged = 0
        for row in rows:
            buyer_id = buyers.get(row.buyer_email) or buyers.get(row.buyer_email.lower())
            product = products.get(row.product_slug)
            store_id = stores.get(row.store_slug) if row.store_slug else (product[1] if product else None)
            problems = []
            if buyer_id is None:
                problems.append(_("No user has the email %(email)s.") % {"email": _shown(row.buyer_email)})
            if product is None:
                problems.append(_("No product has the slug %(slug)s.") % {"slug": _shown(row.product_slug)})
            if row.store_slug and store_id is None:
                problems.append(_("No store has the slug %(slug)s.") % {"slug": _shown(row.store_slug)})
            if problems or buyer_id is None or product is None or store_id is None:
                errors.append(RowError(row.line, " ".join(problems)))
                continue
            current = existing.get((row.order_ref, row.line_no))
            if current is not None:
                # An order line is one sale: a row about it that names someone or something else is a
                # mistake somewhere, and applying its refund would withdraw another buyer's purchase.
                # A row without a store is not compared: the product may have moved store since.
                others = [
                    column
                    for column, stored, named in (
                        ("buyer_email", current.buyer_id, buyer_id),
                        ("product_slug", current.product_id, product[0]),
                        ("store_slug", current.store_id, store_id if row.store_slug else current.store_id),
                    )
                    if stored != named
                ]
                if others:
                    errors.append(RowError(row.line, _conflict_message(row, others)))
                    continue
                if (current.status, current.status_changed_at) == (row.status, row.status_changed_at) or (
                    # An older export still says paid; the refund or cancellation recorded since stands.
                    row.status == _PAID
                ):
                    unchanged += 1
                    continue
                withdrawn.append(current.id)
            line = _Line(
                row.order_ref, row.line_no, buyer_id, product[0], store_id, row.quantity, row.unit_price, row.paid_at,
                row.status, row.status_changed_at,
            )  # fmt: skip
            (new if current is None else changed).append(line)

        now = timezone.now()
        if new:
            _insert_lines(new, now=now)
        if changed:
            _update_states(changed, now=now)
            # Only stored lines can have earned an invitation; new ones, refunded or not, have not yet.
            purchases_withdrawn(order_line_ids=withdrawn, now=now)
        errors.sort(key=lambda error: error.line)
        return _ChunkOutcome(imported=len(new), updated=len(changed), unchanged=unchanged, errors=errors)

    def _buyers(self, emails: set[str]) -> dict[str, int]:
        # Addresses are matched as written or in lower case, both through the unique index on email.
        candidates = list(emails | {email.lower() for email in emails})
        found: dict[str, int] = {}
        for batch in _batches(candidates):
            found.update(User.objects.filter(email__in=batch).order_by().values_list("email", "id"))
        return found

    def _products(self, slugs: set[str]) -> dict[str, tuple[int, int] | None]:
        missing = slugs.difference(self.products)
        if len(self.products) + len(missing) > _SLUG_CACHE_LIMIT:
            self.products.clear()
            missing = slugs
        self.products.update(dict.fromkeys(missing))
        for batch in _batches(list(missing)):
            for slug, product_id, store_id in (
                Product.objects.filter(slug__in=batch).order_by().values_list("slug", "id", "store_id")
            ):
                self.products[slug] = (product_id, store_id)
        return self.products

    def _stores(self, slugs: set[str]) -> dict[str, int | None]:
        missing = slugs.difference(self.stores)
        if len(self.stores) + len(missing) > _SLUG_CACHE_LIMIT:
            self.stores.clear()
            missing = slugs
        self.stores.update(dict.fromkeys(missing))
        for batch in _batches(list(missing)):
            self.stores.update(Store.objects.filter(slug__in=batch).order_by().values_list("slug", "id"))
        return self.stores


def _batches(values: list[_T], *, parameters_each: int = 1) -> Iterator[list[_T]]:
    """``values`` cut to the backend's limit of bound parameters (999 for Django on SQLite, none on PostgreSQL)."""
    limit = connection.features.max_query_params
    size = limit // parameters_each if limit else len(values) or 1
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _join_keys(alias: str, keys: Collection[_Key]) -> tuple[str, list[list[str] | list[int]]]:
    """A PostgreSQL ``JOIN`` of table ``alias`` to these order line keys, passed as two arrays.

    It plans as one probe of the (order_ref, line_no) unique index per key whatever the statistics say.
    ``order_ref IN (…)`` does not: with statistics missing or stale (the first large import into an
    empty table, autovacuum behind) the planner guesses 0.5% of the table per value and scans the whole
    table for every chunk, which makes an import quadratic (bench, 1M lines into an empty table: 108 s
    instead of 84 s, the re-run 65 s instead of 44 s; worse with every million more).
    """
    sql = (
        "JOIN unnest(%s::text[], %s::integer[]) AS k (order_ref, line_no) "
        f"ON {alias}.order_ref = k.order_ref AND {alias}.line_no = k.line_no"
    )
    return sql, [[ref for ref, _no in keys], [no for _ref, no in keys]]


class _Stored(NamedTuple):
    """What a row is compared with in a stored order line."""

    id: int
    buyer_id: int
    product_id: int
    store_id: int
    status: str
    status_changed_at: datetime | None


_STORED_COLUMNS = ("order_ref", "line_no", *_Stored._fields)


def _stored_states(keys: set[_Key]) -> dict[_Key, _Stored]:
    """Those of these order lines that are stored already."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        join, params = _join_keys("o", keys)
        column_of = {field.attname: field.column for field in OrderLine._meta.concrete_fields if field.column}
        selected = ", ".join(f"o.{connection.ops.quote_name(column_of[name])}" for name in _STORED_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {selected} "  # noqa: S608 - no input in it  # nosec B608
                f"FROM {connection.ops.quote_name(OrderLine._meta.db_table)} o {join}",
                params,
            )
            return {(ref, no): _Stored(*stored) for ref, no, *stored in cursor.fetchall()}
    states: dict[_Key, _Stored] = {}
    for batch in _batches(list({ref for ref, _no in keys})):
        for ref, no, *stored in OrderLine.objects.filter(order_ref__in=batch).order_by().values_list(*_STORED_COLUMNS):
            if (ref, no) in keys:
                states[(ref, no)] = _Stored(*stored)
    return states


class _Line(NamedTuple):
    """An order line ready to be written: the model's columns but its timestamps."""

    order_ref: str
    line_no: int
    buyer_id: int
    product_id: int
    store_id: int
    quantity: int
    unit_price: Decimal
    paid_at: datetime
    status: str
    status_changed_at: datetime | None


def _insert_lines(lines: list[_Line], *, now: datetime) -> None:
    """Insert lines known to be new: with ``COPY`` on PostgreSQL, with ``bulk_create`` elsewhere.

    Model instances and the ORM's per-value preparation cost more than the database's own work
    (PERFORMANCE.md: ~33 µs a row); ``COPY`` skips both. A line another writer has stored meanwhile
    fails the unique constraint either way, and the chunk is done again.
    """
    column_of = {field.attname: field.column for field in OrderLine._meta.concrete_fields if field.column}
    columns = [column_of[name] for name in (*_Line._fields, "created_at", "updated_at")]
    if can_copy():
        copy_in(OrderLine._meta.db_table, columns, ((*line, now, now) for line in lines))
    else:
        OrderLine.objects.bulk_create([OrderLine(**line._asdict(), created_at=now, updated_at=now) for line in lines])


def _update_states(lines: list[_Line], *, now: datetime) -> None:
    """Move existing lines to the state the file reports; the rest of each line stays as stored."""
    OrderLine.objects.bulk_create(
        [OrderLine(**line._asdict(), created_at=now, updated_at=now) for line in lines],
        update_conflicts=True,
        unique_fields=["order_ref", "line_no"],
        update_fields=["status", "status_changed_at", "updated_at"],
    )


def _conflict_message(row: _Row, columns: list[str]) -> str:
    return _(
        "Conflict: order line %(order_ref)s/%(line_no)d is stored with another %(columns)s; the row is not "
        "applied (correct the stored line in the admin if it really changed)."
    ) % {"order_ref": row.order_ref, "line_no": row.line_no, "columns": ", ".join(columns)}


def _duplicate_message(first_line: int) -> str:
    return _("Duplicate order line: the same order_ref and line_no are on line %(line)d.") % {"line": first_line}


class _SeenKeys:
    """The order line keys met so far in this file, with their first line, kept in a temporary table.

    A set in memory would grow with the file (10M keys are about a gigabyte); the temporary table
    keeps the process flat and lives only as long as the connection. Its rows are written in each
    chunk's transaction, so a chunk that rolls back forgets its keys too.
    """

    def __init__(self) -> None:
        # A fresh name per run: nothing to clean up from an earlier run on the same connection.
        self.name = f"purchase_import_seen_{uuid.uuid4().hex[:12]}"
        self.table = connection.ops.quote_name(self.name)

    def __enter__(self) -> "_SeenKeys":
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} ("  # noqa: S608 - the name is made above, not read
                f"order_ref varchar({_ORDER_REF_MAX_LENGTH}) NOT NULL, line_no integer NOT NULL, "
                "line bigint NOT NULL, PRIMARY KEY (order_ref, line_no))"
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Never hide an error already on its way out (a broken connection): the table goes with it anyway.
        with contextlib.suppress(DatabaseError, TransactionManagementError), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {self.table}")

    def _lines_of(self, keys: list[_Key]) -> list[tuple[str, int, int]]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                join, params = _join_keys("s", keys)
                cursor.execute(f"SELECT s.order_ref, s.line_no, s.line FROM {self.table} s {join}", params)  # noqa: S608  # nosec B608
                rows: list[tuple[str, int, int]] = cursor.fetchall()
                return rows
            wanted = set(keys)
            found: list[tuple[str, int, int]] = []
            for batch in _batches(list({ref for ref, _no in keys})):
                cursor.execute(
                    f"SELECT order_ref, line_no, line FROM {self.table} "  # noqa: S608  # nosec B608
                    f"WHERE order_ref IN ({', '.join(['%s'] * len(batch))})",
                    batch,
                )
                found.extend(row for row in cursor.fetchall() if (row[0], row[1]) in wanted)
            return found

    def add(self, first_line_of: dict[_Key, int]) -> dict[_Key, int]:
        """Remember these keys; return those met in an earlier chunk, with the line they were first on."""
        if not first_line_of:
            return {}
        rows = [(ref, no, line) for (ref, no), line in first_line_of.items()]
        if can_copy():
            try:
                # The usual case, no key met before: COPY is three times as fast as INSERT … ON CONFLICT.
                with transaction.atomic():
                    copy_in(self.name, ("order_ref", "line_no", "line"), rows)
                return {}
            except IntegrityError:
                pass  # rolled back to the savepoint; find the repeats below
        earlier: dict[_Key, int] = {}
        with connection.cursor() as cursor:
            for batch in _batches(rows, parameters_each=3):
                cursor.execute(
                    f"INSERT INTO {self.table} (order_ref, line_no, line) VALUES "  # noqa: S608  # nosec B608
                    + ", ".join(["(%s, %s, %s)"] * len(batch))
                    + " ON CONFLICT (order_ref, line_no) DO NOTHING",
                    [value for row in batch for value in row],
                )
                if cursor.rowcount == len(batch):
                    continue  # the usual case: no key of this batch was met before
                # A stored line other than ours is where the key was first met.
                for ref, no, line in self._lines_of([(ref, no) for ref, no, _line in batch]):
                    if first_line_of[(ref, no)] != line:
                        earlier[(ref, no)] = line
        return earlier
