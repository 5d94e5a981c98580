"""Reads of the manager's pages. Each runs a fixed number of queries, however many cases are open."""

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, reduce
from operator import or_
from typing import Any

from django.db import connection, models
from django.db.models import BooleanField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.db.models import Case as Cond
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog import stakes
from catalog.models import NoteProduct, Product
from moderation.fraud.fingerprints import FingerprintParams
from moderation.models import (
    Case,
    Choice,
    CounterfeitCase,
    CounterfeitReport,
    ManagerTerm,
    ManagerVote,
    Question,
    Report,
    Rule,
    TestAttempt,
)
from ratings.models import FactorScore, Vote

#: How many cases the dashboard shows at once; voting loads the next ones.
QUEUE_SIZE = 20


class Conflict(models.TextChoices):
    """Why a manager may not judge a case: a stake in it."""

    OWN = "own", _("the content is theirs")
    REPORTER = "reporter", _("reported this content")
    SHARED_FINGERPRINT = "shared_fingerprint", _("a device or network shared with the author")
    RATED_PRODUCT = "rated_product", _("rated the same product")
    BRAND = "brand", _("speaks for the brand or store of the product")


def fingerprint_sharers(user_id: int) -> QuerySet[Any]:
    """The accounts (``user_id`` values) that share a device or a network with this account, by screening's
    definition (``moderation.fraud.fingerprints``): a *device* is the pair (device fingerprint, network
    fingerprint) when both are known, the device fingerprint alone when the network is not; a *network* is
    the network fingerprint. Its own account is among them when it has any fingerprint.

    An account's fingerprints are those of every vote and every manager vote it cast. Two choices, and why:

    - A fingerprint more than ``FingerprintParams.common_accounts`` accounts voted through over all time is
      common and binds nobody, as in screening: a carrier's address pool or an office's network, where one
      judge would otherwise be barred from the content of everyone on it. The count is screening's, over
      votes. The same browser build on such a network is still one device (the pair counts apart), unless
      the pair itself is that common.
    - Over all time, not screening's 7-day windows: the window keeps a group to accounts acting together,
      which is what an attack looks like; a stake is whether two accounts are one person or household,
      and that does not lapse when they last shared a network a month ago.

    The relation is symmetric, so one subquery serves a manager's queue (the authors that share with the
    manager) and the staff's list of managers kept from a case (the managers that share with the author).
    Uncorrelated subqueries over the account's own votes and the rows through its fingerprints (the
    network and device indexes), run once per query, not once per case.
    """
    common = FingerprintParams().common_accounts
    own = (Vote.objects.filter(user_id=user_id), ManagerVote.objects.filter(manager_id=user_id))
    networks = _union(source.exclude(ip_hash="").values("ip_hash") for source in own)
    bare_devices = _union(
        source.filter(ip_hash="").exclude(user_agent_hash="").values("user_agent_hash") for source in own
    )
    devices = _union(
        source.exclude(ip_hash="").exclude(user_agent_hash="").annotate(device=_DEVICE).values("device")
        for source in own
    )
    common_networks = _common(Vote.objects.filter(ip_hash__in=networks), "ip_hash", common)
    common_bare = _common(Vote.objects.filter(ip_hash="", user_agent_hash__in=bare_devices), "user_agent_hash", common)
    common_devices = _common(
        Vote.objects.filter(ip_hash__in=common_networks).annotate(device=_DEVICE).filter(device__in=devices),
        "device",
        common,
    )

    def through(rows: QuerySet[Any]) -> list[QuerySet[Any]]:
        """The rows through a shared fingerprint, one branch per kind, each on its index (an OR of the
        three read every row)."""
        return [
            rows.exclude(ip_hash="").filter(ip_hash__in=networks).exclude(ip_hash__in=common_networks),
            rows.filter(ip_hash="", user_agent_hash__in=bare_devices).exclude(user_agent_hash__in=common_bare),
            # a common network: only the same browser build on it (one device) binds
            rows.exclude(ip_hash="")
            .filter(ip_hash__in=common_networks)
            .annotate(device=_DEVICE)
            .filter(device__in=devices)
            .exclude(device__in=common_devices),
        ]

    return _union(
        [branch.values("user_id") for branch in through(Vote.objects.all())]
        + [branch.values("manager_id") for branch in through(ManagerVote.objects.all())]
    )


#: A device with a known network as one value: the hashes are hex, so the separator cannot occur in them.
_DEVICE = Concat(F("user_agent_hash"), Value(" "), F("ip_hash"), output_field=models.CharField())


