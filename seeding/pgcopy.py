"""PostgreSQL's binary COPY format, written from numpy columns without a Python loop per row.

Why binary rather than CSV: at 10M order lines the text path spends its time formatting numbers and
timestamps in Python and parsing them again in the server (a timestamp parse costs about a
microsecond); the binary form of an int8 or a timestamptz is the same 8 bytes numpy already holds.

A binary COPY row is: int16 field count, then per field an int32 byte length (-1 for NULL) and the
bytes. Rows whose fields all have the same lengths share a layout, so they can be written as the
rows of one 2-D uint8 block, column slice by column slice. Order lines have three layouts (paid,
refunded, cancelled); tables with free text have more, each still written in bulk. Rows come out
grouped by layout, which is harmless: every row carries its own id.
"""

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from seeding.columns import NULL_INT, US_PER_DAY, Chunk, Column, Kind

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)

#: PostgreSQL counts dates and timestamps from 2000-01-01 (00:00 UTC), 10,957 days after the Unix epoch.
_PG_EPOCH_US = 10_957 * US_PER_DAY
_FIXED_WIDTH = {
    Kind.INT2: 2,
    Kind.INT4: 4,
    Kind.INT8: 8,
    Kind.BOOL: 1,
    Kind.DATE: 4,
    Kind.TIMESTAMP: 8,
    Kind.NUMERIC: 14,
    Kind.FLOAT8: 8,
}
_PG_EPOCH_DAYS = 10_957
_NUMERIC_LIMIT = 10**8  # three base-10000 digits: two before the point, one after


class _Encoded:
    """One column as a (rows, width) byte matrix and each row's byte length (-1 for NULL)."""

    __slots__ = ("data", "lengths", "width")

    def __init__(self, data: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int32] | None, width: int) -> None:
        self.data = data
        #: None when every row has ``width`` bytes.
        self.lengths = lengths
        self.width = width


def _big_endian(values: npt.NDArray[Any], dtype: str, width: int) -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(len(values), width)


def _numeric(values: npt.NDArray[np.int64], scale: int) -> npt.NDArray[np.uint8]:
    """NUMERIC in PostgreSQL's base-10000 form, always three digits (the server strips zero digits)."""
    if scale > 4:
        raise ValueError("numeric columns with more than 4 decimal places are not supported")
    magnitude = np.abs(values)
    units, fraction = np.divmod(magnitude, 10**scale)
    if len(units) and int(units.max()) >= _NUMERIC_LIMIT:
        raise ValueError("numeric value too large for the seed encoder")
    words = np.empty((len(values), 7), dtype=np.int64)
    words[:, 0] = 3  # ndigits
    words[:, 1] = 1  # weight: the first digit counts 10000s
    words[:, 2] = np.where(values < 0, 0x4000, 0)
    words[:, 3] = scale
    words[:, 4] = units // 10_000
    words[:, 5] = units % 10_000
    words[:, 6] = fraction * 10 ** (4 - scale)
    return _big_endian(words, ">i2", 14)


def _text(values: npt.NDArray[Any]) -> _Encoded:
    if values.dtype.kind == "U":
        values = np.char.encode(values, "utf-8")
    if values.dtype.kind == "S":
        width = max(values.dtype.itemsize, 1)
        data = np.ascontiguousarray(values.astype(f"S{width}")).view(np.uint8).reshape(len(values), width)
        lengths = np.char.str_len(values).astype(np.int32)
        return _Encoded(data, lengths, width)
    encoded = [b"" if value is None else value.encode() for value in values]
    lengths = np.fromiter((len(value) for value in encoded), dtype=np.int32, count=len(encoded))
    if len(values):
        lengths[np.fromiter((value is None for value in values), dtype=bool, count=len(values))] = -1
    width = max(int(lengths.max(initial=0)), 1)
    data = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(values), width)
    return _Encoded(data, lengths, width)


def _encode_column(column: Column, values: npt.NDArray[Any]) -> _Encoded:
    if column.kind is Kind.TEXT:
        return _text(values)
    width = _FIXED_WIDTH[column.kind]
    lengths = None
    if column.kind is Kind.BOOL:
        data = values.astype(np.uint8).reshape(len(values), 1)
    elif column.kind is Kind.FLOAT8:
        null = np.isnan(values)
        if null.any():
            lengths = np.where(null, -1, width).astype(np.int32)
        data = _big_endian(np.where(null, 0.0, values), ">f8", 8)
    else:
        if column.nullable:
            null = values == NULL_INT
            if null.any():
                lengths = np.where(null, -1, width).astype(np.int32)
                values = np.where(null, 0, values)
        if column.kind is Kind.NUMERIC:
            data = _numeric(values, column.scale)
        elif column.kind is Kind.TIMESTAMP:
            data = _big_endian(values - _PG_EPOCH_US, ">i8", 8)
        elif column.kind is Kind.DATE:
            data = _big_endian(values - _PG_EPOCH_DAYS, ">i4", 4)
        else:
            data = _big_endian(values, {2: ">i2", 4: ">i4", 8: ">i8"}[width], width)
    return _Encoded(data, lengths, width)


