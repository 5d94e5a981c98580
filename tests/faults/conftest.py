"""Fault injection for the "nothing lost, no one let in" suite.

What the tests break, and how:

* a Celery worker (``Worker``): a prefork worker with one pool child, on its own queues, whose child or
  whole process group can be SIGKILLed and which can be started again on the same queue;
* a job "mid-job" (``TableLock``): the test holds a PostgreSQL table lock from its own connection, so
  the task blocks inside its transaction; ``pg_locks`` says when it waits;
* the services themselves (``LocalRedis``, ``LocalPostgres``): the Redis at REDIS_URL is stopped and
  started again, the PostgreSQL cluster whose port is in DATABASE_URL is restarted. Both are always
  left running; a test skips, with the reason, when the service is not a local process it can drive.

``visible_state`` is what people can see (figures on products, latest results, verdicts, cases,
campaigns, invitations, inbox), keyed by ids the test created, so a faulty run can be compared
with a clean one.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psycopg2
import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Notification, User
from catalog.models import Note, Product
from moderation.models import Case, ManagerTerm, ScreeningModel, VoteScreening
from ratings.models import (
    Campaign,
    CampaignFactor,
    EligibilityRun,
    FactorSurvey,
    Invitation,
    OpenDataRelease,
    ProductResult,
    RatingPolicy,
    ScoringRun,
    Vote,
)
from ratings.services import fingerprint
from tests.factories import OrderLineFactory, ProductFactory, rating_ready_category
from tests.processes import batch_queue, tasks_through, worker_database_url
from tests.ratings.factories import campaign_for, votes_cast

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: The broker's visibility timeout and task time limits given to the workers started here, as
#: (visibility timeout, soft limit, hard limit) in seconds; the limits stay below the timeout (see
#: xhs/settings.py). A task whose whole worker died comes back after the visibility timeout, so the
#: tests that kill a whole worker use a short one; the others leave room for a slow, busy machine.
GENEROUS_LIMITS = (120, 90, 100)
SHORT_LIMITS = (12, 9, 10)


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    every: float = 0.1,
    detail: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` (and ``detail()``, e.g. a
    worker's log) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}\n{detail() if detail else ''}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- The test database, as other processes reach it -----------------------------------------------------


def raw_connection() -> Any:
    """A psycopg2 connection of the test's own, outside Django (for locks and pg_stat_activity)."""
    db = connection.settings_dict
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )


