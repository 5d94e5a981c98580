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
3. ``GET /brand/``, warm: the page is kept whole a minute (``accounts.kept_pages``,
   ``ratings.views.BRAND_PAGE_SECONDS``), so this is one cache round trip (the session, the account, its brand
   link, the header's figures, the page's version; the body is held by the worker process) and the request's CSRF
   token and path put in; no query. The requests carry the cookies a browser holds after its first /brand/
   (``harness.browser_cookie``), the kept page's hint among them;
4. ``GET /brand/export.csv``, warm.

Then, in this process, what the cache saves: ``--builds`` uncached builds of the figures
(``ratings.brand_dashboard.brand_dashboard``), their median time and their queries, and the same for a
throwaway account linked to the demo's brand with the most products, to show the count does not grow.

Then ``--rounds`` - 1 more rounds of /healthz/ and /brand/ one after the other, and each round's ratio with
their median: on a shared machine one window's /healthz/ figure moves by a third from run to run, and a
ratio from one pair of windows with it.

The issue's target: the page at ≥ 50 % of /healthz/'s requests per second.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import product_page_load as harness

BRAND_EMAIL = "brand@demo.xhs"


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
    parser = harness.bench_arguments(__doc__ or "")
    parser.add_argument("--builds", type=int, default=50, help="uncached builds of the figures, in process")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of /healthz/ and /brand/, the first included")
    harness.bench_run(parser.parse_args(), measure, prefix="brand_load-")


def measure(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    cookie = harness.browser_cookie(BRAND_EMAIL, "/brand/", linked_to_a_brand=True)
    built = builds(args.builds)
    with harness.serving(args, env, overlay_dir) as served:

        def signed(name: str, path: str) -> harness.Outcome:
            requests = [harness.signed_request(path, cookie)]
            served.check(path, requests)
            return served.scenario(name, [path], requests=requests)

        healthz = served.scenario("/healthz/ (trivial view)", ["/healthz/"])
        signed("/me/ (a signed-in page)", "/me/")
        rounds = [(healthz, signed("/brand/, warm", "/brand/"))]
        signed("/brand/export.csv, warm", "/brand/export.csv")
        first = list(served.outcomes)
        for _ in range(args.rounds - 1):
            rounds.append(
                (served.scenario("/healthz/ (trivial view)", ["/healthz/"]), signed("/brand/, warm", "/brand/"))
            )
    harness.healthz_report(args, first)
    rounds_report(rounds)
    print(f"\nuncached builds of the figures (in process, {args.builds} each):")
    for whose, products, queries, median in built:
        print(f"  {whose:<40} {products:>4} products {queries:>3} queries {median:>8.1f} ms median")
    served.print_log_if_failed()


def rounds_report(rounds: list[tuple[harness.Outcome, harness.Outcome]]) -> None:
    """Each round's /brand/ against its /healthz/, by requests a second and by CPU a request, and the medians."""
    print(f"\n{'round':>5} {'/healthz/ req/s':>16} {'/brand/ req/s':>14} {'ratio':>6} {'CPU ratio':>10}")
    rates, cpus = [], []
    for number, (healthz, page) in enumerate(rounds, 1):
        rates.append(page.rate / healthz.rate if healthz.rate else float("nan"))
        cpus.append(harness.cpu_a_request(healthz) / harness.cpu_a_request(page))
        print(f"{number:>5} {healthz.rate:>16,.0f} {page.rate:>14,.0f} {rates[-1]:>6.3f} {cpus[-1]:>10.3f}")
    rate, cpu = statistics.median(rates), statistics.median(cpus)
    verdict = "meets" if rate >= 0.5 else "misses"
    print(f"median over {len(rounds)} rounds: /brand/ ÷ /healthz/ req/s = {rate:.3f} ({verdict} ≥ 0.5), CPU {cpu:.3f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
