"""Bench: the moderation dashboard with 100,000 open cases, beside the trivial view /healthz/ in the same run.

    .venv/bin/python bench/moderation_dashboard.py --prepare     # once: create, migrate, seed, 100k open cases
    .venv/bin/python bench/moderation_dashboard.py [--workers 4] [--connections 16] [--seconds 20] \
        [--warmup 3] [--client-processes 2] [--rounds 1]

``--prepare`` creates the database if it is missing, migrates it and runs ``seed --scale demo --flush``
(bench/product_page_load.py's ``prepare``: it replaces everything in that database), then fills the
moderation queue in SQL (``INSERT … SELECT`` from generate_series, one transaction, then VACUUM ANALYZE):

- extra community notes (title and body cycled from the demo's notes, authors cycled over the users,
  one in ``--own-every`` written by the demo manager so the dashboard's "not my own content" has work);
- one open case per note without an open case (the database allows one open non-audit case per note
  and per vote), priority 1–20 skewed low, created in the last 70 hours (older cases escalate);
- one open case per rating comment without one, screening-flagged ones among them, priority 8–20
  (screening puts rating comments ahead, so the first page mixes notes and comments);
- ``--audit-share`` of the cases as audits (known answer, no uniqueness limit), cycling over notes and
  comments, until ``--cases`` cases are open;
- the demo manager (``--manager-email``, whose term the demo opened) has voted on the first
  ``--manager-votes`` cases of their own queue, as a manager working top-down leaves them while they
  wait for quorum: the dashboard's index walk passes them all, each dropped by a lookup in the hashed set
  of that manager's votes (``selectors._queue_sql``); the other managers have voted on ~2 % of the open
  cases each.

Reports (the ``moderation_report`` rows behind ``reports_count``) are not created: the dashboard does
not read them.

Measure mode (the default) uses bench/product_page_load.py's production environment (DEBUG off,
Redis cache, persistent connections, a temporary STATIC_ROOT through a settings overlay), then:

1. in this process, the Django test Client signed in as the manager (``force_login``): the SQL queries
   of /moderation/ (CaptureQueriesContext) with all ``--cases`` open, and with only 100 open (the rest
   marked escalated with a sentinel ``escalated_at``, VACUUM ANALYZE, then exactly those reopened: a
   rolled-back UPDATE would leave the 100k entries in the partial queue index and time a queue that
   does not exist); the page's and the queue query's times in both states; EXPLAIN (ANALYZE, BUFFERS)
   of the queue query at full size, summarised, with what in it grows with the queue;
2. under load: gunicorn and the multi-process load client of product_page_load.py, /healthz/ then
   /moderation/ (``--rounds`` times), every request carrying the manager's session cookie (a session
   made in this process with the same SECRET_KEY as gunicorn's); the dashboard's requests must all
   answer 200 with the manager's queue (a 302 to the login page or a 403 counts as a failure).

The machine is shared: every figure is printed with the load average (1/5/15 min) beside it.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import product_page_load as plb  # bench/ is sys.path[0] when this file runs as a script

DASHBOARD = "/moderation/"
HEALTHZ = "/healthz/"
SMALL_STATE = 100  # open cases in the small state of the query-count check
CASE_MARK = re.compile(rb'data-case="(\d+)"')
QUEUE_STATEMENT = "xhs_queue_"  # moderation.selectors._queue_rows


def load() -> str:
    return f"load {plb.load_average()}"


# --- Prepare: 100,000 open cases in SQL ------------------------------------------------------------

FREE_NOTES = """
    FROM catalog_note n
    WHERE NOT EXISTS (
        SELECT 1 FROM moderation_case c
        WHERE c.note_id = n.id AND NOT c.is_audit AND c.status IN ('open', 'escalated')
    )
"""
FREE_COMMENTS = """
    FROM ratings_vote v
    WHERE v.comment <> '' AND NOT EXISTS (
        SELECT 1 FROM moderation_case c
        WHERE c.vote_id = v.id AND NOT c.is_audit AND c.status IN ('open', 'escalated')
    )
"""
RULES = "(SELECT id, row_number() OVER (ORDER BY position, id) - 1 AS n FROM moderation_rule)"
CASE_COLUMNS = (
    "source, status, priority, reports_count, evidence, is_audit, audit_answer, outcome,"
    " created_at, updated_at, note_id, vote_id, rule_id"
)

INSERT_NOTES = """
INSERT INTO catalog_note (title, body, visibility, likes_count, saves_count, published_at, created_at, updated_at,
                          author_id)