def _dense(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], int]:
    """Each value's rank among the distinct values, and how many there are (a counting pass when small)."""
    low, high = int(values.min()), int(values.max())
    if high - low < 1 << 20:
        present = np.bincount(values - low, minlength=high - low + 1) > 0
        rank = np.cumsum(present) - 1
        return np.asarray(rank[values - low], dtype=np.int64), int(present.sum())
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.asarray(inverse.reshape(-1), dtype=np.int64), len(distinct)


def _layouts(variable: list[npt.NDArray[np.int32]]) -> tuple[npt.NDArray[np.int64], int]:
    """A dense layout number per row (rows with equal lengths in every variable column share one)."""
    key = np.zeros(len(variable[0]), dtype=np.int64)
    count = 1
    for lengths in variable:
        code, distinct = _dense(lengths.astype(np.int64))
        # Re-densify after each column so the combined key stays small whatever the column count.
        key, count = _dense(key * distinct + code)
    return key, count


def _rows_of(data: npt.NDArray[np.uint8], order: npt.NDArray[np.intp] | None) -> npt.NDArray[np.uint8]:
    """The byte matrix with its rows in ``order``: one take of whole rows, viewed as opaque items."""
    if order is None:
        return data
    width = data.shape[1]
    items = np.ascontiguousarray(data).view(f"V{width}").reshape(-1)
    return np.take(items, order).view(np.uint8).reshape(-1, width)


def encode_rows(columns: Sequence[Column], chunk: Chunk, rows: int) -> list[npt.NDArray[np.uint8]]:
    """The chunk's rows in binary COPY form (no header or trailer), as a list of byte blocks."""
    if rows == 0:
        return []
    encoded = [_encode_column(column, chunk[column.name]) for column in columns]
    variable = [item.lengths for item in encoded if item.lengths is not None]
    order: npt.NDArray[np.intp] | None = None
    bounds = [0, rows]
    if variable:
        layout, count = _layouts(variable)
        if count > 1:
            # A stable sort of small integers is a radix sort in numpy: linear, not n log n.
            narrow = layout.astype(np.uint16) if count <= 1 << 16 else layout
            order = np.argsort(narrow, kind="stable")
            bounds = np.searchsorted(layout[order], np.arange(count + 1)).tolist()
    datas = [_rows_of(item.data, order) for item in encoded]
    lengths_in_order = [
        None if item.lengths is None else (item.lengths if order is None else item.lengths[order]) for item in encoded
    ]
    field_count = np.frombuffer(struct.pack(">h", len(columns)), dtype="V2")[0]
    blocks = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        lengths = [
            item.width if item_lengths is None else int(item_lengths[start])
            for item, item_lengths in zip(encoded, lengths_in_order, strict=True)
        ]
        # One structured item per row, a field per length word and per value: numpy then copies
        # each value as one item instead of byte by byte.
        names, formats, offsets = ["count"], ["V2"], [0]
        offset = 2
        for i, length in enumerate(lengths):
            names.append(f"length{i}")
            formats.append("V4")
            offsets.append(offset)
            offset += 4
            if length > 0:
                names.append(f"value{i}")
                formats.append(f"V{length}")
                offsets.append(offset)
                offset += length
        row_type = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset})
        block: npt.NDArray[np.void] = np.empty(stop - start, dtype=row_type)
        block["count"] = field_count
        for i, (data, length) in enumerate(zip(datas, lengths, strict=True)):
            block[f"length{i}"] = np.frombuffer(struct.pack(">i", length), dtype="V4")[0]
            if length > 0:
                block[f"value{i}"] = np.ascontiguousarray(data[start:stop, :length]).view(f"V{length}").reshape(-1)
        blocks.append(block.view(np.uint8))
    return blocks


class BlockReader:
    """A file-like view over header, blocks and trailer, read by ``cursor.copy_expert`` in pieces."""

    def __init__(self, blocks: Sequence[bytes | npt.NDArray[np.uint8]]) -> None:
        self._views = [memoryview(block if isinstance(block, bytes) else block.data).cast("B") for block in blocks]
        self._index = 0
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        pieces = []
        wanted = size if size >= 0 else sum(len(view) for view in self._views)
        while wanted > 0 and self._index < len(self._views):
            view = self._views[self._index]
            piece = view[self._offset : self._offset + wanted]
            pieces.append(piece)
            wanted -= len(piece)
            self._offset += len(piece)
            if self._offset >= len(view):
                self._index += 1
                self._offset = 0
        return b"".join(pieces)

    def readline(self, size: int = -1) -> bytes:  # psycopg2 only uses it for text COPY
        return self.read(size)
