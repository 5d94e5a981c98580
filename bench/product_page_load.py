"""Bench: the product page under load with gunicorn, beside the trivial view /healthz/ in the same run.

    .venv/bin/python bench/product_page_load.py --prepare          # once: create, migrate, seed the demo
    .venv/bin/python bench/product_page_load.py [--workers 4] [--connections 16] [--seconds 20] \
        [--warmup 3] [--cold-seconds 5] [--client-processes 2] [--profile 300]

``--prepare`` creates the database if it is missing, migrates it and runs ``seed --scale demo --flush``
(it replaces everything in that database), which also opens campaigns, casts votes and runs the
scoring job, so some products have a published score and comments.

The bench starts gunicorn itself (``xhs.wsgi``, ``--workers`` sync workers on a free loopback port)
with the production settings: DEBUG off, a throwaway SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, the given
DATABASE_URL and REDIS_URL (the cache, shared by the workers), persistent database connections
(CONN_MAX_AGE's default), HTTPS redirects on. Requests carry ``X-Forwarded-Proto: https``, as from
the TLS proxy the settings trust (SECURE_PROXY_SSL_HEADER). Production serves static files from
``collectstatic``'s manifest (whitenoise); the bench collects them into a temporary STATIC_ROOT
through a two-line settings overlay in a temporary directory, so nothing in the repository changes.

The load generator is this file: ``--client-processes`` processes (spawned, standard library only)
with threads that hold ``--connections`` connections between them, each sending one request after
the other for ``--warmup`` + ``--seconds`` seconds; only requests started and finished inside the
measured window count. Gunicorn's sync workers close the connection after every response, so each
request opens a TCP connection (the client reuses it when a server keeps it open). Scenarios, one
after another in the same run:

0. client ceiling: the same client against a bare blocking-socket server (no Django, two processes)
   that answers "ok"; the most this harness can measure on this machine;
1. /healthz/ (the trivial view);
2. product pages, warm cache (every URL requested once before): 80 % products with a published
   rating (``rating_score IS NOT NULL``), 20 % unrated ones, a fifth of the rated ones with
   ``?page=2`` of the comments, drawn with a fixed seed;
3. the same product pages right after FLUSHDB of the bench's Redis database, ``--cold-seconds``
   long, no warm-up (the cache refills within the first few hundred requests);
4. the same product pages signed in as the demo shopper, with the cookies a browser holds after its first
   product page (``browser_cookie``; every URL once before): past the anonymous page cache, the reader's kept
   shell filled with the kept parts and comments and the reader's own buttons (``catalog.views._reader_page``);
5. the home page (a third of the requests) and the first page of a category, every URL once before: anonymous
   visitors get the kept page (``catalog.views._listing_page``);
6. the same signed in as the demo shopper: the kept part inside a header of their own.

Besides req/s and latencies it prints where the CPU went during each window (this client, gunicorn,
the PostgreSQL backends of the bench database, Redis, the rest of the machine), from /proc, because
the client shares the two cores with the server. Then the SQL queries of one product page (Django
test Client in this process, same settings, CaptureQueriesContext) and, with ``--profile N``, where
the time of N in-process product requests goes: wall and SQL time per part of the view (the template
apart from the querysets it evaluates), per template, then shares under cProfile and its top functions.
"""

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
PYTHON_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SHOPPER_EMAIL = "shopper@demo.xhs"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Django is imported lazily (after the environment is set): the spawned client processes import this
# module too and must stay light.


# --- The load generator (runs in spawned client processes: standard library only) -----------------


