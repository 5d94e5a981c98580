"""Bench: the API's list and product endpoints under load with gunicorn, beside /healthz/ in the same run.

    .venv/bin/python bench/product_page_load.py --prepare --database-url ...   # once: the demo data
    .venv/bin/python bench/api_load.py [--database-url ...] [--redis-url ...] [--workers 4] \
        [--connections 16] [--seconds 20] [--warmup 3] [--client-processes 2]

The method of bench/product_page_load.py, whose harness this reuses (its gunicorn with production
settings, its load generator in spawned client processes, its CPU accounting from /proc; read its
docstring): one gunicorn, scenarios one after another in the same run, only requests started and
finished inside the measured window counted. Scenarios:

1. /healthz/ (the trivial view);
2. ``GET /api/v1/list/``, warm cache;
3. ``GET /api/v1/products/<slug>/``, warm cache: 80 % products with a published rating, 20 % unrated,
   drawn with a fixed seed (the page bench's mix, without its comment pages: the API has none);
4. the same product mix revalidated: each request carries the ETag it last got (``If-None-Match``),
   so every answer is a 304 without a body.

The issue's target: list and product endpoints each at ≥ 50 % of /healthz/'s requests per second.
The rate limit stays ON, with a ceiling no bench reaches (``API_RATE_LIMIT_REQUESTS``=10⁹): every
request still pays for its counter (one SET NX + INCR round trip to Redis), as in production, but
the single client address of the bench is never refused.
"""

import argparse
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import product_page_load as harness

#: Far above any bench's request count: the counters run, nobody is refused.
UNREACHABLE_LIMIT = "1000000000"