class TableLock:
    """``LOCK TABLE … IN EXCLUSIVE MODE`` held in a transaction of its own: readers go on, writers wait."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.conn = raw_connection()
        with self.conn.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')  # our own table names only

    def waiters(self) -> list[int]:
        """Backends waiting for this table (not granted), other than ours."""
        with raw_connection() as probe, probe.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT pid FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                [self.table],
            )
            pids = [row[0] for row in cursor.fetchall()]
        probe.close()
        return pids

    def wait_for_waiter(self, timeout: float = 30) -> list[int]:
        return list(wait_for(self.waiters, timeout=timeout, what=f"a task to wait on {self.table}"))

    def release(self) -> None:
        if not self.conn.closed:
            with suppress(psycopg2.Error):
                self.conn.rollback()
            self.conn.close()


@contextmanager
def table_locked(table: str) -> Iterator[TableLock]:
    lock = TableLock(table)
    try:
        yield lock
    finally:
        lock.release()


def backends_gone(pids: list[int]) -> bool:
    with raw_connection() as probe, probe.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
        alive = cursor.fetchone()[0]
    probe.close()
    return alive == 0


# --- A Celery worker that can be killed ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


class Worker:
    """A real ``celery worker -P prefork -c 1`` process group on one queue and its batch queue, killed at will."""

    def __init__(
        self,
        *,
        queue: str,
        broker_url: str,
        log: Path,
        concurrency: int = 1,
        limits: tuple[int, int, int] = GENEROUS_LIMITS,
    ) -> None:
        self.queue = queue
        self.broker_url = broker_url
        self.log = log
        self.concurrency = concurrency
        self.visibility_timeout, self.soft_time_limit, self.time_limit = limits
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def name(self) -> str:
        return f"{self.queue}@{socket.gethostname()}"

    def start(self, timeout: float = 30) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.broker_url,
            "DJANGO_SETTINGS_MODULE": "xhs.settings",
            "CELERY_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "CELERY_TASK_SOFT_TIME_LIMIT": str(self.soft_time_limit),
            "CELERY_TASK_TIME_LIMIT": str(self.time_limit),
            "LOG_LEVEL": "WARNING",
            "TEST_QUEUE": self.queue,
        }
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "tests.worker_app",
                    "worker",
                    "-P",
                    "prefork",
                    "-c",
                    str(self.concurrency),
                    "-Q",
                    f"{self.queue},{batch_queue(self.queue)}",
                    "-n",
                    f"{self.queue}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "warning",
                ],
                env=env,
                cwd=settings.BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: "the whole worker" is killed at once
            )
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{self.log_tail()}")
        wait_for(lambda: len(self.pool_children()) == self.concurrency, timeout=10, what="the pool children")

    def _answers_ping(self) -> bool:
        """Ping through a throwaway app on the worker's broker: the project's app publishes control
        messages through its producer pool, bound to REDIS_URL, and may hold connections to a Redis
        that was restarted since."""
        import kombu.exceptions
        import redis
        from celery import Celery

        probe = Celery("faults-probe", broker=self.broker_url, set_as_current=False)
        try:
            return bool(probe.control.ping(destination=[self.name], timeout=0.5))
        except (OSError, redis.RedisError, kombu.exceptions.OperationalError):
            return False
        finally:
            probe.close()

    def pool_children(self) -> list[int]:
        return _children(self.process.pid) if self.process else []

    def kill_pool_child(self) -> int:
        """SIGKILL the pool child (the main process sees a lost worker and spawns another)."""
        [child] = self.pool_children()
        os.kill(child, signal.SIGKILL)
        return child

    def kill_everything(self) -> None:
        """SIGKILL the main process and its pool children at once, as a crashed host or OOM would."""
        assert self.process is not None  # noqa: S101 - a programming error in the test
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill_everything()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any child left behind

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _needs_worker_services() -> str:
    if not (on_postgres() and os.environ.get("REDIS_URL")):
        pytest.skip("a real Celery worker needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    return os.environ["REDIS_URL"]


@pytest.fixture
def new_worker(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start prefork workers (one child each) on a fresh queue; tasks sent in the test go to that queue
    through the Redis at REDIS_URL. Every worker made is stopped at the end."""
    broker = _needs_worker_services()
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    made: list[Worker] = []

    def make(*, broker_url: str = broker, limits: tuple[int, int, int] = GENEROUS_LIMITS) -> Worker:
        unit = Worker(queue=queue, broker_url=broker_url, log=tmp_path / f"worker-{len(made)}.log", limits=limits)
        made.append(unit)
        unit.start()
        return unit

    with tasks_through(queue):
        try:
            yield make
        finally:
            for unit in made:
                unit.stop()


@pytest.fixture
def worker(request: pytest.FixtureRequest, new_worker: Callable[..., Worker]) -> Worker:
    """A started prefork worker; the test may kill it and start it again. Indirect parameter: its
    limits (``SHORT_LIMITS`` for a test that kills the whole worker)."""
    return new_worker(limits=getattr(request, "param", GENEROUS_LIMITS))