class Connection:
    """One HTTP/1.1 client connection; reconnects whenever the server closed it after a response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def request(self, raw: bytes) -> tuple[int, int]:
        """Sends one request; returns (status, body bytes)."""
        reused = self.sock is not None
        try:
            return self._exchange(raw)
        except (ConnectionError, TimeoutError):
            self.close()
            if not reused:
                raise
            return self._exchange(raw)  # a kept-alive connection the server had closed meanwhile

    def _exchange(self, raw: bytes) -> tuple[int, int]:
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        sock.sendall(raw)
        data = self.buffer
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the response head")
            data += chunk
        head, rest = data[:end], data[end + 4 :]
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = -1, lines[0].startswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ConnectionError("chunked responses are not supported by this client")
        if length < 0:  # no length: the body ends with the connection
            close = True
            while chunk := sock.recv(65536):
                rest += chunk
            length = len(rest)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of the body")
            rest += chunk
        self.buffer = rest[length:]
        if close:
            self.close()
        return status, length


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0
    cpu_seconds: float = 0.0  # this client process, measured window only


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_process(
    port: int, requests: list[bytes], threads: int, seed: int, start_at: float, window: tuple[float, float], out: Any
) -> None:
    """Hammers the server from `threads` connections; puts a ClientResult on `out`."""
    begin, end = window
    result = ClientResult()
    lock = threading.Lock()

    def hammer(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = Connection(port)
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        exceptions: Counter[str] = Counter()
        body_bytes = 0
        time.sleep(max(0.0, start_at - time.time()))
        while (started := time.time()) < end:
            try:
                status, size = connection.request(requests[rng.randrange(len(requests))])
            except OSError as exc:
                connection.close()
                status, size = -1, 0
                if started >= begin:
                    exceptions[type(exc).__name__] += 1
            finished = time.time()
            if started >= begin and finished <= end and status >= 0:
                latencies.append(finished - started)
                statuses[status] += 1
                body_bytes += size
        connection.close()
        with lock:
            result.latencies += latencies
            result.statuses.update(statuses)
            result.exceptions.update(exceptions)
            result.body_bytes += body_bytes

    workers = [threading.Thread(target=hammer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, begin - time.time()))
    cpu_begin = _cpu_self()
    time.sleep(max(0.0, end - time.time()))
    result.cpu_seconds = _cpu_self() - cpu_begin
    for worker in workers:
        worker.join()
    out.put(result)


def null_server(listener: socket.socket) -> None:
    """Answers every connection with a fixed "ok" and closes it: the client's ceiling (no Django)."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    while True:
        conn, _ = listener.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        if data:
            conn.sendall(reply)
        conn.close()


