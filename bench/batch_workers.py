"""Bench: the nightly jobs on their queue with one and with two worker processes.

    .venv/bin/python bench/product_page_load.py --prepare --database-url postgres://.../xhs_bench   # or
    DATABASE_URL=postgres://.../scorebench .venv/bin/python bench/scoring.py --prepare --scale medium  # once
    DATABASE_URL=postgres://... .venv/bin/python bench/batch_workers.py [--redis-url redis://127.0.0.1:6379/4] \
        [--processes 1,2] [--rounds 3]

Any database with votes will do. The nightly jobs fan out one task per category (``CELERY_TASK_ROUTES`` sends
them to the queue ``batch``; ``docs/scaling.md`` plans more worker processes there as the first step past one
machine's night). This measures what a second process buys, with the real parts: for each number of processes
a Celery worker is started as production starts it (``celery -A xhs worker``, prefork, ``-c N``, one task at a
time per process: ``CELERY_WORKER_PREFETCH_MULTIPLIER=1``) on a queue of this bench's own, with ``--redis-url``
as its broker and cache (a Redis database of the bench's own: it is flushed first). The bench sends the job
through the broker as beat would and times it from sending to the queue empty and the worker idle:

1. scoring: ``ratings.tasks.run_scoring`` (one ``score_category`` per category) on emptied result tables, so
   every round does a first run's work (``bench.scoring.output_reset``); the run must end ``finished``;
2. screening: ``moderation.tasks.screen_all_votes`` (one ``screen_category`` per category) with the current
   model (trained here first if there is none). Verdicts move only on the first pass, so one pass runs
   before the measured ones, unmeasured.

Each job runs ``--rounds`` times per worker (the median is printed, the load average beside it), the worker
counts alternating round by round so a busy minute of the machine does not fall on one of them. The figure
to read: the speed-up of two processes over one (at most the number of cores, here 2, less what PostgreSQL
takes of the same cores). ``WORKER_LOG=path`` keeps the workers' log (each task's time, "succeeded in").
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

from mixed_load import celery_worker  # noqa: E402  # bench/ is sys.path[1] when this file runs as a script

QUEUE = f"bench-batch-{os.getpid()}"
#: Seconds a job may take before the bench gives up on it.
JOB_TIMEOUT = 3600


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4", help="the worker's broker and cache")
    parser.add_argument("--processes", default="1,2", help="worker processes to compare, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="times each job runs per worker (median printed)")
    parser.add_argument("--jobs", default="scoring,screening", help="which nightly jobs, comma-separated")
    return parser.parse_args()


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def drained(name: str) -> bool:
    """The bench's queue is empty and the worker holds no task."""
    import redis
    from django.conf import settings

    from xhs.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        if broker.llen(QUEUE):
            return False
    finally:
        broker.close()
    inspect = app.control.inspect(destination=[name], timeout=1)
    # no answer (None) counts as busy: the worker is too loaded to answer
    return all(busy is not None and not busy.get(name) for busy in (inspect.active(), inspect.reserved()))


def timed_job(job: str, name: str) -> float:
    """Send ``job`` through the broker and wait until it is done; seconds from sending to done."""
    from moderation.tasks import screen_all_votes
    from ratings.models import ScoringRun
    from ratings.tasks import run_scoring

    if job == "scoring":
        from bench.scoring import output_reset

        output_reset()  # every round does a first run's work
        task = run_scoring
    else:
        task = screen_all_votes
    started = time.perf_counter()
    task.apply_async(kwargs={"triggered_by": "bench"} if job == "scoring" else {}, queue=QUEUE)
    time.sleep(0.5)  # the job's first task may be in flight between the queue and the worker
    while not drained(name):
        if time.perf_counter() - started > JOB_TIMEOUT:
            raise SystemExit(f"{job} did not finish within {JOB_TIMEOUT} s")
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if job == "scoring":
        run = ScoringRun.objects.filter(triggered_by="bench").order_by("-pk").first()
        if run is None or run.status != ScoringRun.Status.FINISHED:
            raise SystemExit(f"the scoring run did not finish: {run and run.status}")
    return seconds


def main() -> None:
    args = arguments()
    counts = [int(value) for value in args.processes.split(",")]
    jobs = [job.strip() for job in args.jobs.split(",")]
    os.environ["REDIS_URL"] = args.redis_url  # the broker of this process too, before Django reads its settings
    import django

    django.setup()
    import redis
    from django.db import connection

    from moderation import screening
    from ratings.models import Vote

    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    redis.Redis.from_url(args.redis_url).flushdb()
    categories = len(screening.categories_with_votes())
    votes = Vote.objects.count()
    if not categories:
        raise SystemExit("no votes: prepare a database first (see the docstring)")
    if "screening" in jobs and screening.current_model() is None:
        screening.screener_train()
    env = {**os.environ, "REDIS_URL": args.redis_url}
    print(f"{votes:,} votes in {categories} categories; {os.cpu_count()} cores; load average {load_average()}")
    times: dict[tuple[str, int], list[float]] = {}
    loads: dict[tuple[str, int], list[str]] = {}
    from bench.scoring import output_reset

    output_reset()  # first: the votes bench/scoring.py added for its re-score step go before anything screens them
    with tempfile.TemporaryDirectory(prefix="batch_workers-") as scratch:
        log = Path(os.environ.get("WORKER_LOG") or Path(scratch) / "worker.log")
        if "screening" in jobs:
            with celery_worker(env, log, queues=QUEUE, processes=counts[0], name="batch_workers", level="info") as name:
                print(f"screening, unmeasured first pass: {timed_job('screening', name):.1f} s", flush=True)
        for round_number in range(args.rounds):
            order = counts if round_number % 2 == 0 else list(reversed(counts))
            for processes in order:
                with celery_worker(
                    env, log, queues=QUEUE, processes=processes, name="batch_workers", level="info"
                ) as name:
                    for job in jobs:
                        loads.setdefault((job, processes), []).append(load_average())
                        seconds = timed_job(job, name)
                        times.setdefault((job, processes), []).append(seconds)
                        print(f"round {round_number + 1}: {job} with {processes}: {seconds:.1f} s", flush=True)
    print()
    head = f"{'job':<28}" + "".join(f"{f'{n} process' + ('es' if n > 1 else ''):>14}" for n in counts)
    print(head + f"{'speed-up':>10}  load 1/5/15 at start (median round)")
    print("-" * (len(head) + 48))
    for job in jobs:
        medians = [statistics.median(times[(job, n)]) for n in counts]
        middle = sorted(range(len(times[(job, counts[-1])])), key=lambda i: times[(job, counts[-1])][i])
        load = loads[(job, counts[-1])][middle[len(middle) // 2]]
        cells = "".join(f"{m:>12.1f} s" for m in medians)
        print(f"{f'{job} ({categories} categories)':<28}{cells}{medians[0] / medians[-1]:>9.2f}×  {load}")
    print(f"\n{args.rounds} round(s) per worker; speed-up = the first column's median ÷ the last column's")


if __name__ == "__main__":
    main()