def unacked_deliveries(broker_url: str) -> list[float]:
    """When the broker handed out the messages no worker has acknowledged (kombu's unacked index)."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        return [score for _tag, score in client.zrange("unacked_index", 0, -1, withscores=True)]
    finally:
        client.close()


def wait_out_visibility_timeout(worker: "Worker") -> None:
    """Sleep until the broker may hand out again the messages of a worker that died (a new worker
    looks for them when it starts)."""
    delivered = unacked_deliveries(worker.broker_url)
    assert delivered, "the killed worker's task is not held by the broker: it was lost"  # noqa: S101
    pause = max(delivered) + worker.visibility_timeout + 0.5 - time.time()
    if pause > 0:
        time.sleep(pause)


# --- The services' own processes -------------------------------------------------------------------------


def _run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603


class LocalRedis:
    """The redis-server process behind a loopback port, stopped and started with its own tools."""

    def __init__(self, port: int, *, extra: tuple[str, ...] = ()) -> None:
        self.port = port
        self.extra = extra

    def ping(self) -> bool:
        result = _run("redis-cli", "-p", str(self.port), "ping", timeout=5)
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        _run("redis-cli", "-p", str(self.port), "shutdown", "nosave", timeout=10)
        wait_for(lambda: not self.ping(), timeout=10, what=f"Redis on {self.port} to stop")

    def start(self) -> None:
        result = _run(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--save",
            "",
            *(self.extra or ("--appendonly", "no")),
        )
        assert result.returncode == 0, result.stderr  # noqa: S101
        wait_for(self.ping, timeout=10, what=f"Redis on {self.port} to start")

    @contextmanager
    def hung(self) -> Iterator[None]:
        """The server stops answering but keeps its connections open (SIGSTOP), as a hung or failed-over
        Redis, or a NAT that dropped the flow, does; it answers again at the end of the block."""
        info = _run("redis-cli", "-p", str(self.port), "info", "server", timeout=5).stdout
        pid = int(next(line for line in info.splitlines() if line.startswith("process_id:")).split(":", 1)[1])
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)


def _redis_is_local_process(port: int) -> bool:
    result = _run("redis-cli", "-p", str(port), "info", "server", timeout=5)
    for line in result.stdout.splitlines():
        if line.startswith("process_id:"):
            return Path(f"/proc/{line.split(':', 1)[1].strip()}").exists()
    return False


@pytest.fixture
def local_redis() -> Iterator[LocalRedis]:
    """The Redis at REDIS_URL, if it is a redis-server process on this machine; always left running."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        pytest.skip(f"Redis at {parts.hostname} is not local: it cannot be stopped and started from here")
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("needs redis-server and redis-cli on PATH to stop and start Redis")
    service = LocalRedis(parts.port or 6379)
    if not _redis_is_local_process(service.port):
        pytest.skip(f"Redis on port {service.port} is not a process of this machine (a container?)")
    try:
        yield service
    finally:
        if not service.ping():
            service.start()
        # This process's pooled broker connections died with the server: drop them, so that later
        # tests (a worker fixture's ping, say) connect afresh instead of reading a closed socket.
        from xhs.celery import app

        app.close()  # closes and forgets the connection pool; the next use opens a new one


class LocalPostgres:
    """The PostgreSQL cluster (Debian's pg_ctlcluster) that serves the test database."""

    def __init__(self, version: str, name: str) -> None:
        self.version = version
        self.name = name

    def is_online(self) -> bool:
        result = _run("pg_lsclusters", "--no-header", timeout=10)
        return any(
            line.split()[:2] == [self.version, self.name] and line.split()[3] == "online"
            for line in result.stdout.splitlines()
        )

    def restart(self) -> None:
        result = _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "restart", "-m", "fast")
        assert result.returncode == 0, result.stderr  # noqa: S101

    def ensure_started(self) -> None:
        if not self.is_online():
            _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")


@pytest.fixture
def local_postgres(transactional_db: None) -> Iterator[LocalPostgres]:
    """The PostgreSQL cluster of the test database, if pg_ctlcluster drives it here; left online, and
    the test's own connection is reopened after the test (a restart drops every connection)."""
    if not on_postgres():
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    db = connection.settings_dict
    if (db["HOST"] or "localhost") not in LOOPBACK:
        pytest.skip(f"PostgreSQL at {db['HOST']} is not local: it cannot be restarted from here")
    if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")):
        pytest.skip("needs pg_lsclusters and pg_ctlcluster (postgresql-common) to restart PostgreSQL")
    port = str(db["PORT"] or 5432)
    clusters = [line.split() for line in _run("pg_lsclusters", "--no-header", timeout=10).stdout.splitlines()]
    matching = [row for row in clusters if len(row) > 3 and row[2] == port and row[3] == "online"]
    if not matching:
        pytest.skip(f"no online cluster on port {port} in pg_lsclusters")
    version, name, _port, _status, owner = matching[0][:5]
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != owner:
        pytest.skip(f"restarting cluster {version}/{name} needs root or its owner {owner}")
    cluster = LocalPostgres(version, name)
    try:
        yield cluster
    finally:
        cluster.ensure_started()
        wait_for(_database_answers, timeout=30, what="PostgreSQL to accept connections")
        connection.close()


def _database_answers() -> bool:
    try:
        probe = raw_connection()
    except psycopg2.OperationalError:
        return False
    probe.close()
    return True


# --- A real web server -----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: str
    location: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """Cookies, CSRF token and English, like a person's browser; redirects are not followed."""

    def __init__(self, base: str, cookies: dict[str, str]) -> None:
        self.base = base
        self.cookies = dict(cookies)
        self.opener = urllib.request.build_opener(_NoRedirects())

    def request(self, method: str, path: str, data: dict[str, Any] | None = None) -> Response:
        headers = {
            "Accept-Language": "en",
            "Cookie": "; ".join(f"{key}={value}" for key, value in self.cookies.items()),
        }
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as answer:
                return self._read(answer)
        except urllib.error.HTTPError as answer:
            return self._read(answer)

    def _read(self, answer: Any) -> Response:
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                self.cookies[key] = morsel.value
        return Response(
            status=answer.status,
            body=answer.read().decode(errors="replace"),
            location=answer.headers.get("Location", ""),
        )

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, Any]) -> Response:
        return self.request("POST", path, data)