# --- CPU accounting from /proc --------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def machine_cpu() -> tuple[float, float]:
    """(busy, total) seconds of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


# --- Scenarios -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    seconds: float
    latencies: list[float]
    statuses: Counter[int]
    exceptions: Counter[str]
    body_bytes: int
    cpu: dict[str, float]  # cores used on average during the window, by whom
    load: str

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    @property
    def redirects(self) -> int:
        return sum(n for status, n in self.statuses.items() if 300 <= status < 400)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 400) + sum(self.exceptions.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def build_request(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nX-Forwarded-Proto: https\r\n"
        "User-Agent: product_page_load\r\nAccept: text/html\r\nAccept-Language: zh-hans\r\n\r\n"
    ).encode()


def session_cookie(email: str, *, linked_to_a_brand: bool = False) -> str:
    """A ``Cookie`` header value that signs this demo account in (the server shares the secret), with the CSRF
    cookie a browser sends back after its first page (without it every answer would mint a new one)."""
    from django.conf import settings
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.test import Client
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from catalog.models import BrandAccount

    user = User.objects.filter(email=email).first()
    if user is None or (linked_to_a_brand and not BrandAccount.objects.filter(user=user).exists()):
        wanted = " linked to a brand" if linked_to_a_brand else ""
        raise SystemExit(f"no {email}{wanted}: prepare the demo data first (--prepare)")
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}"


def browser_cookie(email: str, path: str, *, linked_to_a_brand: bool = False) -> str:
    """The ``Cookie`` header a browser signed in as this demo account sends after its first visit of ``path``: the
    session's and the CSRF cookie (``session_cookie``) and whatever that page set (the kept page's hint,
    ``accounts.kept_pages.HINT_COOKIE``), taken from a first request in this process."""
    from django.test import Client

    cookie = session_cookie(email, linked_to_a_brand=linked_to_a_brand)
    first = Client(HTTP_COOKIE=cookie).get(path, secure=True, SERVER_NAME=HOST)
    if first.status_code != 200:
        raise SystemExit(f"{path} answered {first.status_code} to {email}")
    held = dict(pair.split("=", 1) for pair in cookie.split("; "))
    held.update({name: morsel.value for name, morsel in first.cookies.items() if morsel.value})
    return "; ".join(f"{name}={value}" for name, value in held.items())


def signed_request(path: str, cookie: str) -> bytes:
    return build_request(path).replace(b"\r\n\r\n", f"\r\nCookie: {cookie}\r\n\r\n".encode(), 1)


def run_scenario(
    name: str,
    *,
    port: int,
    paths: list[str],
    args: argparse.Namespace,
    seconds: float,
    warmup: float,
    server_pids: Callable[[], list[int]],
    db_pids: Callable[[], list[int]],
    redis_pid: int | None,
    requests: list[bytes] | None = None,
) -> Outcome:
    """Runs the client processes for warmup + seconds; measures the window after the warm-up. The requests
    are plain GETs of ``paths``, or ``requests`` as given (signed in, revalidating, ...)."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    requests = requests if requests is not None else [build_request(path) for path in paths]
    per_process = [args.connections // args.client_processes] * args.client_processes
    for i in range(args.connections % args.client_processes):
        per_process[i] += 1
    start_at = time.time() + 1.5  # time for the spawned processes to start
    window = (start_at + warmup, start_at + warmup + seconds)
    clients = [
        context.Process(
            target=client_process, args=(port, requests, threads, args.seed + i, start_at, window, out), daemon=True
        )
        for i, threads in enumerate(per_process)
        if threads
    ]
    for client in clients:
        client.start()
    time.sleep(max(0.0, window[0] - time.time()))
    load = load_average()
    groups = {"server": server_pids, "postgres": db_pids, "redis": lambda: [redis_pid] if redis_pid else []}
    before = {key: {pid: process_cpu(pid) for pid in pids()} for key, pids in groups.items()}
    busy_before, _ = machine_cpu()
    wall_before = time.time()
    time.sleep(max(0.0, window[1] - time.time()))
    busy_after, _ = machine_cpu()
    wall = time.time() - wall_before
    # Per process; one that started in the window counts whole, one that ended in it is lost (Django
    # reopens a database connection after CONN_MAX_AGE, so backends come and go).
    after = {key: {pid: process_cpu(pid) for pid in pids()} for key, pids in groups.items()}
    results = [out.get(timeout=seconds + warmup + 120) for _ in clients]
    for client in clients:
        client.join(timeout=10)
    cpu = {key: sum(used - before[key].get(pid, 0.0) for pid, used in after[key].items()) / wall for key in groups}
    cpu["client"] = sum(r.cpu_seconds for r in results) / wall
    cpu["machine"] = (busy_after - busy_before) / wall
    cpu["other"] = cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["redis"] - cpu["client"]
    outcome = Outcome(
        name=name,
        seconds=seconds,
        latencies=[latency for r in results for latency in r.latencies],
        statuses=sum((r.statuses for r in results), Counter()),
        exceptions=sum((r.exceptions for r in results), Counter()),
        body_bytes=sum(r.body_bytes for r in results),
        cpu=cpu,
        load=load,
    )
    print(
        f"  {name}: {outcome.requests:,} requests, {outcome.rate:,.0f} req/s, statuses {dict(outcome.statuses)}"
        f"{', exceptions ' + str(dict(outcome.exceptions)) if outcome.exceptions else ''}; load {load}",
        flush=True,
    )
    return outcome


# --- Gunicorn, the database, the settings ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def http_get(port: int, path: str, *, https: bool = True) -> tuple[int, bytes, str]:
    """One plain GET: (status, body, Location header)."""
    raw = build_request(path) if https else build_request(path).replace(b"X-Forwarded-Proto: https\r\n", b"")
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    location = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:")), "")
    return int(lines[0].split(" ", 2)[1]), body, location


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [
        str(PYTHON_BIN / "gunicorn"),
        "xhs.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.time() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    if http_get(port, "/healthz/")[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit(f"gunicorn did not answer /healthz/ in 60 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield port, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def database_name(database_url: str) -> str:
    return urlparse(database_url).path.lstrip("/")


def backend_pids(database_url: str) -> Callable[[], list[int]]:
    """A reader of the PostgreSQL backends serving the bench's database (the web server's and workers'
    connections), asked afresh at each call so that connections opened later count."""
    import psycopg2

    database = database_name(database_url)

    def pids() -> list[int]:
        with psycopg2.connect(database_url) as probe, probe.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
            )
            return [row[0] for row in cursor.fetchall()]

    return pids


def prepare(args: argparse.Namespace) -> None:
    import psycopg2

    name = database_name(args.database_url)
    admin = psycopg2.connect(urlparse(args.database_url)._replace(path="/postgres").geturl())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    admin.close()
    # The development flow (eager tasks, local-memory cache) as `manage.py seed` is meant to run.
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = args.database_url
    for command in (["migrate", "--no-input", "-v", "0"], ["seed", "--scale", "demo", "--flush"]):
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True)  # noqa: S603
        print(f"manage.py {' '.join(command)}: {time.perf_counter() - started:.0f} s", flush=True)


