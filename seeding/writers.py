"""Writing generated chunks: binary COPY on PostgreSQL, batched INSERTs elsewhere.

Both writers take the same chunks and bypass the ORM's save path on purpose: ``auto_now`` fields
would stamp the time of the run on every row, and the seed must give the same rows for the same
seed and reference date. Ids are written explicitly; sequences are reset afterwards.
"""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from django.db import connection, models

from seeding.columns import NULL_INT, Chunk, Column, Kind, complete_chunk, model_columns
from seeding.pgcopy import HEADER, TRAILER, BlockReader, encode_rows

_COPY_READ_SIZE = 1 << 20
_END = object()
T = TypeVar("T")
U = TypeVar("U")


@dataclass
class Prepared:
    """A chunk made ready to send: the slow, database-free part of a write, done ahead in a thread."""

    model: type[models.Model]
    rows: int
    payload: Any
    #: Time spent preparing it.
    seconds: float


class ChunkWriter(Protocol):
    def prepare(self, model: type[models.Model], chunk: Chunk) -> Prepared: ...

    def send(self, prepared: Prepared) -> int: ...


class _Columns:
    def __init__(self) -> None:
        self._cache: dict[type[models.Model], list[Column]] = {}

    def __call__(self, model: type[models.Model]) -> list[Column]:
        if model not in self._cache:
            self._cache[model] = model_columns(model)
        return self._cache[model]


class CopyWriter:
    """PostgreSQL: ``COPY ... FROM STDIN WITH (FORMAT binary)``, one COPY per chunk.

    ``freeze`` adds COPY's FREEZE option, allowed only for tables truncated earlier in the same
    transaction: rows are written already frozen and visible to all, so the first queries after
    the seed neither rewrite every page to set hint bits nor wait for a vacuum before index-only
    scans work.
    """

    def __init__(self, *, freeze: bool = False) -> None:
        self.freeze = freeze
        self.columns = _Columns()

    def prepare(self, model: type[models.Model], chunk: Chunk) -> Prepared:
        started = time.perf_counter()
        columns = self.columns(model)
        complete, rows = complete_chunk(model, columns, chunk)
        blocks = encode_rows(columns, complete, rows)
        return Prepared(model, rows, blocks, time.perf_counter() - started)

    def send(self, prepared: Prepared) -> int:
        if prepared.rows == 0:
            return 0
        model = prepared.model
        quote = connection.ops.quote_name
        options = "FORMAT binary, FREEZE" if self.freeze else "FORMAT binary"
        sql = (
            f"COPY {quote(model._meta.db_table)} ({', '.join(quote(column.name) for column in self.columns(model))}) "
            f"FROM STDIN WITH ({options})"
        )
        with connection.cursor() as cursor:
            raw: Any = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, BlockReader([HEADER, *prepared.payload, TRAILER]), size=_COPY_READ_SIZE)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    for block in (HEADER, *prepared.payload, TRAILER):
                        copy.write(block)
        return prepared.rows


def _timestamps(values: npt.NDArray[np.int64]) -> list[Any]:
    """Django's SQLite form: naive UTC, 'YYYY-MM-DD HH:MM:SS[.ffffff]' (what ``str(datetime)`` gives)."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
    text = np.char.replace(np.char.replace(text, "T", " "), ".000000", "")
    result: list[Any] = text.tolist()
    for i in np.flatnonzero(values == NULL_INT).tolist():
        result[i] = None
    return result


def _python(column: Column, values: npt.NDArray[Any]) -> list[Any]:
    if column.kind is Kind.TEXT:
        return list(np.char.decode(values, "utf-8").tolist() if values.dtype.kind == "S" else values.tolist())
    if column.kind is Kind.BOOL:
        return list(values.astype(bool).tolist())
    if column.kind is Kind.TIMESTAMP:
        return _timestamps(values)
    if column.kind is Kind.FLOAT8:
        return [None if np.isnan(value) else value for value in values.tolist()]
    result: list[Any]
    if column.kind is Kind.DATE:
        result = np.datetime_as_string(values.astype("datetime64[D]"), unit="D").tolist()
        for i in np.flatnonzero(values == NULL_INT).tolist():
            result[i] = None
        return result
    if column.kind is Kind.NUMERIC:
        units, fraction = np.divmod(np.abs(values), 10**column.scale)
        sign = np.where(values < 0, "-", "")
        result = [
            f"{s}{u}.{f:0{column.scale}d}"
            for s, u, f in zip(sign.tolist(), units.tolist(), fraction.tolist(), strict=True)
        ]
    else:
        result = values.tolist()
    for i in np.flatnonzero(values == NULL_INT).tolist():
        result[i] = None
    return result


class InsertWriter:
    """Any other database (SQLite for the demo): ``executemany`` of one INSERT per chunk."""

    def __init__(self) -> None:
        self.columns = _Columns()

    def prepare(self, model: type[models.Model], chunk: Chunk) -> Prepared:
        started = time.perf_counter()
        columns = self.columns(model)
        complete, rows = complete_chunk(model, columns, chunk)
        values = [_python(column, complete[column.name]) for column in columns]
        return Prepared(model, rows, list(zip(*values, strict=True)), time.perf_counter() - started)

    def send(self, prepared: Prepared) -> int:
        if prepared.rows == 0:
            return 0
        columns = self.columns(prepared.model)
        quote = connection.ops.quote_name
        names = ", ".join(quote(column.name) for column in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        # Table and column names come from the model and are quoted; values go as parameters.
        sql = f"INSERT INTO {quote(prepared.model._meta.db_table)} ({names}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared.payload)
        return prepared.rows


def write(writer: ChunkWriter, model: type[models.Model], chunk: Chunk) -> int:
    return writer.send(writer.prepare(model, chunk))


def prepared_ahead(items: Iterator[T], prepare: Callable[[T], U]) -> Iterator[U]:
    """``prepare(item)`` for each item, computed one item ahead in a worker thread.

    Why: while the database ingests one chunk (the connection waits on the socket, without the
    GIL), the worker generates and encodes the next, so on two cores generation costs almost
    nothing. The worker touches no database connection; the caller sends from its own thread.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-prepare") as pool:

        def produce() -> tuple[bool, U | None]:
            item = next(items, _END)
            return (False, None) if item is _END else (True, prepare(item))  # type: ignore[arg-type]

        future = pool.submit(produce)
        while True:
            more, prepared = future.result()
            if not more:
                return
            future = pool.submit(produce)
            yield prepared  # type: ignore[misc]