SELECT src.title, src.body, 'visible', 0, 0, s.at, s.at, s.at,
       CASE WHEN s.g %% %(own_every)s = 0 THEN %(manager)s ELSE u.id END
FROM (SELECT g, now() - random() * interval '365 days' AS at FROM generate_series(1, %(count)s) AS g) AS s
JOIN (SELECT title, body, row_number() OVER (ORDER BY id) - 1 AS n FROM catalog_note) AS src
    ON src.n = s.g %% (SELECT count(*) FROM catalog_note)
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_user) AS u
    ON u.n = (s.g * 7) %% (SELECT count(*) FROM accounts_user)
"""
INSERT_NOTE_CASES = f"""
INSERT INTO moderation_case ({CASE_COLUMNS})
SELECT CASE WHEN s.r < 0.8 THEN 'report' WHEN s.r < 0.95 THEN 'screening' ELSE 'staff' END,
       'open', 1 + floor(20 * s.p * s.p)::int, CASE WHEN s.r < 0.8 THEN 1 + floor(s.r * 6)::int ELSE 0 END,
       '{{}}', false, '', '', s.at, s.at, s.id, NULL, rule.id
FROM (SELECT n.id, row_number() OVER (ORDER BY n.id) AS rn, random() AS r, random() AS p,
             now() - random() * interval '70 hours' AS at
      {FREE_NOTES}) AS s
JOIN {RULES} AS rule ON rule.n = s.rn %% (SELECT count(*) FROM moderation_rule)
WHERE s.rn <= %(count)s
"""
INSERT_COMMENT_CASES = f"""
INSERT INTO moderation_case ({CASE_COLUMNS})
SELECT CASE WHEN s.r < 0.5 THEN 'screening' ELSE 'report' END, 'open', 8 + floor(13 * s.p)::int,
       CASE WHEN s.r < 0.5 THEN 0 ELSE 1 + floor(s.r * 4)::int END,
       CASE WHEN s.r < 0.5 THEN jsonb_build_object('score', round((0.5 + s.p / 2)::numeric, 3), 'reasons',
                                                   '[{{"code": "near_duplicate", "params": {{"copies": 4}}}},
                                                     {{"code": "fast_fill", "params": {{"seconds": 12}}}}]'::jsonb)
            ELSE '{{}}'::jsonb END,
       false, '', '', s.at, s.at, NULL, s.id, rule.id
FROM (SELECT v.id, row_number() OVER (ORDER BY v.id) AS rn, random() AS r, random() AS p,
             now() - random() * interval '70 hours' AS at
      {FREE_COMMENTS}) AS s
JOIN {RULES} AS rule ON rule.n = s.rn %% (SELECT count(*) FROM moderation_rule)
WHERE s.rn <= %(count)s
"""
# Audits have no uniqueness limit: cycle over all notes (nine in ten) and all rating comments.
INSERT_AUDIT_CASES = f"""
INSERT INTO moderation_case ({CASE_COLUMNS})
SELECT 'staff', 'open', 1 + floor(20 * s.p * s.p)::int, 0, '{{}}', true,
       CASE WHEN s.g %% 2 = 0 THEN 'violates' ELSE 'complies' END, '', s.at, s.at,
       CASE WHEN s.g %% 10 <> 0 THEN note.id END, CASE WHEN s.g %% 10 = 0 THEN comment.id END, rule.id
FROM (SELECT g, random() AS p, now() - random() * interval '70 hours' AS at
      FROM generate_series(1, %(count)s) AS g) AS s
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM catalog_note) AS note
    ON note.n = (s.g * 13) %% (SELECT count(*) FROM catalog_note)
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM ratings_vote WHERE comment <> '') AS comment
    ON comment.n = (s.g * 17) %% (SELECT count(*) FROM ratings_vote WHERE comment <> '')
