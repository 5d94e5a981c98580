"""When things happen in the seed data: a three-year window ending at the reference date.

Shopping in China is not uniform in time: 11.11 (Singles' Day) and 6.18 dwarf ordinary days, the
platform grows year on year, and people buy in the evening. Jobs that look at "the last 12 months"
or "recent engagement" only behave realistically on data with that shape.

All instants are int64 microseconds since the Unix epoch (UTC). Local time is China Standard Time,
a fixed UTC+8 without daylight saving, so it needs no time-zone database.
"""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from seeding.columns import US_PER_DAY, US_PER_SECOND

LOCAL_OFFSET_US = 8 * 3600 * US_PER_SECOND
US_PER_HOUR = 3600 * US_PER_SECOND
WINDOW_DAYS = 3 * 365

#: Relative activity by local hour: quiet at night, a peak after dinner.
_HOUR_WEIGHTS = np.array(
    [0.5, 0.3, 0.15, 0.1, 0.08, 0.1, 0.2, 0.45, 0.7, 0.85, 1.0, 1.05]
    + [1.1, 1.0, 0.95, 0.95, 1.0, 1.05, 1.15, 1.35, 1.6, 1.8, 1.7, 1.1]
)
#: (month, day) -> multiplier of an ordinary day's activity.
_FESTIVALS = {
    (11, 11): 6.0,
    (11, 10): 2.0,
    (11, 12): 1.8,
    (6, 18): 4.0,
    (6, 17): 1.6,
    (6, 19): 1.4,
    (12, 12): 2.2,
    (3, 8): 1.8,
}


@dataclass(frozen=True)
class Slice:
    """A calendar month of the window (the first and last may be partial)."""

    start_us: int
    end_us: int
    first_day: int
    end_day: int


@dataclass(frozen=True)
class Calendar:
    as_of: dt.date
    #: The reference instant: midnight at the start of ``as_of``, China time. Nothing happens after it.
    now_us: int = field(init=False)
    window_start_us: int = field(init=False)
    #: Per window day: local midnight as a UTC instant, relative activity, and "is a sales festival".
    day_start_us: npt.NDArray[np.int64] = field(init=False, repr=False)
    intensity: npt.NDArray[np.float64] = field(init=False, repr=False)
    festival: npt.NDArray[np.bool_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        days_since_epoch = (self.as_of - dt.date(1970, 1, 1)).days
        now_us = days_since_epoch * US_PER_DAY - LOCAL_OFFSET_US
        dates = np.datetime64(self.as_of, "D") - WINDOW_DAYS + np.arange(WINDOW_DAYS)
        months = dates.astype("datetime64[M]")
        month_number = months.astype(np.int64) % 12 + 1
        day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
        multiplier = np.ones(WINDOW_DAYS)
        for (month, day), factor in _FESTIVALS.items():
            multiplier[(month_number == month) & (day_of_month == day)] = factor
        weekend = (dates.astype(np.int64) + 3) % 7 >= 5
        growth = 0.55 + 0.9 * np.arange(WINDOW_DAYS) / WINDOW_DAYS
        object.__setattr__(self, "now_us", now_us)
        object.__setattr__(self, "window_start_us", now_us - WINDOW_DAYS * US_PER_DAY)
        object.__setattr__(self, "day_start_us", now_us + (np.arange(WINDOW_DAYS) - WINDOW_DAYS) * US_PER_DAY)
        object.__setattr__(self, "intensity", growth * multiplier * np.where(weekend, 1.1, 1.0))
        object.__setattr__(self, "festival", multiplier >= 1.8)

    def months(self) -> list[Slice]:
        dates = np.datetime64(self.as_of, "D") - WINDOW_DAYS + np.arange(WINDOW_DAYS)
        months = dates.astype("datetime64[M]").astype(np.int64)
        starts = [0, *np.flatnonzero(np.diff(months) != 0) + 1, WINDOW_DAYS]
        return [
            Slice(
                start_us=int(self.day_start_us[first]),
                end_us=int(self.day_start_us[end]) if end < WINDOW_DAYS else self.now_us,
                first_day=int(first),
                end_day=int(end),
            )
            for first, end in zip(starts[:-1], starts[1:], strict=True)
        ]

    def share(self, piece: Slice) -> float:
        """The slice's part of all activity in the window."""
        return float(self.intensity[piece.first_day : piece.end_day].sum() / self.intensity.sum())

    def sample_instants(self, rng: np.random.Generator, count: int, piece: Slice) -> npt.NDArray[np.int64]:
        """Instants within the slice: days weighted by activity, hours by the daily rhythm."""
        weights = self.intensity[piece.first_day : piece.end_day]
        day = piece.first_day + rng.choice(len(weights), size=count, p=weights / weights.sum())
        hour = rng.choice(24, size=count, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
        within = rng.integers(0, US_PER_HOUR, size=count)
        return self.day_start_us[day] + hour * US_PER_HOUR + within

    def day_index(self, instants: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The window day of each instant (clipped into the window)."""
        return np.clip((instants - self.window_start_us) // US_PER_DAY, 0, WINDOW_DAYS - 1)

    @staticmethod
    def local_yymmdd(instants: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The local calendar date of each instant as a number, e.g. 251111 for 2025-11-11."""
        dates = ((instants + LOCAL_OFFSET_US) // US_PER_DAY).astype("datetime64[D]")
        years = dates.astype("datetime64[Y]")
        months = dates.astype("datetime64[M]")
        yy = (years.astype(np.int64) + 1970) % 100  # datetime64[Y] counts years from 1970
        mm = months.astype(np.int64) % 12 + 1
        dd = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
        return np.asarray(yy * 10_000 + mm * 100 + dd, dtype=np.int64)