def production_env(args: argparse.Namespace, overlay_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "bench_load_settings",
            "PYTHONPATH": os.pathsep.join([str(overlay_dir), str(REPO)]),
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("SECURE_SSL_REDIRECT", "CONN_MAX_AGE", "SECURE_HSTS_SECONDS"):
        env.pop(name, None)  # production's defaults
    return env


def django_setup(env: dict[str, str], overlay_dir: Path) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(overlay_dir), str(REPO)]
    import django

    django.setup()


# --- One way to run a load bench (this one, bench/api_load.py, bench/brand_page_load.py) --------------


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """The options every load bench takes; a bench adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/loadbench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the connections are spread over")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--seed", type=int, default=42, help="the load generator's seed")
    return parser


def bench_run(
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace, dict[str, str], Path], None],
    *,
    prefix: str,
    env_extra: dict[str, str] | None = None,
) -> None:
    """Production settings with a temporary STATIC_ROOT (a two-line overlay in a temporary directory), Django
    set up in this process with them, then ``measure(args, env, overlay_dir)``; the directory removed after."""
    overlay_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        static_root = overlay_dir / "static"
        (overlay_dir / "bench_load_settings.py").write_text(
            f"from xhs.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
        )
        env = production_env(args, overlay_dir)
        env.update(env_extra or {})
        django_setup(env, overlay_dir)
        measure(args, env, overlay_dir)
    finally:
        shutil.rmtree(overlay_dir, ignore_errors=True)


@dataclass
class Served:
    """A bench's gunicorn, its scenarios run one after another, their outcomes in order."""

    args: argparse.Namespace
    port: int
    process: subprocess.Popen[bytes]
    db_pids: Callable[[], list[int]]
    redis_pid: int
    log_path: Path
    outcomes: list[Outcome] = field(default_factory=list)

    def server_pids(self) -> list[int]:
        return [self.process.pid, *children_of(self.process.pid)]

    def check(self, path: str, requests: list[bytes] | None = None) -> bytes:
        """One request of ``path`` (the first of ``requests`` when given) must answer 200; returns its body."""
        if requests is None:
            status, body, _ = http_get(self.port, path)
        else:
            status, body = raw_get(self.port, requests[0])
        if status != 200:
            raise SystemExit(f"{path} answered {status}:\n{self.log()[-3000:]}")
        return body

    def scenario(
        self,
        name: str,
        paths: list[str],
        *,
        requests: list[bytes] | None = None,
        seconds: float | None = None,
        warmup: float | None = None,
    ) -> Outcome:
        outcome = run_scenario(
            name,
            port=self.port,
            paths=paths,
            args=self.args,
            seconds=self.args.seconds if seconds is None else seconds,
            warmup=self.args.warmup if warmup is None else warmup,
            server_pids=self.server_pids,
            db_pids=self.db_pids,
            redis_pid=self.redis_pid,
            requests=requests,
        )
        self.outcomes.append(outcome)
        return outcome

    def log(self) -> str:
        return self.log_path.read_text()

    def print_log_if_failed(self) -> None:
        """The gunicorn log's end, when a scenario had 5xx answers or the log holds a traceback."""
        log = self.log()
        if any(outcome.server_errors for outcome in self.outcomes) or "Traceback" in log:
            print("\ngunicorn log (end):\n" + log[-4000:])