JOIN {RULES} AS rule ON rule.n = s.g %% (SELECT count(*) FROM moderation_rule)
"""
CHOICE = "(ARRAY['violates', 'complies', 'complies', 'skip'])[1 + floor(random() * 4)::int]"
# The first cases of the manager's own queue (same filter and order as moderation.selectors.queue).
INSERT_MANAGER_VOTES = f"""
INSERT INTO moderation_managervote (choice, audit_correct, created_at, case_id, manager_id)
SELECT q.choice, CASE WHEN q.is_audit AND q.choice <> 'skip' THEN q.choice = q.audit_answer END,
       now() - random() * interval '60 hours', q.id, %(manager)s
FROM (
    SELECT c.id, c.is_audit, c.audit_answer, {CHOICE} AS choice
    FROM moderation_case c
    LEFT JOIN catalog_note n ON n.id = c.note_id
    LEFT JOIN ratings_vote v ON v.id = c.vote_id
    WHERE c.status = 'open' AND coalesce(n.author_id, v.user_id) <> %(manager)s
      AND NOT EXISTS (SELECT 1 FROM moderation_managervote m WHERE m.case_id = c.id AND m.manager_id = %(manager)s)
    ORDER BY c.priority DESC, c.created_at, c.id
    LIMIT %(count)s
) AS q
ON CONFLICT DO NOTHING
"""
INSERT_OTHER_VOTES = f"""
INSERT INTO moderation_managervote (choice, audit_correct, created_at, case_id, manager_id)
SELECT q.choice, CASE WHEN q.is_audit AND q.choice <> 'skip' THEN q.choice = q.audit_answer END,
       now() - random() * interval '60 hours', q.id, q.manager_id
FROM (
    SELECT c.id, c.is_audit, c.audit_answer, t.user_id AS manager_id, {CHOICE} AS choice
    FROM moderation_managerterm t
    JOIN moderation_case c ON c.status = 'open'
    LEFT JOIN catalog_note n ON n.id = c.note_id
    LEFT JOIN ratings_vote v ON v.id = c.vote_id
    WHERE t.status = 'active' AND t.user_id <> %(manager)s AND coalesce(n.author_id, v.user_id) <> t.user_id
      AND random() < %(share)s
) AS q
ON CONFLICT DO NOTHING
"""


def seed_cases(args: argparse.Namespace) -> None:
    """Fills the queue to ``args.cases`` open cases (see the module docstring)."""
    import psycopg2

    started = time.perf_counter()
    db = psycopg2.connect(args.database_url)
    try:
        with db, db.cursor() as cursor:  # one transaction

            def scalar(sql: str, params: Any = None) -> int:
                cursor.execute(sql, params)
                return int(cursor.fetchone()[0])

            def run(label: str, sql: str, params: dict[str, Any]) -> None:
                step = time.perf_counter()
                cursor.execute(sql, params)
                print(f"  {label:<44} {cursor.rowcount:>8,} rows {time.perf_counter() - step:6.1f} s  {load()}")

            cursor.execute("SELECT setseed(0.42)")  # the same data every time (row order permitting)
            manager = scalar("SELECT id FROM accounts_user WHERE email = %s", [args.manager_email])
            to_add = args.cases - scalar("SELECT count(*) FROM moderation_case WHERE status = 'open'")
            audits = round(to_add * args.audit_share)
            comment_cases = min(scalar(f"SELECT count(*) {FREE_COMMENTS}"), to_add - audits)
            note_cases = to_add - audits - comment_cases
            extra_notes = max(0, note_cases - scalar(f"SELECT count(*) {FREE_NOTES}"))
            print(f"filling the queue to {args.cases:,} open cases (manager user {manager}):")
            run(
                "extra community notes",
                INSERT_NOTES,
                {"count": extra_notes, "own_every": args.own_every, "manager": manager},
            )
            run("open cases about notes", INSERT_NOTE_CASES, {"count": note_cases})
            run("open cases about rating comments", INSERT_COMMENT_CASES, {"count": comment_cases})
            run("open audit cases", INSERT_AUDIT_CASES, {"count": audits})
            run(
                "the manager's votes (head of their queue)",
                INSERT_MANAGER_VOTES,
                {"count": args.manager_votes, "manager": manager},
            )
            run("the other managers' votes (~2 % each)", INSERT_OTHER_VOTES, {"share": 0.02, "manager": manager})
        db.autocommit = True
        with db.cursor() as cursor:
            step = time.perf_counter()
            for table in ("catalog_note", "moderation_case", "moderation_managervote"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            print(f"  {'VACUUM ANALYZE':<44} {'':>13} {time.perf_counter() - step:6.1f} s  {load()}")
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE is_audit), count(vote_id), min(priority), max(priority)"
                " FROM moderation_case WHERE status = 'open'"
            )
            total, audit, comments, low, high = cursor.fetchone()
    finally:
        db.close()
    print(
        f"open cases: {total:,} ({audit:,} audits, {comments:,} about rating comments), priority {low}–{high};"
        f" {time.perf_counter() - started:.0f} s  {load()}",
        flush=True,
    )


# --- In process: queries per page, the queue query's time and plan --------------------------------


@dataclass
class PageSample:
    open_cases: int
    status: int
    queries: list[tuple[str, float]]  # (SQL, seconds) in the order run
    case_ids: list[int]
    comment_cases: int
    load: str

    @property
    def queue_query(self) -> tuple[str, float]:
        # the one query that walks the queue index (a statement prepared on the connection, by its name)
        sql, seconds = next((sql, t) for sql, t in self.queries if QUEUE_STATEMENT in sql)
        # the first page prepares it in the same round trip: timed and explained from here, it is run
        return ("EXECUTE " + sql.rsplit("; EXECUTE ", 1)[1] if sql.startswith("PREPARE ") else sql), seconds


def dashboard_page(client: Any) -> PageSample:
    """One /moderation/ request through the test Client; its queries counted and timed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from moderation.models import Case

    timings: list[float] = []

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(time.perf_counter() - started)

    open_cases = Case.objects.filter(status=Case.Status.OPEN).count()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        response = client.get(DASHBOARD, secure=True)
    ids = [int(pk) for pk in CASE_MARK.findall(response.content)]
    return PageSample(
        open_cases=open_cases,
        status=response.status_code,
        queries=[(query["sql"], seconds) for query, seconds in zip(captured.captured_queries, timings, strict=True)],
        case_ids=ids,
        comment_cases=Case.objects.filter(pk__in=ids, vote__isnull=False).count(),
        load=load(),
    )


