"""Loading the seed into the database: the one service behind ``manage.py seed`` and the bench.

Contract: the whole load is one transaction. It either leaves a complete, consistent data set or,
on any error, the database as it was (on PostgreSQL that includes the dropped indexes and
foreign keys, since DDL is transactional there). Categories are inserted not rating-ready and
flipped once their factors exist, so the deferred rating-ready trigger is satisfied at commit.
ANALYZE runs after the commit so the planner knows the new row counts at once.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction

from accounts.models import User
from catalog.models import Brand, Category, Engagement, Factor, Note, NoteProduct, OrderLine, Product, Store
from moderation.models import Question, Rule, ScreeningModel
from ratings.models import EligibilityRun, OpenDataRelease, ScoringRun
from seeding import schema
from seeding.activity import NoteBatch
from seeding.columns import Chunk
from seeding.generator import SeedGenerator, SeedSizes
from seeding.people import DEMO_PASSWORD, PERSONAS
from seeding.writers import ChunkWriter, CopyWriter, InsertWriter, Prepared, prepared_ahead, write

#: Every table the seed writes, in the order it writes them.
SEEDED_MODELS: tuple[type[models.Model], ...] = (
    Category,
    Factor,
    Brand,
    Store,
    Product,
    User,
    OrderLine,
    Note,
    NoteProduct,
    Engagement,
)
#: The big tables whose secondary indexes and foreign keys are rebuilt after a PostgreSQL load.
_BULK_MODELS: tuple[type[models.Model], ...] = (User, OrderLine, Note, NoteProduct, Engagement)

Progress = Callable[[str], None]


class SeedRefused(Exception):
    """The database already holds data and the caller did not ask to flush it."""


@dataclass
class TableStat:
    rows: int = 0
    #: Wall-clock time owed to the table, rebuilding its indexes and foreign keys included.
    seconds: float = 0.0
    #: The part of ``seconds`` spent rebuilding indexes and validating foreign keys (PostgreSQL).
    rebuild_seconds: float = 0.0


@dataclass
class SeedReport:
    sizes: SeedSizes
    seed: int
    as_of: date
    vendor: str
    tables: dict[str, TableStat] = field(default_factory=dict)
    #: Work not owed to one table: flushing, accounts, ANALYZE.
    steps: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(stat.rows for stat in self.tables.values())


class _Clock:
    def __init__(self, report: SeedReport) -> None:
        self.report = report

    @contextmanager
    def table(self, model: type[models.Model]) -> Iterator[TableStat]:
        stat = self.report.tables.setdefault(model._meta.db_table, TableStat())
        started = time.perf_counter()
        try:
            yield stat
        finally:
            stat.seconds += time.perf_counter() - started

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.steps[name] = self.report.steps.get(name, 0.0) + time.perf_counter() - started


def existing_data() -> dict[str, bool]:
    """Which of the seeded tables already hold rows (one cheap EXISTS query per table)."""
    return {model._meta.db_table: model._default_manager.exists() for model in SEEDED_MODELS}


def is_seeded() -> bool:
    return Category.objects.exists()


def _flush_tables() -> list[str]:
    # Eligibility and scoring runs, community rules, test questions, screening models and open-data releases
    # reference no seeded row, so no cascade reaches them; the demo seed makes them.
    return [model._meta.db_table for model in SEEDED_MODELS] + [
        EmailAddress._meta.db_table,
        EligibilityRun._meta.db_table,
        ScoringRun._meta.db_table,
        Rule._meta.db_table,
        Question._meta.db_table,
        ScreeningModel._meta.db_table,
        OpenDataRelease._meta.db_table,
    ]


def flush_seeded_data() -> None:
    """Delete catalog and account data: TRUNCATE ... CASCADE on PostgreSQL, DELETE elsewhere.

    Tables of other apps that reference these (invitations, votes, sessions' users...) are
    emptied too, as a cascade would; ids start again from 1.
    """
    sql = connection.ops.sql_flush(no_style(), _flush_tables(), reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)


def _truncate_if_all_empty() -> bool:
    """On an empty database, TRUNCATE the seeded tables so COPY may FREEZE; False if that could lose rows.

    TRUNCATE must name every table that references one it empties. Those are truncated only if
    they are empty as well; otherwise nothing happens and the load simply runs without FREEZE.
    """
    tables = set(_flush_tables())
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                """
                SELECT DISTINCT src.relname FROM pg_constraint c
                  JOIN pg_class src ON src.oid = c.conrelid
                  JOIN pg_class dst ON dst.oid = c.confrelid
                 WHERE c.contype = 'f' AND dst.relname = ANY(%s)
                   AND src.relnamespace = current_schema()::regnamespace
                """,
                [sorted(tables)],
            )
            referencing = {str(name) for (name,) in cursor.fetchall()} - tables
            if not referencing:
                break
            tables |= referencing
        quote = connection.ops.quote_name
        for table in sorted(tables):
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")  # noqa: S608 (a quoted catalog name)  # nosec B608
            (has_rows,) = cursor.fetchone() or (True,)
            if has_rows:
                return False
        cursor.execute(f"TRUNCATE {', '.join(quote(table) for table in sorted(tables))}")
    return True


def seed_database(
    *, sizes: SeedSizes, seed: int, as_of: date, flush: bool = False, progress: Progress | None = None
) -> SeedReport:
    """Generate and write the whole data set; refuse (``SeedRefused``) on a non-empty database unless ``flush``.

    Same ``sizes``, ``seed`` and ``as_of`` give the same rows, apart from password hashes, which
    are salted.
    """
    report = SeedReport(sizes=sizes, seed=seed, as_of=as_of, vendor=connection.vendor)
    report.tables = {model._meta.db_table: TableStat() for model in SEEDED_MODELS}
    clock = _Clock(report)
    started = time.perf_counter()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if flush:
            with clock.step("flush"):
                flush_seeded_data()
            fresh = True
        else:
            present = [table for table, has_rows in existing_data().items() if has_rows]
            if present:
                raise SeedRefused(
                    f"the database already holds data ({', '.join(present)}); "
                    "run with --flush to delete catalog and account data first"
                )
            fresh = postgres and _truncate_if_all_empty()
        bulk_tables = [model._meta.db_table for model in _BULK_MODELS]
        state = schema.set_aside(bulk_tables) if postgres else None
        loader = _Loader(
            generator=SeedGenerator(sizes=sizes, seed=seed, as_of=as_of),
            writer=CopyWriter(freeze=fresh) if postgres else InsertWriter(),
            clock=clock,
            say=progress or (lambda message: None),
        )
        loader.catalog()
        loader.users()
        loader.order_lines()
        loader.notes()
        if state is not None:
            loader.put_back(state)
            schema.verify_unchanged(state, bulk_tables)
        with clock.step("accounts and sequences"):
            EmailAddress.objects.bulk_create(
                EmailAddress(user_id=index + 1, email=persona.email, verified=True, primary=True)
                for index, persona in enumerate(PERSONAS)
            )
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [*SEEDED_MODELS, EmailAddress]):
                    cursor.execute(sql)

    with clock.step("analyze"), connection.cursor() as cursor:
        if postgres:
            for model in SEEDED_MODELS:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        else:
            cursor.execute("ANALYZE")
    report.total_seconds = time.perf_counter() - started
    return report


class _Loader:
    """The phases of a load, each writing its tables and reporting them as they finish."""

    def __init__(self, *, generator: SeedGenerator, writer: ChunkWriter, clock: _Clock, say: Progress) -> None:
        self.generator = generator
        self.writer = writer
        self.clock = clock
        self.say = say

    def _done(self, *done: type[models.Model]) -> None:
        for model in done:
            self.say(_line(model._meta.db_table, self.clock.report.tables[model._meta.db_table]))

    def catalog(self) -> None:
        with self.clock.table(Product):
            catalog = self.generator.assortment  # built at once; its time goes to the products
        with self.clock.table(Category) as stat:
            stat.rows += write(self.writer, Category, catalog.categories)
        with self.clock.table(Factor) as stat:
            stat.rows += write(self.writer, Factor, catalog.factors)
            # Only now that every leaf has its factors may it be rating-ready (see the deferred trigger).
            Category.objects.filter(parent__isnull=False).update(rating_ready=True)
        small: list[tuple[type[models.Model], Chunk]] = [
            (Brand, catalog.brands),
            (Store, catalog.store_rows),
            (Product, catalog.products),
        ]
        for model, chunk in small:
            with self.clock.table(model) as stat:
                stat.rows += write(self.writer, model, chunk)
        self._done(Category, Factor, Brand, Store, Product)

    def users(self) -> None:
        with self.clock.step("password hashing"):  # once: every crowd user shares an unusable password
            persona_password, crowd_password = make_password(DEMO_PASSWORD), make_password(None)
        with self.clock.table(User) as stat:
            chunks = self.generator.population.chunks(
                persona_password=persona_password,
                crowd_password=crowd_password,
                rows=self.generator.sizes.user_chunk_rows,
            )
            for prepared in prepared_ahead(chunks, lambda chunk: self.writer.prepare(User, chunk)):
                stat.rows += self.writer.send(prepared)
        self._done(User)

    def order_lines(self) -> None:
        with self.clock.table(OrderLine) as stat:
            chunks = self.generator.activity.order_line_chunks()
            for prepared in prepared_ahead(chunks, lambda chunk: self.writer.prepare(OrderLine, chunk)):
                stat.rows += self.writer.send(prepared)
        self._done(OrderLine)

    def notes(self) -> None:
        """Notes, mentions and engagement, generated together month by month.

        The phase's wall time is shared among the three tables in proportion to each one's own
        preparing and sending, so the per-table seconds still add up to the elapsed time.
        """
        tables = self.clock.report.tables
        busy: dict[type[models.Model], float] = {Note: 0.0, NoteProduct: 0.0, Engagement: 0.0}

        def prepare(batch: NoteBatch) -> list[Prepared]:
            return [
                self.writer.prepare(Note, batch.notes),
                self.writer.prepare(NoteProduct, batch.mentions),
                self.writer.prepare(Engagement, batch.engagements),
            ]

        started = time.perf_counter()
        for batch in prepared_ahead(self.generator.activity.note_batches(), prepare):
            for prepared in batch:
                sending = time.perf_counter()
                tables[prepared.model._meta.db_table].rows += self.writer.send(prepared)
                busy[prepared.model] += prepared.seconds + time.perf_counter() - sending
        elapsed = time.perf_counter() - started
        for model, seconds in busy.items():
            tables[model._meta.db_table].seconds += elapsed * seconds / (sum(busy.values()) or 1.0)
        self._done(*busy)

    def put_back(self, state: schema.LoadState) -> None:
        for model in _BULK_MODELS:
            with self.clock.table(model) as stat:
                timings = schema.put_back(state, model._meta.db_table)
            stat.rebuild_seconds += sum(seconds for _, seconds in timings)
            details = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings)
            self.say(f"  {model._meta.db_table:<22} rebuilt in {stat.rebuild_seconds:.2f} s: {details}")


def _line(table: str, stat: TableStat) -> str:
    rate = stat.rows / stat.seconds if stat.seconds else 0.0
    return f"  {table:<22} {stat.rows:>12,} rows {stat.seconds:>9.2f} s {rate:>12,.0f} rows/s"


def report_header() -> str:
    return f"  {'table':<22} {'rows':>12}      {'seconds':>9}   {'rows/s':>12}"


def report_table(report: SeedReport) -> list[str]:
    """The per-table summary: table, rows, seconds, rows/s, then the other steps and the total."""
    lines = [report_header()]
    for table, stat in report.tables.items():
        lines.append(_line(table, stat))
    for step, seconds in report.steps.items():
        lines.append(f"  {step:<22} {'':>12}      {seconds:>9.2f} s")
    rate = report.rows / report.total_seconds if report.total_seconds else 0.0
    lines.append(f"  {'total':<22} {report.rows:>12,} rows {report.total_seconds:>9.2f} s {rate:>12,.0f} rows/s")
    return lines