def _union(querysets: Iterable[QuerySet[Any]]) -> QuerySet[Any]:
    """One column of several querysets as one subquery (the models' default ordering dropped: PostgreSQL
    would sort each part inside the UNION for nothing)."""
    first, *rest = (queryset.order_by() for queryset in querysets)
    union: QuerySet[Any] = first.union(*rest)
    return union


def _common(rows: QuerySet[Any], key: str, accounts: int) -> QuerySet[Any]:
    """The values of ``key`` among ``rows`` that more than ``accounts`` distinct accounts voted through."""
    common: QuerySet[Any] = (
        rows.order_by()
        .values(key)
        .annotate(accounts=Count("user_id", distinct=True))
        .filter(accounts__gt=accounts)
        .values(key)
    )
    return common


def conflict_rules(manager: User) -> dict[Conflict, Q]:
    """Each rule of independence as a filter on ``Case``: true where the manager has that stake.

    Devices and networks are screening's (``fingerprint_sharers``): an empty fingerprint never matches, a
    common one (a carrier's pool) binds nobody. Ratings: a manager who rated a product (in any campaign)
    judges no rating of it. Brands: an account linked to a brand or store (``catalog.stakes``) judges no
    rating of its products and no note that mentions one.
    """
    # The accounts that share a fingerprint with the manager, found once (an uncorrelated subquery the
    # database hashes), then each case's author looked up in them: a correlated EXISTS with an OR of the
    # note's author and the rater made PostgreSQL scan every vote and manager vote for each case shown
    # (bench/moderation_dashboard.py: 6 of the queue query's 8 ms at 10,000 open cases).
    sharers = fingerprint_sharers(manager.pk)
    return {
        Conflict.OWN: Q(note__author=manager) | Q(vote__user=manager),
        Conflict.REPORTER: Q(Exists(Report.objects.filter(case=OuterRef("pk"), reporter=manager))),
        # the author as one expression: the sharers' subquery is hashed once, not once per author column
        Conflict.SHARED_FINGERPRINT: Q(In(Coalesce(F("note__author_id"), F("vote__user_id")), sharers)),
        Conflict.RATED_PRODUCT: Q(vote__product_id__in=Vote.objects.filter(user=manager).values("product_id")),
        # uncorrelated subqueries (hashed once), as the rules above: for an account linked to nothing, empty
        Conflict.BRAND: Q(vote__product_id__in=stakes.linked_products(manager.pk))
        | Q(
            note_id__in=NoteProduct.objects.filter(product_id__in=stakes.linked_products(manager.pk)).values("note_id")
        ),
    }


def conflicts_q(manager: User) -> Q:
    """Cases this manager may not judge (any rule of ``conflict_rules``): the queue leaves them out and
    ``services.vote_cast`` refuses them, with the same filter."""
    return reduce(or_, conflict_rules(manager).values())


#: The case id compiled into ``_conflict_sql`` and replaced by the real one at each check: no other parameter of the
#: query takes this value (they are the manager's id, the common-fingerprint threshold, empty and space strings).
_ANY_CASE = -(2**62) - 2026


@lru_cache(maxsize=4096)
def _conflict_sql(manager_id: int) -> tuple[str, tuple[Any, ...], int]:
    """``has_conflict``'s SQL for one manager, compiled once per process as ``_queue_sql`` is: building and compiling
    the conflict filter's subqueries cost ~28 ms of CPU at every case vote (mixed-load demo data), and the SQL
    depends on nothing but the manager's id and the case's, whose place among the parameters is returned."""
    rows = Case.objects.filter(pk=_ANY_CASE).filter(conflicts_q(User(pk=manager_id))).values("pk")[:1]
    sql, params = rows.query.sql_with_params()
    places = [place for place, value in enumerate(params) if value == _ANY_CASE]
    if len(places) != 1:
        raise RuntimeError(f"the conflict check's case id is in {len(places)} of its parameters, not one")
    return sql, tuple(params), places[0]


def has_conflict(*, manager_id: int, case_id: int) -> bool:
    """Whether any rule of ``conflict_rules`` keeps this manager from this case (one query)."""
    sql, params, place = _conflict_sql(manager_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params[:place], case_id, *params[place + 1 :]))
        return cursor.fetchone() is not None