def time_sql(sql: str, runs: int) -> list[float]:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            times.append(time.perf_counter() - started)
    return times


def explain(sql: str) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        document = cursor.fetchone()[0]
    return (document if isinstance(document, list) else json.loads(document))[0]


def plan_nodes(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for child in node.get("Plans", []):
        yield from plan_nodes(child, depth + 1)


def plan_line(node: dict[str, Any]) -> str:
    label = node["Node Type"]
    if node.get("Join Type") not in (None, "Inner"):
        label = f"{label} ({node['Join Type']})"
    if node.get("Parent Relationship") in ("SubPlan", "InitPlan"):
        label = f"{node.get('Subplan Name', node['Parent Relationship'])}: {label}"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    details = [f"rows {node['Actual Rows']:,}×{node['Actual Loops']:,}", f"{node['Actual Total Time']:.2f} ms"]
    for key, name in (("Rows Removed by Filter", "removed by filter"), ("Rows Removed by Join Filter", "by join")):
        if node.get(key):
            details.append(f"{node[key]:,} {name}")
    if "Sort Method" in node:
        details.append(f"{node['Sort Method']} {node.get('Sort Space Used', '?')} kB")
    details.append(f"buffers hit {node.get('Shared Hit Blocks', 0):,} read {node.get('Shared Read Blocks', 0):,}")
    return f"{label}: " + ", ".join(details)


def plan_summary(plan: dict[str, Any], shown: int) -> list[str]:
    """What in the queue query's plan grows with the queue: full scans, big sorts, work on rows not shown."""
    nodes = [node for _, node in plan_nodes(plan["Plan"])]
    queue_tables = {"moderation_case", "moderation_managervote"}
    lines, problems = [], []
    for node in nodes:
        relation, rows = node.get("Relation Name"), node["Actual Rows"] * node["Actual Loops"]
        if relation == "moderation_case":
            how = f"{node['Node Type']}" + (f" using {node['Index Name']}" if "Index Name" in node else "")
            lines.append(f"moderation_case: {how}, {rows:,} rows read for {shown} shown")
            if node["Node Type"] == "Seq Scan":
                problems.append(f"a sequential scan of moderation_case ({rows:,} rows)")
        elif relation == "moderation_managervote" and node["Node Type"] == "Seq Scan":
            problems.append(f"a sequential scan of moderation_managervote ({rows:,} rows)")
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            sorted_rows = sum(c["Actual Rows"] * c["Actual Loops"] for c in node.get("Plans", []))
            if sorted_rows > 10 * shown:
                problems.append(f"a sort of {sorted_rows:,} rows")
        if node["Node Type"] == "Hash" and any(c.get("Relation Name") in queue_tables for c in node.get("Plans", [])):
            problems.append(f"a hash of {node['Actual Rows']:,} rows of the queue tables")
        if node.get("Join Type") == "Anti":
            outer = node["Plans"][0]
            joined = sorted({n["Relation Name"] for _, n in plan_nodes(outer) if n.get("Relation Name")} - queue_tables)
            lines.append(
                f"NOT EXISTS (anti-join): {outer['Actual Rows'] * outer['Actual Loops']:,} rows in,"
                f" {node['Actual Rows'] * node['Actual Loops']:,} out"
                + (f"; the rows going in were already joined to {', '.join(joined)}" if joined else "")
            )
    probes = sum(
        n["Actual Loops"] for n in nodes if n.get("Relation Name") not in queue_tables | {None} and "Index Name" in n
    )
    lines.append(f"index probes of the other tables (notes, votes, users, products, brands, rules): {probes:,}")
    if probes > 10 * 7 * shown:
        problems.append(f"{probes:,} probes of the display tables for {shown} cases shown")
    lines.append("verdict: " + ("; ".join(problems) if problems else "no full scan, sort or hash of the queue"))
    return lines


SENTINEL = "2000-01-01T00:00:00+00:00"  # escalated_at of the cases the small state sets aside
SET_ASIDE = f"""
WITH kept AS (
    (SELECT id FROM moderation_case WHERE status = 'open' AND vote_id IS NULL
     ORDER BY md5(id::text) LIMIT {SMALL_STATE - SMALL_STATE // 10})
    UNION ALL
    (SELECT id FROM moderation_case WHERE status = 'open' AND vote_id IS NOT NULL
     ORDER BY md5(id::text) LIMIT {SMALL_STATE // 10})
)
UPDATE moderation_case SET status = 'escalated', escalated_at = '{SENTINEL}'
WHERE status = 'open' AND id NOT IN (SELECT id FROM kept)
"""
RESTORE = f"UPDATE moderation_case SET status = 'open', escalated_at = NULL WHERE escalated_at = '{SENTINEL}'"


def vacuum_cases() -> None:
    """After a bulk status change: the partial queue index and the statistics as a settled table has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE moderation_case")


@contextmanager
def small_state() -> Iterator[None]:
    """All but SMALL_STATE open cases escalated (committed, so the queue index is as small as the queue
    would be), then exactly those cases open again. A run killed in between is healed by the next one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SET_ASIDE)
    vacuum_cases()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(RESTORE)
        vacuum_cases()


