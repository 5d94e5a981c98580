"""Bench: a brand's own page (/brand/) and its CSV under load with gunicorn, beside /healthz/ in the same run.

    .venv/bin/python bench/product_page_load.py --prepare --database-url ...   # once: the demo data
    .venv/bin/python bench/brand_page_load.py [--database-url ...] [--redis-url ...] [--workers 4] \
        [--connections 16] [--seconds 20] [--warmup 3] [--client-processes 2] [--builds 50]

The method of bench/product_page_load.py, whose harness this reuses (its gunicorn with production
settings, its load generator in spawned client processes, its CPU accounting from /proc; read its
docstring): one gunicorn, scenarios one after another in the same run, only requests started and
finished inside the measured window counted. Every request of the brand scenarios is signed in as the
demo brand account (``brand@demo.xhs``, linked to a brand by ``seed --scale demo``): a session made in
this process, with the same settings and secret as the server, sent as a cookie. Scenarios:

1. /healthz/ (the trivial view);
2. ``GET /me/``, the account's own profile: what any signed-in page costs here (the session, the account, the
   base template's signed-in header), to read the brand page's figures against;
3. ``GET /brand/``, warm: the page's figures are cached a minute (``ratings.views.BRAND_PAGE_SECONDS``), so
   this is the session, the account, a cache read of the body (ten products' charts, the table of all of
   them, recent comments) and the base template;
4. ``GET /brand/export.csv``, warm.

Then, in this process, what the cache saves: ``--builds`` uncached builds of the figures
(``ratings.brand_dashboard.brand_dashboard``), their median time and their queries, and the same for a
throwaway account linked to the demo's brand with the most products, to show the count does not grow.

The issue's target: the page at ≥ 50 % of /healthz/'s requests per second.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import product_page_load as harness

BRAND_EMAIL = "brand@demo.xhs"
#: The harness's plain GET; its ``build_request`` is replaced by a signed one during the brand scenarios.
PLAIN_REQUEST = harness.build_request


def session_cookie() -> str:
    """A ``Cookie`` header value that signs the demo brand account in (the server shares the secret)."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from catalog.models import BrandAccount

    user = User.objects.filter(email=BRAND_EMAIL).first()
    if user is None or not BrandAccount.objects.filter(user=user).exists():
        raise SystemExit(f"no {BRAND_EMAIL} linked to a brand: prepare the demo data first (--prepare)")
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def signed_request(path: str, cookie: str) -> bytes:
    return PLAIN_REQUEST(path).replace(b"\r\n\r\n", f"\r\nCookie: {cookie}\r\n\r\n".encode(), 1)


def builds(count: int) -> list[tuple[str, int, int, float]]:
    """(whose, products, queries, median ms) of ``count`` uncached builds of the page's figures."""
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from catalog.models import Brand, BrandAccount
    from ratings.brand_dashboard import brand_dashboard

    demo = User.objects.get(email=BRAND_EMAIL)
    rows = []
    # The brand with the most products, through a throwaway account: the query count must not grow with it.
    largest = Brand.objects.annotate(n=Count("products")).order_by("-n", "id").first()
    if largest is None:
        raise SystemExit("no brands: prepare the demo data first (--prepare)")
    probe = User.objects.create(email="brand-bench-probe@example.invalid", display_name="bench")
    BrandAccount.objects.create(user=probe, brand=largest)
    try:
        for whose, user in (("demo brand", demo), (f"largest brand ({largest})", probe)):
            times = []
            with CaptureQueriesContext(connection) as queries:
                dashboard = brand_dashboard(user=user)
            for _ in range(count):
                started = time.perf_counter()
                brand_dashboard(user=user)
                times.append((time.perf_counter() - started) * 1000)
            rows.append((whose, len(dashboard.products), len(queries), statistics.median(times)))
    finally:
        probe.delete()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/loadbench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the connections are spread over")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--builds", type=int, default=50, help="uncached builds of the figures, in process")
    parser.add_argument("--seed", type=int, default=42, help="the load generator's seed")
    args = parser.parse_args()

    overlay_dir = Path(tempfile.mkdtemp(prefix="brand_load-"))
    try:
        static_root = overlay_dir / "static"
        (overlay_dir / "bench_load_settings.py").write_text(
            f"from xhs.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
        )
        env = harness.production_env(args, overlay_dir)
        harness.django_setup(env, overlay_dir)
        measure(args, env, overlay_dir)
    finally:
        shutil.rmtree(overlay_dir, ignore_errors=True)