class WebServer:
    """gunicorn serving the project with its production settings module (persistent database
    connections, the Redis cache and broker) against the test database."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "DJANGO_SETTINGS_MODULE": "xhs.settings",
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "INFO",
            **self.env,
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "xhs.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "--timeout",
                    "60",
                ],
                env=env,
                cwd=settings.BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            try:
                Browser(self.base, {}).get("/robots.txt")
            except OSError:
                return False
            return True

        wait_for(answers, timeout=30, what="gunicorn to answer", every=0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def browser(self, user: Any = None) -> Browser:
        """A browser, signed in as ``user`` when given (a session stored in the database)."""
        cookies = {}
        if user is not None:
            from django.test import Client

            client = Client()
            client.force_login(user)
            cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
        return Browser(self.base, cookies)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture
def web_server(transactional_db: None, tmp_path: Path) -> Iterator[WebServer]:
    if not on_postgres():
        pytest.skip("a web server process needs PostgreSQL (it cannot see SQLite's in-memory test database)")
    server = WebServer(tmp_path / "gunicorn.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Data the jobs work on ------------------------------------------------------------------------------


def lenient_policy(**figures: Any) -> RatingPolicy:
    """Small test data qualifies for everything: few votes publish, the list threshold is low."""
    defaults = {
        "min_votes_to_publish": 3,
        "prior_strength": 2,
        "list_threshold": 1,
        "min_units_sold": 0,
        "min_engagement": 0,
    }
    RatingPolicy.objects.update_or_create(pk=1, defaults={**defaults, **figures})
    return RatingPolicy.objects.get(pk=1)


def scored_catalogue(*, categories: int = 2, products: int = 3, voters: int = 5, seed: int = 7) -> list[Campaign]:
    """Open campaigns with counted votes, in a few categories, ready for the scoring job."""
    lenient_policy()
    rng = np.random.default_rng(seed)
    campaigns = []
    for _ in range(categories):
        category = rating_ready_category()
        for _ in range(products):
            campaign = campaign_for(ProductFactory(category=category))
            votes_cast(campaign, rng.integers(1, 6, size=(voters, 5)).tolist())
            campaigns.append(campaign)
    return campaigns


def screenable_votes(*, seed: int = 4) -> list[Vote]:
    """Ordinary purchasers' votes and a ring of new accounts on one phone, with a trained screener.

    The screener is trained here (committed), so every later screening uses the same model.
    """
    from moderation import screening

    lenient_policy()
    category = rating_ready_category()
    rng = np.random.default_rng(seed)
    start = timezone.now() - timedelta(days=20)
    votes: list[Vote] = []
    for product_no in range(3):
        campaign = campaign_for(ProductFactory(category=category))
        for n in range(12):
            [vote] = votes_cast(
                campaign,
                [np.clip(np.round(rng.normal(3.8, 0.8, size=5)), 1, 5).astype(int).tolist()],
                comment=f"Used it for {n + 2} weeks, product {product_no}.",
                seconds_to_fill=int(rng.integers(40, 240)),
                ip_hash=fingerprint(f"10.{product_no}.{n}.1"),
                user_agent_hash=fingerprint(f"device-{product_no}-{n}"),
                created_at=start + timedelta(days=float(rng.uniform(0, 18))),
            )
            User.objects.filter(pk=vote.user_id).update(date_joined=timezone.now() - timedelta(days=400 + n))
            OrderLineFactory(buyer=vote.user)
            votes.append(vote)
        if product_no == 0:
            for n in range(6):
                [vote] = votes_cast(
                    campaign,
                    [[5] * 5],
                    comment="回购无数次了，强烈推荐！！",
                    seconds_to_fill=6,
                    ip_hash=fingerprint("203.0.113.7"),
                    user_agent_hash=fingerprint("ring-phone"),
                    created_at=timezone.now() - timedelta(days=3) + timedelta(days=n / 144),
                )
                votes.append(vote)
    screening.screener_train()
    return votes


def eligible_buyers(*, categories: int = 2, products: int = 2, buyers: int = 4) -> None:
    """Rating-ready categories whose products were bought by active users: the eligibility job's input."""
    from tests.ratings.eligibility_factories import active_buyer, category_with_products, purchase, set_policy

    set_policy(max_open_invitations=10, products_per_category=products)
    every = [p for _ in range(categories) for p in category_with_products(products)[1]]
    for _ in range(buyers):
        user = active_buyer()
        for product in every:
            purchase(user, product)