def api_paths(seed: int) -> tuple[list[str], str]:
    """A fixed mix of product endpoint URLs: 80 % rated, 20 % unrated."""
    from catalog.models import Product

    rated = sorted(Product.objects.filter(is_active=True, rating_score__isnull=False).values_list("slug", flat=True))
    unrated = sorted(Product.objects.filter(is_active=True, rating_score__isnull=True).values_list("slug", flat=True))
    if not rated or not unrated:
        raise SystemExit(f"{len(rated)} rated and {len(unrated)} unrated products: prepare the demo data first")
    rng = random.Random(seed)
    unrated = rng.sample(unrated, min(len(unrated), max(20, len(rated) // 4)))
    paths = [
        f"/api/v1/products/{rng.choice(rated) if rng.random() < 0.8 else rng.choice(unrated)}/" for _ in range(20_000)
    ]
    print(f"products: {len(rated)} with a published rating, {len(unrated)} unrated in the mix; {len(set(paths))} URLs")
    return paths, rated[0]


def etag_of(port: int, path: str) -> str:
    """The ETag of one 200 answer (the harness's http_get keeps only the Location header)."""
    raw = harness.build_request(path).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    with socket.create_connection((harness.HOST, port), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    if " 200 " not in head[0]:
        raise SystemExit(f"{path} answered {head[0]}")
    return next(line.split(":", 1)[1].strip() for line in head if line.lower().startswith("etag:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/loadbench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the connections are spread over")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    overlay_dir = Path(tempfile.mkdtemp(prefix="api_load-"))
    try:
        static_root = overlay_dir / "static"
        (overlay_dir / "bench_load_settings.py").write_text(
            f"from xhs.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
        )
        env = harness.production_env(args, overlay_dir)
        env["API_RATE_LIMIT_REQUESTS"] = UNREACHABLE_LIMIT
        harness.django_setup(env, overlay_dir)
        measure(args, env, overlay_dir)
    finally:
        shutil.rmtree(overlay_dir, ignore_errors=True)


def measure(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> None:
    import redis
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)
    paths, rated_slug = api_paths(args.seed)
    redis_pid = int(redis.Redis.from_url(args.redis_url).info("server")["process_id"])
    connection.close()
    db_pids = harness.backend_pids(args.database_url)

    outcomes: list[harness.Outcome] = []
    print(f"{os.cpu_count()} cores; load average {harness.load_average()} before the run")
    with harness.gunicorn(env, args.workers, overlay_dir / "gunicorn.log") as (port, process):
        for path in ("/api/v1/list/", f"/api/v1/products/{rated_slug}/"):
            status, body, _ = harness.http_get(port, path)
            print(f"{path}: {status}, {len(body):,} bytes")
            if status != 200:
                raise SystemExit(f"{path} answered {status}:\n{(overlay_dir / 'gunicorn.log').read_text()[-3000:]}")

        def scenario(name: str, scenario_paths: list[str], requests: list[bytes] | None = None) -> None:
            """One scenario; ``requests`` replaces the harness's plain GETs (one per path) when given."""
            plain = harness.build_request
            if requests is not None:
                harness.build_request = dict(zip(scenario_paths, requests, strict=True)).__getitem__
            try:
                outcomes.append(
                    harness.run_scenario(
                        name,
                        port=port,
                        paths=scenario_paths,
                        args=args,
                        seconds=args.seconds,
                        warmup=args.warmup,
                        server_pids=lambda: [process.pid, *harness.children_of(process.pid)],
                        db_pids=db_pids,
                        redis_pid=redis_pid,
                    )
                )
            finally:
                harness.build_request = plain

        scenario("/healthz/ (trivial view)", ["/healthz/"])
        harness.http_get(port, "/api/v1/list/")
        scenario("/api/v1/list/, warm cache", ["/api/v1/list/"])
        unique = sorted(set(paths))
        for path in unique:  # every URL once: the rating cache is warm
            harness.http_get(port, path)
        scenario("/api/v1/products/…, warm cache", paths)
        etags = {path: etag_of(port, path) for path in unique}
        revalidations = [
            harness.build_request(path).replace(b"\r\n\r\n", f"\r\nIf-None-Match: {etags[path]}\r\n\r\n".encode(), 1)
            for path in unique
        ]
        scenario("/api/v1/products/…, If-None-Match", unique, revalidations)
        log = (overlay_dir / "gunicorn.log").read_text()
    report(args, outcomes)
    if any(outcome.server_errors for outcome in outcomes) or "Traceback" in log:
        print("\ngunicorn log (end):\n" + log[-4000:])


def report(args: argparse.Namespace, outcomes: list[harness.Outcome]) -> None:
    print(
        f"\ngunicorn {args.workers} sync workers, {args.connections} connections from "
        f"{args.client_processes} client processes, {args.seconds:g} s measured after {args.warmup:g} s warm-up\n"
    )
    header = (
        f"{'scenario':<36} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
        f" {'statuses':<20} {'KB/resp':>7}  load 1/5/15"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        size = o.body_bytes / max(o.requests, 1) / 1024
        statuses = ",".join(f"{status}×{n}" for status, n in sorted(o.statuses.items()))
        print(
            f"{o.name:<36} {o.requests:>9,} {o.rate:>8,.0f} {o.percentile(0.5):>7.1f} {o.percentile(0.9):>7.1f}"
            f" {o.percentile(0.99):>7.1f} {statuses:<20} {size:>7.1f}  {o.load}"
        )
    healthz = outcomes[0]
    print()
    for o in outcomes[1:]:
        ratio = o.rate / healthz.rate if healthz.rate else float("nan")
        verdict = "meets" if ratio >= 0.5 else "misses"
        cost = (o.cpu["server"] + o.cpu["postgres"]) / max(o.rate, 1e-9) * 1e6
        print(
            f"{o.name:<36} ÷ /healthz/ req/s = {ratio:.3f} ({verdict} ≥ 0.5);"
            f" gunicorn + PostgreSQL {cost:,.0f} µs CPU a request"
        )
    base = (healthz.cpu["server"] + healthz.cpu["postgres"]) / max(healthz.rate, 1e-9) * 1e6
    print(f"{'/healthz/':<36} gunicorn + PostgreSQL {base:,.0f} µs CPU a request")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
