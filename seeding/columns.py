"""Rows in flight: a chunk is a dict of equal-length numpy columns keyed by database column name.

Columns travel as numpy arrays so the generator never builds a Python object per row (10M order
lines would take minutes that way). The conventions, shared by the generator and both writers:

* integers and foreign keys: int64; ``NULL_INT`` is NULL;
* timestamps: int64 microseconds since the Unix epoch, UTC; ``NULL_INT`` is NULL;
* dates: int64 days since the Unix epoch; ``NULL_INT`` is NULL;
* decimals: int64 in units of the field's last decimal place (cents for prices);
* floats: float64; NaN is NULL;
* booleans: bool;
* text: a ``bytes`` array (dtype ``S``, UTF-8) or an object array of ``str`` (``None`` is NULL).

The column list comes from the model, so a field added later is either generated, or filled with its
default (a callable default is called once per load, as a migration adding the field would), or
reported by name; never silently missing.
"""

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import models

Chunk = dict[str, npt.NDArray[Any]]

NULL_INT = np.iinfo(np.int64).min
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND


class Kind(Enum):
    INT2 = "int2"
    INT4 = "int4"
    INT8 = "int8"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamptz"
    NUMERIC = "numeric"
    FLOAT8 = "float8"
    TEXT = "text"


_KIND_BY_INTERNAL_TYPE = {
    "AutoField": Kind.INT4,
    "BigAutoField": Kind.INT8,
    "SmallAutoField": Kind.INT2,
    "IntegerField": Kind.INT4,
    "PositiveIntegerField": Kind.INT4,
    "BigIntegerField": Kind.INT8,
    "PositiveBigIntegerField": Kind.INT8,
    "SmallIntegerField": Kind.INT2,
    "PositiveSmallIntegerField": Kind.INT2,
    "BooleanField": Kind.BOOL,
    "DateField": Kind.DATE,
    "DateTimeField": Kind.TIMESTAMP,
    "DecimalField": Kind.NUMERIC,
    "FloatField": Kind.FLOAT8,
    "CharField": Kind.TEXT,
    "TextField": Kind.TEXT,
    "EmailField": Kind.TEXT,
    "SlugField": Kind.TEXT,
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    #: Decimal places of a NUMERIC column.
    scale: int = 0
    nullable: bool = False
    #: A constant the writers use when the generator does not provide the column.
    fill: Any = None
    has_fill: bool = False


def _kind(field: "models.Field[Any, Any]") -> Kind:
    internal = field.get_internal_type()
    if isinstance(field, models.ForeignKey):
        internal = field.target_field.get_internal_type()
    try:
        return _KIND_BY_INTERNAL_TYPE[internal]
    except KeyError:
        raise TypeError(f"the seed writers do not handle {internal} ({field.model.__name__}.{field.name})") from None


def model_columns(model: type[models.Model]) -> list[Column]:
    """The table's columns in model order, each with how it is encoded and its fallback constant."""
    columns = []
    for field in model._meta.concrete_fields:
        kind = _kind(field)
        fill: Any = None
        has_fill = True
        if field.null:
            pass
        elif field.has_default():
            fill = field.get_default()
        elif kind is Kind.TEXT:
            fill = ""  # what Django itself stores for a text field nobody set
        else:
            has_fill = False
        columns.append(
            Column(
                name=str(field.column),
                kind=kind,
                scale=getattr(field, "decimal_places", 0) or 0,
                nullable=field.null,
                fill=fill,
                has_fill=has_fill,
            )
        )
    return columns


def complete_chunk(model: type[models.Model], columns: list[Column], chunk: Chunk) -> tuple[Chunk, int]:
    """The chunk with every column of the table, in table order, and its row count.

    Raises ``ValueError`` naming the column when the generator left out one that has no constant
    default, or provided one the table does not have.
    """
    unknown = set(chunk) - {column.name for column in columns}
    if unknown:
        raise ValueError(f"{model._meta.db_table} has no column(s) {sorted(unknown)}")
    lengths = {len(values) for values in chunk.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of a {model._meta.db_table} chunk differ in length: {sorted(lengths)}")
    rows = lengths.pop()
    complete: Chunk = {}
    for column in columns:
        if column.name in chunk:
            complete[column.name] = chunk[column.name]
        elif column.has_fill:
            complete[column.name] = constant_column(column, column.fill, rows)
        else:
            raise ValueError(f"the seed generator does not provide {model._meta.db_table}.{column.name}")
    return complete, rows


def constant_column(column: Column, value: Any, rows: int) -> npt.NDArray[Any]:
    if column.kind is Kind.TEXT:
        filled = np.empty(rows, dtype=object)
        filled[:] = value
        return filled
    if column.kind is Kind.BOOL:
        if value is None:
            raise ValueError(f"the seed writers cannot store NULL in the boolean column {column.name}")
        return np.full(rows, bool(value))
    if column.kind is Kind.FLOAT8:
        return np.full(rows, np.nan if value is None else float(value), dtype=np.float64)
    if value is None:
        return np.full(rows, NULL_INT, dtype=np.int64)
    if column.kind is Kind.NUMERIC:
        return np.full(rows, round(value * 10**column.scale), dtype=np.int64)
    if column.kind is Kind.TIMESTAMP:
        return np.full(rows, round(value.timestamp() * US_PER_SECOND), dtype=np.int64)
    if column.kind is Kind.DATE:
        return np.full(rows, (value - dt.date(1970, 1, 1)).days, dtype=np.int64)
    return np.full(rows, int(value), dtype=np.int64)
