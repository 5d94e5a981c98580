"""The input contract of screening: one row per vote, as arrays.

``RatingTable`` is filled from the database by ``moderation.screening.rating_table`` and from a CSV
file by ``RatingTable.from_csv`` (the format is in docs/fraud-eval.md). Unknown values are NaN for
floats, -1 for integer codes and "" for text; every signal copes with a column that is all unknown.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Index = npt.NDArray[np.bool_] | npt.NDArray[np.int64] | npt.NDArray[np.intp]

_FLOAT_COLUMNS = ("timestamp", "seconds_to_fill", "account_age_days", "purchases")
_CODE_COLUMNS = ("vote_id", "user_id", "product_id", "brand_id", "device", "network")
_TRUE = {"1", "1.0", "true", "yes", "y", "fraud", "spam", "fake", "shill", "excluded", "violates"}
#: Timestamps are accepted from 1970 to 2100; a number from 1e11 up is milliseconds (as seconds it would
#: be after the year 5000).
_EARLIEST, _LATEST = 0.0, 4_102_444_800.0
_MILLISECONDS_FROM = 1e11
_FALSE = {"0", "0.0", "false", "no", "n", "genuine", "ham", "real", "counted", "complies"}


class RatingFileError(ValueError):
    """A ratings or labels file that cannot be read; the message says which line and why."""


@dataclass
class RatingTable:
    """One row per vote. Unknown values: NaN for floats, -1 for integer codes, "" for text."""

    vote_id: npt.NDArray[np.int64]
    user_id: npt.NDArray[np.int64]
    product_id: npt.NDArray[np.int64]
    brand_id: npt.NDArray[np.int64]
    timestamp: npt.NDArray[np.float64]  # seconds since the epoch
    scores: npt.NDArray[np.float64]  # (n, k) factor scores 1-5, NaN where a vote has fewer factors
    seconds_to_fill: npt.NDArray[np.float64]
    device: npt.NDArray[np.int64]  # integer code of the device fingerprint (hash), -1 unknown
    network: npt.NDArray[np.int64]  # integer code of the network fingerprint, -1 unknown
    account_age_days: npt.NDArray[np.float64]  # at the time of the vote
    purchases: npt.NDArray[np.float64]  # the rater's other genuine purchases (beyond the qualifying one)
    comment: list[str]

    def __post_init__(self) -> None:
        n = len(self.vote_id)
        for column in _CODE_COLUMNS:
            setattr(self, column, np.ascontiguousarray(getattr(self, column), dtype=np.int64))
        for column in _FLOAT_COLUMNS:
            setattr(self, column, np.ascontiguousarray(getattr(self, column), dtype=np.float64))
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.ndim == 1:
            scores = scores.reshape(-1, 1)
        self.scores = np.ascontiguousarray(scores)
        for field in fields(self):
            size = len(getattr(self, field.name))
            if size != n:
                raise ValueError(f"RatingTable.{field.name} has {size} rows, vote_id has {n}")
        if self.scores.ndim != 2 or self.scores.shape[1] < 1:
            raise ValueError("RatingTable.scores must have shape (n, k) with k >= 1")
        if n and (self.user_id.min() < 0 or self.product_id.min() < 0):
            raise ValueError("RatingTable.user_id and product_id must be known (>= 0) for every vote")

    def __len__(self) -> int:
        return len(self.vote_id)

    @property
    def vote_mean(self) -> npt.NDArray[np.float64]:
        """Each vote's equal-weights score: the mean of the factors it has (NaN when it has none)."""
        counts = np.sum(~np.isnan(self.scores), axis=1)
        sums = np.nansum(self.scores, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    @classmethod
    def from_arrays(
        cls,
        *,
        user_id: npt.ArrayLike,
        product_id: npt.ArrayLike,
        timestamp: npt.ArrayLike,
        scores: npt.ArrayLike,
        vote_id: npt.ArrayLike | None = None,
        brand_id: npt.ArrayLike | None = None,
        seconds_to_fill: npt.ArrayLike | None = None,
        device: npt.ArrayLike | None = None,
        network: npt.ArrayLike | None = None,
        account_age_days: npt.ArrayLike | None = None,
        purchases: npt.ArrayLike | None = None,
        comment: list[str] | None = None,
    ) -> RatingTable:
        """A table from what is known; every column left out is unknown (NaN, -1 or "")."""
        users = np.asarray(user_id, dtype=np.int64)
        n = len(users)

        def codes(values: npt.ArrayLike | None) -> npt.NDArray[np.int64]:
            return np.full(n, -1, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)

        def floats(values: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
            return np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64)

        return cls(
            vote_id=np.arange(n, dtype=np.int64) if vote_id is None else np.asarray(vote_id, dtype=np.int64),
            user_id=users,
            product_id=np.asarray(product_id, dtype=np.int64),
            brand_id=codes(brand_id),
            timestamp=np.asarray(timestamp, dtype=np.float64),
            scores=np.asarray(scores, dtype=np.float64),
            seconds_to_fill=floats(seconds_to_fill),
            device=codes(device),
            network=codes(network),
            account_age_days=floats(account_age_days),
            purchases=floats(purchases),
            comment=[""] * n if comment is None else list(comment),
        )

    def take(self, index: Index) -> RatingTable:
        """The rows selected by a boolean mask or an array of positions, in that order."""
        positions = np.flatnonzero(index) if np.asarray(index).dtype == np.bool_ else np.asarray(index)
        comments = self.comment
        return RatingTable(
            vote_id=self.vote_id[positions],
            user_id=self.user_id[positions],
            product_id=self.product_id[positions],
            brand_id=self.brand_id[positions],
            timestamp=self.timestamp[positions],
            scores=self.scores[positions],
            seconds_to_fill=self.seconds_to_fill[positions],
            device=self.device[positions],
            network=self.network[positions],
            account_age_days=self.account_age_days[positions],
            purchases=self.purchases[positions],
            comment=[comments[i] for i in positions.tolist()],
        )

    def concat(self, other: RatingTable) -> RatingTable:
        """This table's rows followed by ``other``'s; the narrower score matrix is padded with NaN."""
        width = max(self.scores.shape[1], other.scores.shape[1])

        def padded(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            extra = np.full((len(scores), width - scores.shape[1]), np.nan)
            return np.hstack([scores, extra])

        return RatingTable(
            vote_id=np.concatenate([self.vote_id, other.vote_id]),
            user_id=np.concatenate([self.user_id, other.user_id]),
            product_id=np.concatenate([self.product_id, other.product_id]),
            brand_id=np.concatenate([self.brand_id, other.brand_id]),
            timestamp=np.concatenate([self.timestamp, other.timestamp]),
            scores=np.vstack([padded(self.scores), padded(other.scores)]),
            seconds_to_fill=np.concatenate([self.seconds_to_fill, other.seconds_to_fill]),
            device=np.concatenate([self.device, other.device]),
            network=np.concatenate([self.network, other.network]),
            account_age_days=np.concatenate([self.account_age_days, other.account_age_days]),
            purchases=np.concatenate([self.purchases, other.purchases]),
            comment=self.comment + other.comment,
        )

    @classmethod
    def concatenate(cls, tables: list[RatingTable]) -> RatingTable:
        """The rows of ``tables`` one after another (one copy of each column); narrower score
        matrices are padded with NaN."""
        if not tables:
            raise ValueError("nothing to concatenate")
        width = max(table.scores.shape[1] for table in tables)
        scores = np.full((sum(len(table) for table in tables), width), np.nan)
        start = 0
        for table in tables:
            scores[start : start + len(table), : table.scores.shape[1]] = table.scores
            start += len(table)
        comments: list[str] = []
        for table in tables:
            comments.extend(table.comment)

        def joined(name: str) -> Any:  # each column keeps its own dtype
            return np.concatenate([getattr(table, name) for table in tables])

        return cls(
            vote_id=joined("vote_id"),
            user_id=joined("user_id"),
            product_id=joined("product_id"),
            brand_id=joined("brand_id"),
            timestamp=joined("timestamp"),
            scores=scores,
            seconds_to_fill=joined("seconds_to_fill"),
            device=joined("device"),
            network=joined("network"),
            account_age_days=joined("account_age_days"),
            purchases=joined("purchases"),
            comment=comments,
        )

    @classmethod
    def from_csv(
        cls, path: str | Path, labels_path: str | Path | None = None
    ) -> tuple[RatingTable, npt.NDArray[np.float64] | None]:
        """Read a ratings file (and optionally a per-rater labels file) in the documented format.

        Columns: ``user_id,product_id,rating`` (or ``score_1..score_k`` instead of ``rating``),
        optional ``timestamp`` (without it every timestamp is unknown and the signals of time stay
        silent), ``text``, ``label`` and any of ``vote_id, brand_id, seconds_to_fill, device, network,
        account_age_days, purchases``. Labels come back per vote: 1 suspicious, 0 genuine, NaN
        unknown; None when the data has no labels at all.
        """
        header, rows = _read_csv(Path(path))
        n = len(rows)
        column: dict[str, int] = {}
        for position, name in enumerate(header):
            if name and name in column:
                raise RatingFileError(
                    f"{path}: the header names '{name}' twice (columns {column[name] + 1} and {position + 1})"
                )
            column[name] = position
        for required in ("user_id", "product_id"):
            if required not in column:
                raise RatingFileError(f"{path}: the header has no '{required}' column")
        score_columns = sorted(
            (name for name in header if name.startswith("score_") and name[6:].isdigit()), key=lambda s: int(s[6:])
        )
        if not score_columns:
            if "rating" not in column:
                raise RatingFileError(f"{path}: the header needs a 'rating' column (or score_1, score_2, ...)")
            score_columns = ["rating"]

        def values(name: str) -> list[str]:
            position = column[name]
            return [row[position].strip() if position < len(row) else "" for row in rows]

        raw_users = np.asarray(values("user_id"), dtype=str)
        scores = np.column_stack([_floats(values(name), name=name, path=path) for name in score_columns])
        scores = scores.reshape(n, len(score_columns))
        if np.all(np.isnan(scores).all(axis=1) & (n > 0)):
            raise RatingFileError(f"{path}: no row has a rating")
        table = cls(
            vote_id=_codes(values("vote_id"), dense=False) if "vote_id" in column else np.arange(n, dtype=np.int64),
            user_id=_codes(raw_users.tolist(), dense=False),
            product_id=_codes(values("product_id"), dense=False),
            brand_id=_codes(values("brand_id"), dense=False) if "brand_id" in column else np.full(n, -1, np.int64),
            timestamp=_timestamps(values("timestamp"), path=path) if "timestamp" in column else np.full(n, np.nan),
            scores=scores,
            seconds_to_fill=_optional_floats(values, column, "seconds_to_fill", n, path),
            device=_codes(values("device"), dense=True) if "device" in column else np.full(n, -1, np.int64),
            network=_codes(values("network"), dense=True) if "network" in column else np.full(n, -1, np.int64),
            account_age_days=_optional_floats(values, column, "account_age_days", n, path),
            purchases=_optional_floats(values, column, "purchases", n, path),
            comment=values("text") if "text" in column else (values("comment") if "comment" in column else [""] * n),
        )
        labels: npt.NDArray[np.float64] | None = None
        if "label" in column:
            labels = _labels(values("label"), path=path)
        if labels_path is not None:
            label_header, label_rows = _read_csv(Path(labels_path))
            if "user_id" not in label_header or "label" not in label_header:
                raise RatingFileError(f"{labels_path}: the header must be user_id,label")
            user_at, label_at = label_header.index("user_id"), label_header.index("label")
            label_users = np.asarray([row[user_at].strip() for row in label_rows], dtype=str)
            per_user = _labels([row[label_at].strip() if label_at < len(row) else "" for row in label_rows], path=path)
            from_file = np.full(n, np.nan)
            if len(label_users):
                order = np.argsort(label_users, kind="stable")
                found = np.clip(np.searchsorted(label_users[order], raw_users), 0, len(order) - 1)
                hit = label_users[order][found] == raw_users
                from_file[hit] = per_user[order][found][hit]
            labels = from_file if labels is None else np.where(np.isnan(labels), from_file, labels)
        return table, labels


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as source:
            reader = csv.reader(source)
            header = [name.strip().lower() for name in next(reader, [])]
            rows = [row for row in reader if any(cell.strip() for cell in row)]
    except OSError as exc:
        raise RatingFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except csv.Error as exc:
        raise RatingFileError(f"{path}: {exc}") from exc
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise RatingFileError(f"{path}: the file is empty or has no header row")
    return header, rows


def _floats(values: list[str], *, name: str, path: str | Path) -> npt.NDArray[np.float64]:
    """Numbers, empty cells unknown (NaN); a cell that is not a finite number is refused."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value:
            out[i] = _finite(value, name=name, line=i + 2, path=path)
    return out


def _finite(value: str, *, name: str, line: int, path: str | Path) -> float:
    try:
        number = float(value)
    except ValueError:
        raise RatingFileError(f"{path}: line {line}: {name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RatingFileError(f"{path}: line {line}: {name} {value!r} is not a finite number")
    return number


def _optional_floats(
    values: Callable[[str], list[str]], column: dict[str, int], name: str, n: int, path: str | Path
) -> npt.NDArray[np.float64]:
    if name not in column:
        return np.full(n, np.nan)
    return _floats(values(name), name=name, path=path)


def _codes(values: list[str], *, dense: bool) -> npt.NDArray[np.int64]:
    """Integer ids kept as they are when every value is an integer; other values become dense codes."""
    array = np.asarray(values, dtype=str)
    unknown = array == ""
    if not dense:
        try:
            out = np.where(unknown, "-1", array).astype(np.int64)
        except ValueError:
            pass
        else:
            return out
    _, codes = np.unique(array, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    codes[unknown] = -1
    return codes


def _timestamps(values: list[str], *, path: str | Path) -> npt.NDArray[np.float64]:
    """Seconds since the epoch from numbers (seconds, or milliseconds when they look like them) or ISO 8601.

    Every number must be in one unit: a file mixing seconds and milliseconds is refused rather than
    guessed line by line, and so is a moment outside 1970-2100 (a unit or a column mixed up).
    """
    out = np.full(len(values), np.nan)
    unit_line: dict[str, int] = {}
    for i, value in enumerate(values):
        line = i + 2
        if not value:
            raise RatingFileError(
                f"{path}: line {line}: the timestamp is empty (leave the column out if the times are unknown)"
            )
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise RatingFileError(
                    f"{path}: line {line}: timestamp {value!r} is neither a number nor ISO 8601"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            seconds = moment.timestamp()
        else:
            if not math.isfinite(number):
                raise RatingFileError(f"{path}: line {line}: timestamp {value!r} is not a finite number")
            unit = "milliseconds" if abs(number) >= _MILLISECONDS_FROM else "seconds"
            seconds = number / 1000.0 if unit == "milliseconds" else number
        if not _EARLIEST <= seconds < _LATEST:
            raise RatingFileError(
                f"{path}: line {line}: timestamp {value!r} is out of range (before 1970 or after 2100)"
            )
        if number is not None:
            unit_line.setdefault(unit, line)
            if len(unit_line) > 1:
                other = "seconds" if unit == "milliseconds" else "milliseconds"
                raise RatingFileError(
                    f"{path}: line {line}: timestamp {value!r} is in {unit} since the epoch but line "
                    f"{unit_line[other]}'s is in {other}; give every timestamp in one unit"
                )
        out[i] = seconds
    return out


def _labels(values: list[str], *, path: str | Path) -> npt.NDArray[np.float64]:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            out[i] = 1.0
        elif lowered in _FALSE:
            out[i] = 0.0
        elif lowered:
            try:
                number = float(lowered)
            except ValueError:
                raise RatingFileError(f"{path}: line {i + 2}: label {value!r} is not 0/1") from None
            out[i] = 1.0 if number > 0.5 else 0.0 if not math.isnan(number) else np.nan
    return out