def conflicts_of(*, manager: User, case_id: int) -> list[Conflict]:
    """Which rules keep this manager from this case (one query)."""
    rules = conflict_rules(manager)
    flags = (
        Case.objects.filter(pk=case_id)
        .annotate(
            **{
                f"has_{conflict.value}": Cond(
                    When(rule, then=Value(True)), default=Value(False), output_field=BooleanField()
                )
                for conflict, rule in rules.items()
            }
        )
        .values(*(f"has_{conflict.value}" for conflict in rules))
        .first()
    )
    if flags is None:
        return []
    return [conflict for conflict in rules if flags[f"has_{conflict.value}"]]


def case_conflicts(case: Case) -> dict[User, list[Conflict]]:
    """The current managers kept from this case, and why (for staff). A few queries, however many managers."""
    now = timezone.now()
    managers = User.objects.filter(
        manager_terms__status=ManagerTerm.Status.ACTIVE,
        manager_terms__starts_at__lte=now,
        manager_terms__ends_at__gt=now,
    )
    author_id = case.note.author_id if case.note_id is not None else case.vote.user_id  # type: ignore[union-attr]
    found: dict[int, list[Conflict]] = {}

    def mark(ids: QuerySet[User], conflict: Conflict) -> None:
        for pk in ids.values_list("pk", flat=True).distinct():
            found.setdefault(pk, []).append(conflict)

    mark(managers.filter(pk=author_id), Conflict.OWN)
    mark(managers.filter(reports__case=case), Conflict.REPORTER)
    mark(managers.filter(pk__in=fingerprint_sharers(author_id)), Conflict.SHARED_FINGERPRINT)
    if case.vote_id is not None:
        mark(managers.filter(votes__product_id=case.vote.product_id), Conflict.RATED_PRODUCT)  # type: ignore[union-attr]
        products = Product.objects.filter(pk=case.vote.product_id)  # type: ignore[union-attr]
    else:
        products = Product.objects.filter(notes=case.note_id)
    mark(
        managers.filter(
            Q(brand_accounts__brand__in=products.values("brand_id"))
            | Q(brand_accounts__store__in=products.values("store_id"))
        ),
        Conflict.BRAND,
    )
    users = User.objects.in_bulk(list(found))
    return {users[pk]: reasons for pk, reasons in sorted(found.items())}


def queue(*, manager: User, limit: int = QUEUE_SIZE) -> list[Case]:
    """Open cases this manager may judge, highest priority first: never one they have a stake in
    (``conflicts_q``), never one they voted on. Audit cases are among them, unannounced. Other managers'
    votes are not loaded. The cases come with what their cards show (``cards_load``)."""
    entries = queue_entries(manager=manager, limit=limit)
    cases = cards_load([entry.pk for entry in entries])
    return [cases[entry.pk] for entry in entries if entry.pk in cases]


@dataclass(frozen=True)
class QueueEntry:
    """A case of the manager's queue as its id and what its card's cache key needs (``moderation/cards.py``)."""

    pk: int
    stamp: str


@lru_cache(maxsize=4096)
def _queue_sql(manager_id: int, limit: int) -> tuple[str, tuple[Any, ...]]:
    """The queue query's SQL and parameters for one manager, compiled once per process: building and
    compiling the conflict filter's subqueries cost ~4 ms of CPU, a third of the page; the SQL depends on
    nothing but the manager's id and the limit (every other figure is read by the database when it runs)."""
    manager = User(pk=manager_id)
    # Ids first from the queue index, then the display joins for those rows alone (``cards_load``, mostly
    # from the card cache): in one query the planner joined every skipped case to six tables before
    # dropping it (bench/moderation_dashboard.py: 49-58 ms of PostgreSQL time per page at 100,000 open
    # cases, 13-15 ms as two).
    rows = (
        Case.objects.filter(status=Case.Status.OPEN)
        # The cases voted on as a set, hashed once (NOT IN): the index walk drops each with a lookup before
        # any join. As NOT EXISTS it became an anti-join the planner put last, after probing the notes and
        # votes of every case the manager had passed (bench/moderation_dashboard.py: 3,000 at the head).
        .exclude(pk__in=ManagerVote.objects.filter(manager=manager).order_by().values("case_id"))
        .exclude(conflicts_q(manager))
        .order_by("-priority", "created_at", "id")
        .values_list("pk", "updated_at", "reports_count", "note__updated_at", "vote__updated_at")[:limit]
    )
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)