@contextmanager
def serving(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> Iterator[Served]:
    """The bench's gunicorn (production settings, ``--workers``), with the PostgreSQL backends and the Redis
    whose CPU the scenarios count. Django's own connection in this process is closed first (it is not the
    server's)."""
    import redis
    from django.db import connection

    redis_pid = int(redis.Redis.from_url(args.redis_url).info("server")["process_id"])
    connection.close()
    db_pids = backend_pids(args.database_url)
    print(f"{os.cpu_count()} cores; load average {load_average()} before the run")
    log_path = overlay_dir / "gunicorn.log"
    with gunicorn(env, args.workers, log_path) as (port, process):
        yield Served(args, port, process, db_pids, redis_pid, log_path)


def raw_get(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request as given (``Connection: close`` added): (status, body)."""
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n", 1)[0].split(b" ", 2)[1]), body


def healthz_report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    """The table of a bench whose first scenario is /healthz/, and each other's ratio to it (the pages'
    target: ≥ 0.5) beside the CPU a request costs, which the machine's other load moves less."""
    width = max(len(o.name) for o in outcomes)
    print(
        f"\ngunicorn {args.workers} sync workers, {args.connections} connections from "
        f"{args.client_processes} client processes, {args.seconds:g} s measured after {args.warmup:g} s warm-up\n"
    )
    header = (
        f"{'scenario':<{width}} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
        f" {'statuses':<20} {'KB/resp':>7}  load 1/5/15"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        size = o.body_bytes / max(o.requests, 1) / 1024
        statuses = ",".join(f"{status}×{n}" for status, n in sorted(o.statuses.items()))
        print(
            f"{o.name:<{width}} {o.requests:>9,} {o.rate:>8,.0f} {o.percentile(0.5):>7.1f} {o.percentile(0.9):>7.1f}"
            f" {o.percentile(0.99):>7.1f} {statuses:<20} {size:>7.1f}  {o.load}"
        )
    healthz = outcomes[0]
    print()
    for o in outcomes[1:]:
        ratio = o.rate / healthz.rate if healthz.rate else float("nan")
        verdict = "meets" if ratio >= 0.5 else "misses"
        print(
            f"{o.name:<{width}} ÷ /healthz/ req/s = {ratio:.3f} ({verdict} ≥ 0.5);"
            f" gunicorn + PostgreSQL {cpu_a_request(o):,.0f} µs CPU a request"
        )
    print(f"{'/healthz/':<{width}} gunicorn + PostgreSQL {cpu_a_request(healthz):,.0f} µs CPU a request")


def cpu_a_request(outcome: Outcome) -> float:
    """The server's and PostgreSQL's CPU a request of a scenario, in µs."""
    return (outcome.cpu["server"] + outcome.cpu["postgres"]) / max(outcome.rate, 1e-9) * 1e6


# --- In-process measurements (Django test Client, same settings) -----------------------------------


def query_counts(rated_slug: str, unrated_slug: str) -> list[tuple[str, int, int]]:
    """(page, queries with the product's caches empty, as after a re-score, and queries with them warm)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog import page_cache
    from catalog.models import Product
    from ratings import scoring

    client = Client(SERVER_NAME=HOST)
    rows = []
    for label, slug, query in (
        ("rated product", rated_slug, ""),
        ("rated product, comments page 2", rated_slug, "?page=2"),
        ("unrated product", unrated_slug, ""),
    ):
        counts = []
        for warm in (False, True):
            if not warm:
                product = Product.objects.get(slug=slug)
                cache.delete(scoring.product_rating_cache_key(product.pk))
                page_cache.forget([product.pk])
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"/products/{slug}/{query}", secure=True)
            if response.status_code != 200:
                raise SystemExit(f"/products/{slug}/{query} answered {response.status_code} in process")
            counts.append(len(queries))
        rows.append((label, counts[0], counts[1]))
    return rows


PROFILE_GROUPS = (
    # (label, file suffix, function): cumulative time of the outermost calls; groups overlap
    ("view (catalog.views.product_detail)", "catalog/views.py", "product_detail"),
    ("  template rendering, incl. the lazy comment queries", "django/shortcuts.py", "render"),
    ("  ORM: SQL compilation (SQLCompiler.as_sql)", "sql/compiler.py", "as_sql"),
    ("  ORM: prefetch_related machinery, incl. its queries", "db/models/query.py", "prefetch_related_objects"),
    ("  ORM: building instances (Model.from_db)", "db/models/base.py", "from_db"),
    (
        "  database round trips (psycopg2 cursor.execute)",
        "~",
        "<method 'execute' of 'psycopg2.extensions.cursor' objects>",
    ),
    ("  cache (RedisCache.get)", "cache/backends/redis.py", "get"),
    ("  template: {% translate %} / {% blocktranslate %}", "templatetags/i18n.py", "render"),
    ("  template: variable lookups (Variable.resolve)", "template/base.py", "_resolve_lookup"),
)


@contextmanager
def timed_calls(module: Any, names: list[str], phases: dict[str, list[float]], current: list[str]) -> Iterator[None]:
    """Wraps module.<name> so its wall time goes to phases[name] and SQL run inside it is charged to it."""
    originals = {name: getattr(module, name) for name in names}

    def wrapper(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            outer, current[0] = current[0], name
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name][0] += time.perf_counter() - started
                current[0] = outer

        return timed

    for name, function in originals.items():
        setattr(module, name, wrapper(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def profile_pages(paths: list[str], count: int) -> None:
    """Where the time of a product page goes, in this process: `count` requests of the same mix
    through the test Client (warm cache), timed by part of the view, then under cProfile."""
    from django.core.paginator import Paginator
    from django.db import connection
    from django.db.models.query import QuerySet
    from django.template.base import Template
    from django.test import Client

    from catalog import views

    client = Client(SERVER_NAME=HOST)
    rng = random.Random(7)
    chosen = [paths[rng.randrange(len(paths))] for _ in range(count)]
    for path in sorted(set(paths)):
        client.get(path, secure=True)  # warm the rating cache and the connection
    healthz = float("inf")
    for _ in range(3):  # the best of three: the machine is shared
        started = time.perf_counter()
        for _ in range(count):
            client.get("/healthz/", secure=True)
        healthz = min(healthz, (time.perf_counter() - started) / count)

    labels = {
        "get_object_or_404": "product, its category and factors (product_page: 2 queries)",
        "product_rating": "rating (cached in Redis)",
        "get_page": "comment count (Paginator.get_page)",
        "product_units_sold": "units sold in 12 months",
        "product_notes": "community notes",
        "render": "render: the template itself",
        "lazy": "render: querysets it evaluates (comments, their scores)",
        "outside": "the rest: middleware, handler, test Client",
    }
    phases = {name: [0.0, 0.0, 0] for name in labels}  # wall s, SQL s, queries
    current = ["outside"]
    templates: dict[str, list[float]] = {}

    def sql_timer(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            phases[current[0]][1] += time.perf_counter() - started
            phases[current[0]][2] += 1

    fetch_all, template_render = QuerySet._fetch_all, Template.render

    def lazy_fetch_all(queryset: QuerySet[Any]) -> None:
        if current[0] != "render":
            return fetch_all(queryset)
        current[0] = "lazy"
        started = time.perf_counter()
        try:
            return fetch_all(queryset)
        finally:
            phases["lazy"][0] += time.perf_counter() - started
            phases["render"][0] -= time.perf_counter() - started
            current[0] = "render"

    def timed_render(template: Template, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return template_render(template, context)
        finally:
            entry = templates.setdefault(template.origin.template_name or "?", [0.0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    QuerySet._fetch_all, Template.render = lazy_fetch_all, timed_render  # type: ignore[method-assign]
    try:
        with (
            connection.execute_wrapper(sql_timer),
            timed_calls(views, ["get_object_or_404", "render"], phases, current),
            timed_calls(views.selectors, ["product_units_sold", "product_notes"], phases, current),
            timed_calls(views.rating_selectors, ["product_rating"], phases, current),
            timed_calls(Paginator, ["get_page"], phases, current),
        ):
            started = time.perf_counter()
            for path in chosen:
                client.get(path, secure=True)
            total = time.perf_counter() - started
    finally:
        QuerySet._fetch_all, Template.render = fetch_all, template_render  # type: ignore[method-assign]
    phases["outside"][0] = total - sum(wall for name, (wall, _, _) in phases.items() if name != "outside")
    print(
        f"\nIn process, {count} product requests through the test Client (same mix, warm cache):"
        f" {total / count * 1000:.2f} ms a page; /healthz/ {healthz * 1000:.2f} ms"
    )
    print(f"  {'part':<62} {'ms/page':>8} {'SQL ms':>7} {'queries':>7}")
    for name, label in labels.items():
        wall, sql, queries = phases[name]
        print(f"  {label:<62} {wall / count * 1000:>8.2f} {sql / count * 1000:>7.2f} {queries / count:>7.1f}")
    print("  (ms/page includes the SQL; SQL ms: cursor.execute as the client sees it: round trip, planning, execution)")
    print("  templates, rendering time including what they include and the querysets they evaluate:")
    for name, (calls, seconds) in sorted(templates.items(), key=lambda item: -item[1][1])[:6]:
        print(f"    {name:<58} {seconds / count * 1000:>8.2f} ms  {calls / count:.1f} a page")

    profiler = cProfile.Profile()
    profiler.enable()
    for path in chosen:
        client.get(path, secure=True)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    profiled = stats.total_tt  # type: ignore[attr-defined]
    print(f"\ncProfile of the same {count} requests: share of the request's time (groups overlap):")
    for label, suffix, function in PROFILE_GROUPS:
        group = {key for key in entries if key[2] == function and key[0].endswith(suffix)}
        # time entering the group from outside it: nested calls (Count's compiler inside a query's) once
        cumulative = sum(
            caller_ct
            for key in group
            for caller, (_, _, _, caller_ct) in entries[key][4].items()
            if caller not in group
        )
        print(f"  {label:<56} {cumulative / profiled * 100:5.1f} %")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    lines = text.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    print("  top functions by own time:")
    for line in lines[first:]:
        if line.strip():
            print("  " + line.replace(str(REPO) + "/", "").replace(str(PYTHON_BIN.parent) + "/", ""))


# --- The run ---------------------------------------------------------------------------------------


def product_paths(seed: int) -> tuple[list[str], str, str]:
    """A fixed mix of product URLs: 80 % rated (a fifth of them ?page=2), 20 % unrated."""
    from catalog.models import Product

    rated = sorted(Product.objects.filter(is_active=True, rating_score__isnull=False).values_list("slug", flat=True))
    unrated = sorted(Product.objects.filter(is_active=True, rating_score__isnull=True).values_list("slug", flat=True))
    if not rated or not unrated:
        raise SystemExit(f"{len(rated)} rated and {len(unrated)} unrated products: run with --prepare first")
    rng = random.Random(seed)
    unrated = rng.sample(unrated, min(len(unrated), max(20, len(rated) // 4)))
    paths = []
    for _ in range(20_000):
        if rng.random() < 0.8:
            slug = rng.choice(rated)
            paths.append(f"/products/{slug}/?page=2" if rng.random() < 0.2 else f"/products/{slug}/")
        else:
            paths.append(f"/products/{rng.choice(unrated)}/")
    print(f"products: {len(rated)} with a published rating, {len(unrated)} unrated in the mix; {len(set(paths))} URLs")
    return paths, rated[0], unrated[0]


def listing_paths(seed: int) -> list[str]:
    """A fixed mix of listing URLs: a third the home page, the rest the first page of a category with products."""
    from catalog.models import Category

    slugs = sorted(Category.objects.filter(products__is_active=True).distinct().values_list("slug", flat=True))
    rng = random.Random(seed)
    return ["/" if rng.random() < 1 / 3 else f"/categories/{rng.choice(slugs)}/" for _ in range(20_000)]


def main() -> None:
    parser = bench_arguments(__doc__ or "")
    parser.add_argument("--cold-seconds", type=float, default=5, help="the cold-cache scenario (0: skip it)")
    parser.add_argument("--prepare", action="store_true", help="create, migrate and seed the demo data first")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N in-process product requests")
    args = parser.parse_args()
    if database_name(args.database_url) == "scorebench":
        raise SystemExit("scorebench belongs to the scoring bench: use another database")
    if args.prepare:
        prepare(args)
    bench_run(args, measure, prefix="product_page_load-")


def measure(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> None:
    import redis
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"collectstatic into a temporary STATIC_ROOT: {time.perf_counter() - started:.1f} s")
    paths, rated_slug, unrated_slug = product_paths(args.seed)
    counts = query_counts(rated_slug, unrated_slug)

    null_port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, null_port))
    listener.listen(2048)
    context = multiprocessing.get_context("fork")  # the children inherit the listening socket
    null_servers = [context.Process(target=null_server, args=(listener,), daemon=True) for _ in range(2)]
    try:
        for process in null_servers:
            process.start()
        ceiling = run_scenario(
            "client ceiling (bare socket server)",
            port=null_port,
            paths=["/"],
            args=args,
            seconds=args.seconds,
            warmup=args.warmup,
            server_pids=lambda: [p.pid for p in null_servers if p.pid],
            db_pids=list,
            redis_pid=None,
        )
    finally:
        for process in null_servers:
            process.kill()
            process.join()
        listener.close()

    with serving(args, env, overlay_dir) as served:
        status, _, location = http_get(served.port, f"/products/{rated_slug}/", https=False)
        print(f"without X-Forwarded-Proto: {status} {location} (production redirects to HTTPS)")
        body = served.check(f"/products/{rated_slug}/")
        print(f"/products/{rated_slug}/: 200, {len(body):,} bytes")
        served.scenario("/healthz/ (trivial view)", ["/healthz/"])
        for path in sorted(set(paths)):  # every URL once: the rating cache is warm
            http_get(served.port, path)
        served.scenario("product pages, warm cache", paths)
        if args.cold_seconds > 0:
            redis.Redis.from_url(args.redis_url).flushdb()
            served.scenario("product pages, cache flushed", paths, seconds=args.cold_seconds, warmup=0)
        cookie = browser_cookie(SHOPPER_EMAIL, paths[0])
        signed = [signed_request(path, cookie) for path in paths]
        for raw in set(signed):  # every URL once: the parts and comments are kept
            raw_get(served.port, raw)
        served.scenario("product pages, signed in", paths, requests=signed)
        listings = listing_paths(args.seed)
        for path in set(listings):  # every URL once: each page is kept
            http_get(served.port, path)
        served.scenario("home and category pages", listings)
        signed_listings = [signed_request(path, cookie) for path in listings]
        served.scenario("home and category pages, signed in", listings, requests=signed_listings)
    report(args, [ceiling, *served.outcomes], counts)
    served.print_log_if_failed()
    if args.profile:
        profile_pages(paths, args.profile)


def report(args: argparse.Namespace, outcomes: list[Outcome], counts: list[tuple[str, int, int]]) -> None:
    print(
        f"\ngunicorn {args.workers} sync workers, {args.connections} connections from "
        f"{args.client_processes} client processes, {args.seconds:g} s measured after {args.warmup:g} s warm-up"
        f" ({args.cold_seconds:g} s, no warm-up, for the flushed cache)\n"
    )
    header = (
        f"{'scenario':<36} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'3xx':>4} {'errors':>6} {'5xx':>4} {'KB/resp':>7}  load 1/5/15"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        size = o.body_bytes / max(o.requests, 1) / 1024
        print(
            f"{o.name:<36} {o.requests:>9,} {o.rate:>8,.0f} {o.percentile(0.5):>7.1f} {o.percentile(0.9):>7.1f}"
            f" {o.percentile(0.99):>7.1f} {max(o.latencies, default=0) * 1000:>7.1f} {o.redirects:>4} {o.errors:>6}"
            f" {o.server_errors:>4} {size:>7.1f}  {o.load}"
        )
    ceiling, healthz, product = outcomes[0], outcomes[1], outcomes[2]
    if healthz.rate:
        ratio = product.rate / healthz.rate
        verdict = "meets" if ratio >= 0.5 else "misses"
        print(f"\nproduct (warm) req/s ÷ /healthz/ req/s = {ratio:.3f} ({verdict} the target ≥ 0.5)")
        cost = {o.name: (o.cpu["server"] + o.cpu["postgres"]) / max(o.rate, 1e-9) for o in (healthz, product)}
        print(
            f"CPU a request (gunicorn + PostgreSQL): /healthz/ {cost[healthz.name] * 1e6:,.0f} µs, product"
            f" {cost[product.name] * 1e6:,.0f} µs: ratio {cost[healthz.name] / cost[product.name]:.3f}, the same"
            " figure without the share of the cores the rest of the machine took"
        )
    for name in ("product pages, signed in", "home and category pages", "home and category pages, signed in"):
        other = next((o for o in outcomes if o.name == name), None)
        if healthz.rate and other is not None:
            ratio = other.rate / healthz.rate
            print(
                f"{name}: req/s ÷ /healthz/ = {ratio:.3f} ({'meets' if ratio >= 0.5 else 'misses'} the target ≥ 0.5);"
                f" CPU a request (gunicorn + PostgreSQL) {cpu_a_request(other):,.0f} µs,"
                f" ratio {cpu_a_request(healthz) / max(cpu_a_request(other), 1e-9):.3f}"
            )
    if healthz.rate > 0.8 * ceiling.rate:
        print("/healthz/ is within 20 % of the client's ceiling: the trivial view's figure is bound by the client.")

    print("\nWhere the CPU went in each window (cores busy on average; the machine has", os.cpu_count(), "cores):")
    header = (
        f"{'scenario':<36} {'machine':>7} {'client':>7} {'server':>7} {'pg':>6} {'redis':>6} {'other':>6}"
        f"  {'client µs/req':>13} {'server µs/req':>13} {'pg µs/req':>9}"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        per = 1e6 / max(o.rate, 1e-9)
        c = o.cpu
        print(
            f"{o.name:<36} {c['machine']:>7.2f} {c['client']:>7.2f} {c['server']:>7.2f} {c['postgres']:>6.2f}"
            f" {c['redis']:>6.2f} {c['other']:>6.2f}  {c['client'] * per:>13.0f} {c['server'] * per:>13.0f}"
            f" {c['postgres'] * per:>9.0f}"
        )
    print(
        "(server: gunicorn master and workers, or the bare socket server; pg: the backends of the bench"
        " database; redis: the whole redis-server, shared; other: everything else on the machine)"
    )

    print("\nSQL queries of one product page (test Client in this process, same settings):")
    for label, cold, warm in counts:
        print(f"  {label:<32} {cold} with the product's rating and page caches empty, {warm} with them warm")
    print("  (plus the connection health check, SELECT 1, once a request: CONN_HEALTH_CHECKS is on)")


if __name__ == "__main__":
    main()