# --- What people can see ---------------------------------------------------------------------------------


def _rounded(value: float | None, places: int = 9) -> float | None:
    return None if value is None else round(float(value), places)


def visible_state() -> dict[str, Any]:
    """Everything the jobs write that a shopper, purchaser, manager or staff member can see, keyed by
    the ids of rows the test made (never by ids of rows a job creates, which differ between runs)."""
    latest = ProductResult.objects.filter(is_latest=True).order_by("product_id", "pk")
    products = dict(Invitation.objects.values_list("pk", "campaign__product_id"))
    return {
        "products": list(
            Product.objects.order_by("pk").values_list("pk", "rating_score", "ranking_score", "rated_by", "heart_rank")
        ),
        "latest results": [
            (r.product_id, r.voted, r.counted, r.under_review, r.excluded_screening, r.published)
            + (_rounded(r.comprehensive), _rounded(r.ranking_score), _rounded(r.prior))
            for r in latest
        ],
        "re-score flags": list(
            Campaign.objects.filter(rescore_requested_at__isnull=False).order_by("product_id").values_list("product_id")
        ),
        "votes": list(Vote.objects.order_by("pk").values_list("pk", "verdict", "exclusion_reason")),
        "screenings": [
            (vote_id, verdict, _rounded(score, 6))
            for vote_id, verdict, score in VoteScreening.objects.order_by("vote_id").values_list(
                "vote_id", "verdict", "score"
            )
        ],
        "cases": sorted(
            Case.objects.values_list("vote_id", "note_id", "status", "source", "priority", "outcome"),
            key=repr,
        ),
        "current screeners": ScreeningModel.objects.filter(is_current=True).count(),
        "campaigns": sorted(Campaign.objects.values_list("product_id", "category_id", "status")),
        "frozen factors": sorted(CampaignFactor.objects.values_list("campaign__product_id", "factor_id", "position")),
        "invitations": sorted(Invitation.objects.values_list("campaign__product_id", "user_id", "status")),
        "inbox": sorted(
            (user_id, kind, products.get(subject))
            for user_id, kind, subject in Notification.objects.values_list("user_id", "kind", "subject_id")
        ),
        "manager terms": sorted(ManagerTerm.objects.values_list("user_id", "status")),
        "notes": list(Note.objects.order_by("pk").values_list("pk", "likes_count", "saves_count")),
        "emails": sorted((tuple(message.to), message.subject) for message in getattr(mail, "outbox", [])),
        "factor surveys": sorted(FactorSurvey.objects.values_list("category_id", "status", "closes_at")),
        "open data releases": list(
            OpenDataRelease.objects.order_by("month").values_list("month", "votes", "products", "products_suppressed")
        ),
    }


def clean_run_state(job: Callable[[], Any]) -> dict[str, Any]:
    """The state one clean, inline run of ``job`` leaves, computed in a transaction that is rolled back.

    Work deferred to commit (fan-out of a job's steps, re-scores) runs inline too, inside it.
    """
    from django.test.testcases import TestCase

    from xhs.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    mail.outbox = []
    try:
        with transaction.atomic():
            with TestCase.captureOnCommitCallbacks(execute=True):
                job()
            state = visible_state()
            transaction.set_rollback(True)
    finally:
        app.conf.task_always_eager = previous
        mail.outbox = []
    return state


def differences(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The sections that differ, with both sides, for a readable assertion message."""
    return {
        key: {"actual": actual.get(key), "expected": expected.get(key)}
        for key in sorted(set(actual) | set(expected))
        if actual.get(key) != expected.get(key)
    }


def all_runs_closed() -> dict[str, list[str]]:
    """Run records still marked running (staff would see a run that never ends)."""
    return {
        "scoring": list(ScoringRun.objects.filter(status=ScoringRun.Status.RUNNING).values_list("kind", flat=True)),
        "eligibility": list(
            EligibilityRun.objects.filter(status=EligibilityRun.Status.RUNNING).values_list("triggered_by", flat=True)
        ),
    }