def queue_entries(*, manager: User, limit: int = QUEUE_SIZE) -> list[QueueEntry]:
    """The manager's queue (open cases, none they have a stake in or voted on, highest priority first) as
    ids and card stamps: one query, however many cases are open. The stamp changes when the case, or the
    note or rating it is about, does."""
    rows = _queue_rows(manager.pk, limit)
    return [
        QueueEntry(pk=pk, stamp=f"{updated.timestamp()}-{reports}-{(note or vote).timestamp()}")
        for pk, updated, reports, note, vote in rows
    ]


#: Queue statements prepared on each database connection (the DB-API one: they live and die with it).
_PREPARED: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
#: In a connection's set: a round trip failed, so which statements it holds is not known.
_UNKNOWN = "?"
#: More than this many on one connection (one per manager and size): all are dropped, so a long-lived
#: connection does not hold a plan for every manager who ever loaded the desk.
PREPARED_MOST = 64


def _queue_rows(manager_id: int, limit: int) -> list[tuple[Any, ...]]:
    """The manager's queue query, run as a statement prepared on this connection from ``_queue_sql`` (in
    the same round trip the first time). Its conflict filter's subqueries cost PostgreSQL 2-3 ms to plan,
    as much as running the query (bench/moderation_dashboard.py at 100,000 open cases); a prepared statement
    without parameters is planned once, and planned again by PostgreSQL itself when the tables' statistics
    or indexes change. Needs session-level connections (not a pooler in transaction mode); other databases
    (SQLite in development) run the query as it is."""
    name = f"xhs_queue_{manager_id}_{limit}"
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(*_queue_sql(manager_id, limit))
            return list(cursor.fetchall())
        names = _PREPARED.setdefault(connection.connection, set())
        if name in names:
            cursor.execute(f"EXECUTE {name}")
            return list(cursor.fetchall())
        sql, params = _queue_sql(manager_id, limit)
        statement = f"PREPARE {name} AS {cursor.mogrify(sql, params).decode()}; EXECUTE {name}"
        if _UNKNOWN in names or len(names) >= PREPARED_MOST:
            statement = f"DEALLOCATE ALL; {statement}"
            names.clear()
        try:
            cursor.execute(statement)
        except Exception:
            names.add(_UNKNOWN)  # prepared or not: the next statement starts afresh
            raise
        names.add(name)
        return list(cursor.fetchall())


#: What a case card shows, and nothing more (``.only``): a card never reads whether a case is an audit.
CARD_FIELDS = (
    "id",
    "rule_id",
    "note_id",
    "vote_id",
    "source",
    "priority",
    "reports_count",
    "evidence",
    "created_at",
    "rule__name_zh",
    "rule__name_en",
    "rule__description_zh",
    "rule__description_en",
    "note__title",
    "note__body",
    "note__published_at",
    "note__author__display_name",
    "note__author__email",
    "vote__comment",
    "vote__created_at",
    "vote__product_id",
    "vote__user__display_name",
    "vote__user__email",
    "vote__product__name_zh",
    "vote__product__name_en",
    "vote__product__slug",
)

#: Reporters' reasons shown on a card, newest first (their comments, never who wrote them).
CARD_REASONS = 5


def cards_load(case_ids: list[int]) -> dict[int, Case]:
    """The cases behind cards, with what their cards show (three queries however many): the rule and its
    text, the content, a rating's scores, and ``reporter_reasons`` (the reporters' own words)."""
    if not case_ids:
        return {}
    cases = (
        Case.objects.filter(pk__in=case_ids)
        .select_related("rule", "note", "note__author", "vote", "vote__user", "vote__product")
        .only(*CARD_FIELDS)
        .prefetch_related(
            Prefetch(
                "vote__scores",
                queryset=FactorScore.objects.select_related("factor")
                .only("vote_id", "score", "factor__name_zh", "factor__name_en", "factor__position")
                .order_by("factor__position"),
            )
        )
    )
    by_id = {case.pk: case for case in cases}
    words: dict[int, list[str]] = {pk: [] for pk in by_id}
    for case_id, comment in (
        Report.objects.filter(case_id__in=list(by_id)).exclude(comment="").order_by("-created_at", "-id")
    ).values_list("case_id", "comment"):
        words[case_id].append(comment)
    for pk, case in by_id.items():
        # An audit carries its reasons in its evidence, drawn from real reports (``services.audit_create``).
        kept = case.evidence.get("report_reasons", []) if isinstance(case.evidence, dict) else []
        case.reporter_reasons = (words[pk] or [str(reason) for reason in kept])[:CARD_REASONS]  # type: ignore[attr-defined]
    return by_id