def measure(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> None:
    import redis
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)
    cookie = session_cookie()
    built = builds(args.builds)
    redis_pid = int(redis.Redis.from_url(args.redis_url).info("server")["process_id"])
    connection.close()
    db_pids = harness.backend_pids(args.database_url)

    outcomes: list[harness.Outcome] = []
    print(f"{os.cpu_count()} cores; load average {harness.load_average()} before the run")
    with harness.gunicorn(env, args.workers, overlay_dir / "gunicorn.log") as (port, process):

        def scenario(name: str, path: str, *, signed: bool) -> None:
            if signed:
                harness.build_request = lambda p: signed_request(p, cookie)
            try:
                status, body, _ = harness.http_get(port, path)
                if status != 200:
                    log = (overlay_dir / "gunicorn.log").read_text()[-3000:]
                    raise SystemExit(f"{path} answered {status}:\n{log}")
                outcomes.append(
                    harness.run_scenario(
                        name,
                        port=port,
                        paths=[path],
                        args=args,
                        seconds=args.seconds,
                        warmup=args.warmup,
                        server_pids=lambda: [process.pid, *harness.children_of(process.pid)],
                        db_pids=db_pids,
                        redis_pid=redis_pid,
                    )
                )
            finally:
                harness.build_request = PLAIN_REQUEST

        scenario("/healthz/ (trivial view)", "/healthz/", signed=False)
        scenario("/me/ (a signed-in page)", "/me/", signed=True)
        scenario("/brand/, warm", "/brand/", signed=True)
        scenario("/brand/export.csv, warm", "/brand/export.csv", signed=True)
        log = (overlay_dir / "gunicorn.log").read_text()
    report(args, outcomes, built)
    if any(outcome.server_errors for outcome in outcomes) or "Traceback" in log:
        print("\ngunicorn log (end):\n" + log[-4000:])


def report(args: argparse.Namespace, outcomes: list[harness.Outcome], built: list[tuple[str, int, int, float]]) -> None:
    print(
        f"\ngunicorn {args.workers} sync workers, {args.connections} connections from "
        f"{args.client_processes} client processes, {args.seconds:g} s measured after {args.warmup:g} s warm-up\n"
    )
    header = (
        f"{'scenario':<30} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
        f" {'statuses':<20} {'KB/resp':>7}  load 1/5/15"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        size = o.body_bytes / max(o.requests, 1) / 1024
        statuses = ",".join(f"{status}×{n}" for status, n in sorted(o.statuses.items()))
        print(
            f"{o.name:<30} {o.requests:>9,} {o.rate:>8,.0f} {o.percentile(0.5):>7.1f} {o.percentile(0.9):>7.1f}"
            f" {o.percentile(0.99):>7.1f} {statuses:<20} {size:>7.1f}  {o.load}"
        )
    healthz = outcomes[0]
    print()
    for o in outcomes[1:]:
        ratio = o.rate / healthz.rate if healthz.rate else float("nan")
        verdict = "meets" if ratio >= 0.5 else "misses"
        cost = (o.cpu["server"] + o.cpu["postgres"]) / max(o.rate, 1e-9) * 1e6
        print(
            f"{o.name:<30} ÷ /healthz/ req/s = {ratio:.3f} ({verdict} ≥ 0.5);"
            f" gunicorn + PostgreSQL {cost:,.0f} µs CPU a request"
        )
    base = (healthz.cpu["server"] + healthz.cpu["postgres"]) / max(healthz.rate, 1e-9) * 1e6
    print(f"{'/healthz/':<30} gunicorn + PostgreSQL {base:,.0f} µs CPU a request")
    print(f"\nuncached builds of the figures (in process, {args.builds} each):")
    for whose, products, queries, median in built:
        print(f"  {whose:<40} {products:>4} products {queries:>3} queries {median:>8.1f} ms median")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
