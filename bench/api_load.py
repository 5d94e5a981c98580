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
import random
import socket
import sys
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
    """The ETag of one 200 answer."""
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
    args = harness.bench_arguments(__doc__ or "").parse_args()
    harness.bench_run(args, measure, prefix="api_load-", env_extra={"API_RATE_LIMIT_REQUESTS": UNREACHABLE_LIMIT})


def measure(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    paths, rated_slug = api_paths(args.seed)
    with harness.serving(args, env, overlay_dir) as served:
        for path in ("/api/v1/list/", f"/api/v1/products/{rated_slug}/"):
            print(f"{path}: 200, {len(served.check(path)):,} bytes")
        served.scenario("/healthz/ (trivial view)", ["/healthz/"])
        served.scenario("/api/v1/list/, warm cache", ["/api/v1/list/"])
        unique = sorted(set(paths))
        for path in unique:  # every URL once: the rating cache is warm
            harness.http_get(served.port, path)
        served.scenario("/api/v1/products/…, warm cache", paths)
        revalidations = [
            harness.build_request(path).replace(
                b"\r\n\r\n", f"\r\nIf-None-Match: {etag_of(served.port, path)}\r\n\r\n".encode(), 1
            )
            for path in unique
        ]
        served.scenario("/api/v1/products/…, If-None-Match", unique, requests=revalidations)
    harness.healthz_report(args, served.outcomes)
    served.print_log_if_failed()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