def case_for_manager(*, manager: User, case_id: int) -> Case | None:
    """An open case this manager may judge (no stake in it), for its own page; None otherwise."""
    allowed = (
        Case.objects.filter(pk=case_id, status=Case.Status.OPEN)
        .exclude(conflicts_q(manager))
        .values_list("pk", flat=True)
        .first()
    )
    if allowed is None:
        return None
    return cards_load([allowed])[allowed]


@dataclass(frozen=True)
class DeskVotes:
    """The manager's votes as the desk shows them."""

    #: Votes since local midnight (the daily cap counts the same).
    today: int
    #: Votes they may still take back: cast within the undo window, on cases still open; newest first.
    undoable: list[ManagerVote]


def desk_votes(*, manager: User, window_seconds: int, now: datetime | None = None) -> DeskVotes:
    """Today's count (counted by the database) and the undoable votes (loaded: at most the few of the undo
    window), in two queries whatever the number of votes today."""
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    opened = now - timedelta(seconds=window_seconds)
    today = ManagerVote.objects.filter(manager=manager, created_at__gte=midnight).count()
    undoable = list(
        ManagerVote.objects.filter(manager=manager, created_at__gte=opened, case__status=Case.Status.OPEN)
        .only("id", "case_id", "choice", "created_at")
        .order_by("-created_at", "-id")
    )
    return DeskVotes(today=today, undoable=undoable)


def own_vote(*, manager: User, case_id: int) -> ManagerVote | None:
    """The manager's own vote on a case (never anyone else's: votes stay blind)."""
    return ManagerVote.objects.filter(manager=manager, case_id=case_id).only("id", "choice", "created_at").first()


def case_for_author(*, user: User, case_id: int) -> Case | None:
    """A decided case about the user's own content (to read why, and appeal)."""
    case = (
        Case.objects.select_related("rule", "note", "vote", "vote__product")
        .filter(pk=case_id, status=Case.Status.DECIDED)
        .filter(Q(note__author=user) | Q(vote__user=user))
        .first()
    )
    return case


def attempt_questions(attempt: TestAttempt) -> list[Question]:
    """The attempt's questions in the order drawn, with their choices (2 queries). Never the answers."""
    ids = [int(pk) for pk in attempt.question_ids]
    by_id = Question.objects.prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))
    ).in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class Missed:
    """A question the person got wrong, with the rule that answers it (never the right choice)."""

    number: int
    question: Question
    chosen: Choice | None


def attempt_missed(attempt: TestAttempt) -> list[Missed]:
    """The graded attempt's wrong or unanswered questions, in the order shown, with their rules
    (3 queries). Only these questions: the rest of the bank stays unseen."""
    questions = attempt_questions(attempt)
    rules = Rule.objects.in_bulk({question.rule_id for question in questions})
    missed = []
    for number, question in enumerate(questions, start=1):
        question.rule = rules[question.rule_id]
        chosen_id = attempt.answers.get(str(question.pk))
        chosen = next((choice for choice in question.choices.all() if choice.pk == chosen_id), None)
        if chosen is None or not chosen.is_correct:
            missed.append(Missed(number=number, question=question, chosen=chosen))
    return missed


def active_rules() -> QuerySet[Rule]:
    return Rule.objects.filter(active=True).order_by("position", "id")


def audit_record(*, manager: User, limit: int = 20) -> list[ManagerVote]:
    """The manager's scored audit votes, newest first, with any dispute."""
    return list(
        ManagerVote.objects.filter(manager=manager, audit_correct__isnull=False)
        .select_related("case", "case__rule", "dispute")
        .order_by("-created_at", "-id")[:limit]
    )


#: Claims shown on the managers' page at once: the oldest first, so none waits for ever.
CLAIMS_PER_PAGE = 20


def counterfeit_queue(*, manager: User) -> list[CounterfeitCase]:
    """Open counterfeit claims this manager has neither voted on nor reported nor speaks for (as a brand's
    account), oldest first, each with its
    product, store and reports (three queries however many claims)."""
    reports = CounterfeitReport.objects.select_related("purchase").order_by("created_at", "id")
    return list(
        CounterfeitCase.objects.filter(status=CounterfeitCase.Status.OPEN)
        .exclude(votes__manager=manager)
        .exclude(reports__reporter=manager)
        .exclude(product_id__in=stakes.linked_products(manager.pk))  # brands can never steer
        .select_related("product__brand", "product__category", "store")
        .prefetch_related(Prefetch("reports", queryset=reports))
        .order_by("created_at", "id")[:CLAIMS_PER_PAGE]
    )