def measure_state(client: Any, runs: int) -> tuple[PageSample, list[float], list[float]]:
    """The page's queries; then `runs` pages timed whole, and `runs` runs of the queue query alone."""
    client.get(DASHBOARD, secure=True)  # the connection, the templates, the translations
    sample = dashboard_page(client)
    if sample.status != 200 or not sample.case_ids:
        raise SystemExit(f"{DASHBOARD} answered {sample.status} with {len(sample.case_ids)} cases in process")
    pages = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(DASHBOARD, secure=True)
        pages.append(time.perf_counter() - started)
    return sample, pages, time_sql(sample.queue_query[0], runs)


def in_process(args: argparse.Namespace, manager_email: str) -> str:
    """Prints the queries, times and plan of the dashboard; returns the signed-in manager's session key."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from moderation.models import Case

    with connection.cursor() as cursor:
        cursor.execute(RESTORE)
        if cursor.rowcount:
            print(f"reopened {cursor.rowcount:,} cases an interrupted run had set aside")
            vacuum_cases()
    manager = User.objects.get(email=manager_email)
    open_cases = Case.objects.filter(status=Case.Status.OPEN).count()
    if open_cases < args.cases * 0.9:
        raise SystemExit(f"{open_cases:,} open cases: run with --prepare first")
    client = Client(SERVER_NAME=plb.HOST)
    client.force_login(manager)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    full, full_pages, full_sql = measure_state(client, args.sql_runs)
    explain(full.queue_query[0])  # warm
    plan = explain(full.queue_query[0])
    plan_load = load()
    with small_state():
        small, small_pages, small_sql = measure_state(client, args.sql_runs)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:7.2f}"

    print(f"\n{DASHBOARD} in this process (test Client, signed in as {manager_email}, production settings):")
    print(
        f"  {'open cases':>10} {'status':>6} {'queries':>7} {'SQL ms':>7} {'queue q':>7} {'cases shown':>18}"
        f"   {'median of ' + str(args.sql_runs) + ':':<14} {'page ms':>7} {'queue q':>7}  load 1/5/15"
    )
    for sample, pages, sql in ((small, small_pages, small_sql), (full, full_pages, full_sql)):
        print(
            f"  {sample.open_cases:>10,} {sample.status:>6} {len(sample.queries):>7}"
            f" {sum(t for _, t in sample.queries) * 1000:>7.2f} {sample.queue_query[1] * 1000:>7.2f}"
            f" {len(sample.case_ids):>5} ({sample.comment_cases:>2} comments)   {'':<14} {ms(pages)} {ms(sql)}"
            f"  {sample.load.removeprefix('load ')}"
        )
    same = len(small.queries) == len(full.queries)
    print(
        f"  queries per page: {len(small.queries)} at {small.open_cases:,} open cases, {len(full.queries)} at"
        f" {full.open_cases:,}: {'constant' if same else 'NOT CONSTANT'}"
        " (SQL ms, queue q: that one page; page ms: wall of a whole request through the test Client)"
    )
    for sql, seconds in full.queries:
        print(f"    {seconds * 1000:7.2f} ms  {' '.join(sql.split())[:108]}")

    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the queue query at {full.open_cases:,} open cases:")
    for depth, node in plan_nodes(plan["Plan"]):
        print("  " + "  " * depth + plan_line(node))
    print(f"  planning {plan['Planning Time']:.2f} ms, execution {plan['Execution Time']:.2f} ms  {plan_load}")
    for line in plan_summary(plan, shown=len(full.case_ids)):
        print("  " + line)
    connection.close()
    return session_key


# --- Under load ------------------------------------------------------------------------------------


@contextmanager
def session_cookie(name: str, value: str) -> Iterator[None]:
    """Every request built meanwhile carries the session cookie.

    plb.build_request takes a path only; run_scenario and http_get call it through the module (in
    this process, before the client processes are spawned with the finished bytes), so wrapping it
    adds the header to every request without copying the load generator."""
    original = plb.build_request
    header = f"\r\nCookie: {name}={value}\r\n\r\n".encode()

    def with_cookie(path: str) -> bytes:
        return original(path).replace(b"\r\n\r\n", header, 1)

    plb.build_request = with_cookie
    try:
        yield
    finally:
        plb.build_request = original


def under_load(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path, session_key: str) -> None:
    import redis
    from django.conf import settings

    redis_pid = int(redis.Redis.from_url(args.redis_url).info("server")["process_id"])
    db_pids = plb.backend_pids(args.database_url)

    outcomes: list[plb.Outcome] = []
    log_path = overlay_dir / "gunicorn.log"
    print(f"\n{os.cpu_count()} cores; {load()} before the load run", flush=True)
    with plb.gunicorn(env, args.workers, log_path) as (port, process):
        status, _, location = plb.http_get(port, DASHBOARD)
        print(f"{DASHBOARD} without the session cookie: {status} {location}")
        with session_cookie(settings.SESSION_COOKIE_NAME, session_key):
            status, body, location = plb.http_get(port, DASHBOARD)
            shown = len(CASE_MARK.findall(body))
            print(f"{DASHBOARD} with the manager's session cookie: {status}, {len(body):,} bytes, {shown} cases")
            if status != 200 or not shown:
                raise SystemExit(f"the dashboard answered {status} with {shown} cases:\n{log_path.read_text()[-3000:]}")

            def scenario(name: str, path: str) -> None:
                outcomes.append(
                    plb.run_scenario(
                        name,
                        port=port,
                        paths=[path],
                        args=args,
                        seconds=args.seconds,
                        warmup=args.warmup,
                        server_pids=lambda: [process.pid, *plb.children_of(process.pid)],
                        db_pids=db_pids,
                        redis_pid=redis_pid,
                    )
                )

            for _ in range(args.rounds):
                scenario(f"{HEALTHZ} (trivial view)", HEALTHZ)
                scenario(f"{DASHBOARD} ({args.cases // 1000}k open cases)", DASHBOARD)
        log = log_path.read_text()
    report(args, outcomes)
    if any(o.statuses.keys() - {200} or o.exceptions for o in outcomes) or "Traceback" in log:
        print("\ngunicorn log (end):\n" + log[-4000:])


def report(args: argparse.Namespace, outcomes: list[plb.Outcome]) -> None:
    print(
        f"\ngunicorn {args.workers} sync workers, {args.connections} connections from {args.client_processes}"
        f" client processes, {args.seconds:g} s measured after {args.warmup:g} s warm-up; every request carries"
        " the manager's session cookie\n"
    )
    header = (
        f"{'scenario':<32} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'200':>7} {'not 200':>7} {'errors':>6} {'KB/resp':>7} {'gunicorn µs':>11} {'pg µs':>6}  load 1/5/15"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        per = 1e6 / max(o.rate, 1e-9)
        print(
            f"{o.name:<32} {o.requests:>9,} {o.rate:>7,.0f} {o.percentile(0.5):>7.1f} {o.percentile(0.9):>7.1f}"
            f" {o.percentile(0.99):>7.1f} {max(o.latencies, default=0) * 1000:>7.1f} {o.statuses[200]:>7,}"
            f" {o.requests - o.statuses[200]:>7,} {sum(o.exceptions.values()):>6} "
            f"{o.body_bytes / max(o.requests, 1) / 1024:>7.1f} {o.cpu['server'] * per:>11,.0f}"
            f" {o.cpu['postgres'] * per:>6,.0f}  {o.load}"
        )
    print("(gunicorn µs, pg µs: CPU a request of the gunicorn processes and of the bench database's backends)")
    for healthz, dashboard in zip(outcomes[::2], outcomes[1::2], strict=True):
        cost = {o.name: (o.cpu["server"] + o.cpu["postgres"]) / max(o.rate, 1e-9) for o in (healthz, dashboard)}
        print(
            f"{DASHBOARD} ÷ {HEALTHZ}: req/s {dashboard.rate / max(healthz.rate, 1e-9):.3f},"
            f" p99 {dashboard.percentile(0.99) / healthz.percentile(0.99):.1f}×,"
            f" CPU a request {cost[dashboard.name] / cost[healthz.name]:.1f}×  ({dashboard.load})"
        )
        if dashboard.requests != dashboard.statuses[200]:
            print(f"  the dashboard did not always answer 200: {dict(dashboard.statuses)}")


# --- The run ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/modbench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--manager-email", default="manager@demo.xhs")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases after --prepare")
    parser.add_argument("--audit-share", type=float, default=0.1, help="share of the added cases that are audits")
    parser.add_argument("--own-every", type=int, default=100, help="one extra note in N is the manager's own")
    parser.add_argument("--manager-votes", type=int, default=3_000, help="the manager's votes, head of the queue")
    parser.add_argument("--sql-runs", type=int, default=30, help="timed runs of the queue query in each state")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the connections are spread over")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--rounds", type=int, default=1, help="/healthz/ then the dashboard, this many times")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prepare", action="store_true", help="create, migrate, seed and fill the queue first")
    args = parser.parse_args()
    if plb.database_name(args.database_url) in {"scorebench", "loadbench"}:
        raise SystemExit("that database belongs to another bench: use another one")
    if args.prepare:
        plb.prepare(args)
        seed_cases(args)

    overlay_dir = Path(tempfile.mkdtemp(prefix="moderation_dashboard-"))
    try:
        (overlay_dir / "bench_load_settings.py").write_text(
            f"from xhs.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(overlay_dir / 'static')!r}\n"
        )
        env = plb.production_env(args, overlay_dir)
        plb.django_setup(env, overlay_dir)
        from django.contrib.sessions.models import Session
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("collectstatic", interactive=False, verbosity=0)
        print(f"collectstatic into a temporary STATIC_ROOT: {time.perf_counter() - started:.1f} s  {load()}")
        session_key = in_process(args, args.manager_email)
        try:
            under_load(args, env, overlay_dir, session_key)
        finally:
            Session.objects.filter(session_key=session_key).delete()
    finally:
        shutil.rmtree(overlay_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
