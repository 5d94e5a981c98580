"""The seed generator: sizes, a seed and a reference date in; chunks of rows out; no database.

Determinism: every step draws from its own random stream, derived from the seed and the step's
name (and the month, for monthly chunks), so the same seed and reference date give the same rows
whichever backend they are written to, and changing one step's draws leaves the others alone.
"""

import datetime as dt
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from seeding.activity import Activity
from seeding.assortment import Assortment, build_assortment
from seeding.calendar import Calendar
from seeding.people import Population, build_population


@dataclass(frozen=True)
class SeedSizes:
    """How much to generate. Order lines, notes and engagement are targets; the actual counts land near them."""

    users: int
    products: int
    brands: int
    order_lines: int
    notes: int
    engagements: int
    #: Users are written this many at a time; order lines and notes go a calendar month at a time.
    user_chunk_rows: int = 100_000


DEMO = SeedSizes(users=2_000, products=600, brands=120, order_lines=30_000, notes=2_000, engagements=20_000)
FULL = SeedSizes(
    users=500_000, products=20_000, brands=800, order_lines=10_000_000, notes=300_000, engagements=3_000_000
)
SCALES: dict[str, SeedSizes] = {"demo": DEMO, "full": FULL}


class SeedGenerator:
    def __init__(self, *, sizes: SeedSizes, seed: int, as_of: dt.date) -> None:
        self.sizes = sizes
        self.seed = seed
        self.calendar = Calendar(as_of)

    def stream(self, name: str, *keys: int | str) -> np.random.Generator:
        """The random stream of one step, e.g. ``stream("orders", 7)`` for the eighth month's orders."""
        words = [zlib.crc32(str(part).encode()) for part in (name, *keys)]
        return np.random.default_rng([self.seed, *words])

    @cached_property
    def assortment(self) -> Assortment:
        return build_assortment(
            {name: self.stream(name) for name in ("brands", "stores", "products")},
            products=self.sizes.products,
            brands=self.sizes.brands,
            calendar=self.calendar,
        )

    @cached_property
    def population(self) -> Population:
        return build_population(self.stream("users"), users=self.sizes.users, calendar=self.calendar)

    @cached_property
    def activity(self) -> Activity:
        return Activity(
            streams=self.stream,
            calendar=self.calendar,
            assortment=self.assortment,
            population=self.population,
            order_lines=self.sizes.order_lines,
            notes=self.sizes.notes,
            engagements=self.sizes.engagements,
        )
