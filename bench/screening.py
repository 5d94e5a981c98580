"""Bench: vote screening at full scale (train + the nightly batch), against the bare-SQL bound.

    createdb -h 127.0.0.1 -U postgres screenbench                       # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/screenbench .venv/bin/python bench/screening.py --prepare
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/screenbench .venv/bin/python bench/screening.py \
        [--code-root DIR] [--skip-train]

``--prepare`` builds the data once: ``bench/scoring.py``'s prepare (about 10 minutes: 500k users,
~3,000 campaigns, ~3M votes, ~20M factor scores), then, in bulk SQL, gives the votes what screening
reads as it looks on the site (``--keep-base`` redoes only this step):

* campaigns spread over the last 16 weeks (four weeks each); each vote cast within its campaign,
  most in the first days, never before its account was opened;
* devices: each account its own phone, some a second device, households (about one account in
  seven shares its home network, some a family tablet); 15% of votes through a carrier's shared
  addresses (a pool of 30,000);
* seconds to fill the form log-normal (median 2 minutes); a comment on ~30% of the votes, 3–15
  words drawn from a vocabulary of ~3,500 Chinese and English words;
* rings: ``--ring-share`` of the accounts (2%) in rings of 20–60 accounts, each ring pushing one
  campaign: all fives within three hours, quick fills, template comments with small variations,
  new accounts. Two kinds: device farms (a few phones for the ring) and spread rings (own phones,
  one network). A ring account's other votes come from the same devices. The members are kept in
  ``bench_ring_member`` (ring, user_id, vote_id of the pushed vote).

Every vote counts again, and screening's output (verdicts, screening cases, models) is emptied.
Random draws come from ``setseed()``; VACUUM ANALYZE at the end.

The default run empties screening's output, then measures, each in a fresh child process so that
its peak memory is its own (VmHWM, reset per phase through ``/proc/self/clear_refs``):

1. ``screening.screener_train()`` (no manager decisions in the data: the anomaly model and rules);
2. ``screening.votes_screen()`` over every vote: the nightly batch;
3. the bound: one SQL statement that extracts the per-vote and per-rater features screening uses
   (accounts per device and per network, accounts on one device / network on the product within
   two hours, votes on the product within the burst window, the rater's votes and span, straight
   lines, deviation from the product's mean, account age, other purchases, comment length and
   exact copies on the product) into an UNLOGGED table.

Each child reports time and peak RSS per phase: reading (``rating_table``), features, rules, the
model (IsolationForest fit and scoring), applying verdicts, and the rest. The table printed at the
end puts them beside the bound and the detection of the injected rings (recall on the pushed votes,
precision among flagged votes, genuine votes wrongly excluded).

``--code-root DIR``: run the children with the ``moderation`` package found in DIR (an earlier copy
of the code), to measure before and after on the same data.
"""

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _code_root_from_argv() -> str | None:
    for position, arg in enumerate(sys.argv):
        if arg == "--code-root" and position + 1 < len(sys.argv):
            return sys.argv[position + 1]
        if arg.startswith("--code-root="):
            return arg.split("=", 1)[1]
    return None


sys.path.insert(0, str(ROOT))
if _code_root_from_argv():  # an earlier copy of the moderation package shadows the checkout's
    sys.path.insert(0, str(Path(_code_root_from_argv() or "").resolve()))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from bench.scoring import load_average, sql, sql_rows  # noqa: E402

#: Vocabulary of the genuine comments: common Chinese review words and English words, ~3,500 in all.
_ZH_TEXT = (
    "质量 包装 物流 客服 味道 颜色 尺寸 手感 效果 性价比 做工 材质 设计 香味 口感 保湿 清爽 滋润 温和 细腻 "
    "方便 实用 耐用 舒服 柔软 轻薄 结实 好看 漂亮 一般 普通 偏贵 便宜 划算 满意 失望 惊喜 推荐 回购 "
    "快递 速度 发货 破损 正品 赠品 说明书 孩子 老人 朋友 家里 办公室 出差 夏天 冬天 早上 晚上 每天 "
    "用了 两周 一个月 半年 感觉 觉得 还是 比较 非常 有点 稍微 特别 真的 确实 总体 整体 不过 但是 而且"
)
_EN_TEXT = (
    "good great fine okay decent poor quality price value size fit colour smell taste texture works broke "
    "arrived late early packaging box leaked soft hard light heavy strong weak cheap pricey worth money "
    "daily use week month year kids family gift again never always maybe little bit quite very really "
    "skin hair shower kitchen travel office battery charge screen sound comfortable itchy smooth sticky"
)
_SYLLABLES_TEXT = "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru ta te ti"
_ZH, _EN, _SYLLABLES = _ZH_TEXT.split(), _EN_TEXT.split(), _SYLLABLES_TEXT.split()
#: Ring templates: a paid text posted with small variations.
TEMPLATES = (
    "回购无数次了，强烈推荐给所有姐妹，质量真的超级好，物流也很快，客服态度一级棒，五星好评！",
    "用了一个月效果非常明显，皮肤变得水润有光泽，性价比超高，再也不用买别的牌子了，闭眼入！",
    "包装精美，做工细致，朋友都问我在哪里买的，真的是我今年买过最值的东西，强烈推荐大家购买！",
    "Absolutely love this product, best purchase this year, quality is amazing and delivery was fast, five stars!",
    "Changed my daily routine completely, works better than anything else I tried, highly recommend to everyone!",
    "宝宝用了特别喜欢，温和不刺激，妈妈们放心买，已经推荐给身边所有朋友了，真心好用不踩雷！",
    "这个价格能买到这么好的品质真的太划算了，细节处理很到位，颜值也高，必须给满分好评！",
    "Great value for money, premium feel, my whole family uses it now, will definitely buy again and again!",
)


def vocabulary(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = list(_ZH) + list(_EN)
    words += [_ZH[i] + _ZH[j] for i, j in rng.integers(0, len(_ZH), size=(1500, 2))]
    words += ["".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 5)))) for _ in range(2300)]
    return sorted(set(words))


@contextmanager
def timed(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        print(f"  {name}: {time.perf_counter() - started:.1f} s (load average {load_average()})", flush=True)


# --- Preparing the data ---------------------------------------------------------------------------

CAMPAIGNS = """
    UPDATE ratings_campaign c SET opens_at = d.opens_at, closes_at = d.opens_at + interval '28 days'
      FROM (SELECT id, statement_timestamp() - (7 + random() * 105) * interval '1 day' AS opens_at
              FROM ratings_campaign) d
     WHERE d.id = c.id
"""

RINGS = """
    CREATE TABLE bench_ring AS
    SELECT row_number() OVER (ORDER BY id) AS ring, id AS campaign_id, product_id, size,
           CASE WHEN kind < 0.6 THEN 'farm' ELSE 'spread' END AS kind,
           1 + size / 15 AS phones, 1 + floor(kind * 1000)::int %% 8 AS template,
           opens_at + burst * GREATEST(LEAST(closes_at, statement_timestamp()) - opens_at - interval '4 hours',
                                       interval '0') AS burst_at
      FROM (SELECT c.*, 20 + floor(random() * 41)::int AS size, random() AS kind, random() AS burst, random() AS pick
              FROM ratings_campaign c) c
     ORDER BY pick
     LIMIT %(rings)s
"""

RING_MEMBERS = """
    CREATE TABLE bench_ring_member AS
    SELECT DISTINCT ON (user_id) ring, user_id, vote_id, member
      FROM (SELECT r.ring, v.user_id, v.id AS vote_id, r.size,
                   row_number() OVER (PARTITION BY r.ring ORDER BY random()) AS member
              FROM bench_ring r JOIN ratings_vote v ON v.campaign_id = r.campaign_id) drawn
     WHERE member <= size
     ORDER BY user_id, ring
"""

# One row per account: its household, and its ring (if any).
PROFILES = """
    CREATE TEMP TABLE bench_profile ON COMMIT DROP AS
    SELECT u.id AS user_id, u.date_joined,
           CASE WHEN h < 0.15 THEN 'h' || (u.id / 4) ELSE 'u' || u.id END AS household,
           m.ring, m.member, r.kind, r.phones
      FROM (SELECT id, date_joined, random() AS h FROM accounts_user) u
      LEFT JOIN bench_ring_member m ON m.user_id = u.id
      LEFT JOIN bench_ring r ON r.ring = m.ring
"""

# The votes as they look on the site; the UPDATE afterwards writes them back.
VOTES_NEW = """
    CREATE TEMP TABLE bench_vote_new ON COMMIT DROP AS
    SELECT v.id,
           CASE WHEN m.vote_id IS NOT NULL
                THEN r.burst_at + random() * interval '3 hours'
                ELSE LEAST(statement_timestamp(), GREATEST(
                         c.opens_at + power(random(), 2) * (LEAST(c.closes_at, statement_timestamp()) - c.opens_at),
                         p.date_joined + interval '1 day' + random() * interval '20 days'))
           END AS created_at,
           CASE WHEN p.ring IS NULL THEN
                CASE WHEN x < 0.85 THEN md5('ip' || p.household) || md5('ip+' || p.household)
                     ELSE md5('nat' || floor(y * 30000)) || md5('nat+' || floor(y * 30000)) END
                ELSE md5('ringip' || p.ring) || md5('ringip+' || p.ring) END AS ip_hash,
           CASE WHEN p.ring IS NULL THEN
                CASE WHEN y < 0.80 THEN md5('ua' || v.user_id) || md5('ua+' || v.user_id)
                     WHEN y < 0.92 THEN md5('ub' || v.user_id) || md5('ub+' || v.user_id)
                     ELSE md5('uh' || p.household) || md5('uh+' || p.household) END
                WHEN p.kind = 'farm' THEN md5('ring' || p.ring || '-' || p.member %% p.phones)
                                        || md5('ring+' || p.ring || '-' || p.member %% p.phones)
                ELSE md5('ua' || v.user_id) || md5('ua+' || v.user_id) END AS user_agent_hash,
           CASE WHEN m.vote_id IS NOT NULL THEN 8 + floor(random() * 30)::int
                ELSE GREATEST(5, round(exp(ln(120)
                                           + 0.55 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::int
           END AS seconds_to_fill,
           CASE WHEN m.vote_id IS NOT NULL THEN
                     CASE WHEN z < 0.75 THEN (%(templates)s::text[])[r.template]
                                             || repeat('!', floor(random() * 3)::int)
                                             || (%(emoji)s::text[])[1 + floor(random() * 4)::int]
                          ELSE '' END
                WHEN z < 0.30 THEN (
                     SELECT string_agg((%(words)s::text[])[1 + floor(random() * %(nwords)s)::int], ' ')
                       FROM generate_series(1, 3 + (floor(z * 1e6)::int %% 13)))
                ELSE '' END AS comment
      FROM (SELECT id, user_id, campaign_id, random() AS x, random() AS y, random() AS z FROM ratings_vote) v
      JOIN bench_profile p ON p.user_id = v.user_id
      JOIN ratings_campaign c ON c.id = v.campaign_id
      LEFT JOIN bench_ring_member m ON m.vote_id = v.id
      LEFT JOIN bench_ring r ON r.ring = m.ring
"""

VOTES_BACK = """
    UPDATE ratings_vote v SET created_at = n.created_at, updated_at = n.created_at, submitted_at = n.created_at,
           ip_hash = n.ip_hash,
           user_agent_hash = n.user_agent_hash, seconds_to_fill = n.seconds_to_fill, comment = n.comment,
           verdict = 'counted', exclusion_reason = '', revision_count = 0
      FROM bench_vote_new n
     WHERE n.id = v.id
"""

RING_SCORES = """
    UPDATE ratings_factorscore SET score = 5
     WHERE vote_id IN (SELECT vote_id FROM bench_ring_member) AND score <> 5
"""

RING_ACCOUNTS_NEW = """
    UPDATE accounts_user u SET date_joined = f.first_vote - (1 + random() * 9) * interval '1 day'
      FROM (SELECT v.user_id, min(v.created_at) AS first_vote
              FROM ratings_vote v JOIN bench_ring_member m ON m.user_id = v.user_id GROUP BY v.user_id) f
     WHERE f.user_id = u.id
"""


def screening_reset() -> None:
    """Screening's output emptied and every vote counting: the state before the first nightly batch.

    What managers did about screening's cases goes with them (the database refuses to delete a case
    with votes, appeals or reports; the smoke test's data has them)."""
    cases = "SELECT id FROM moderation_case WHERE source = 'screening'"
    sql(
        "DELETE FROM moderation_auditdispute WHERE vote_id IN"
        f" (SELECT id FROM moderation_managervote WHERE case_id IN ({cases}))"
    )
    for table in ("moderation_managervote", "moderation_appeal", "moderation_report"):
        sql(f"DELETE FROM {table} WHERE case_id IN ({cases})")
    sql("DELETE FROM moderation_case WHERE source = 'screening'")
    sql("TRUNCATE moderation_votescreening")
    sql("DELETE FROM moderation_screeningmodel")
    sql("UPDATE ratings_vote SET verdict = 'counted', exclusion_reason = '' WHERE verdict <> 'counted'")
    sql("UPDATE ratings_campaign SET rescore_requested_at = NULL WHERE rescore_requested_at IS NOT NULL")


def prepare(*, seed: int, keep_base: bool, ring_share: float) -> None:
    wall = time.perf_counter()
    if not keep_base:
        from bench import scoring as scoring_bench

        scoring_bench.prepare(seed=seed, per_category=32, cap=100, purchase_days=560, voting=0.99)
    fraction = (seed % 10_000) / 10_000
    users = sql_rows("SELECT count(*) FROM accounts_user")[0][0]
    rings = max(1, round(ring_share * users / 40))
    words = vocabulary(seed)
    print(f"realistic votes: {users:,} accounts, {rings} rings, a vocabulary of {len(words):,} words", flush=True)
    with transaction.atomic():
        sql("SET LOCAL work_mem = '512MB'")
        sql("SELECT setseed(%s)", [fraction])
        with timed("campaigns spread over 16 weeks"):
            sql(CAMPAIGNS)
        with timed("rings and their members"):
            sql("DROP TABLE IF EXISTS bench_ring_member, bench_ring")
            sql(RINGS, {"rings": rings})
            sql(RING_MEMBERS)
            sql("CREATE INDEX ON bench_ring_member (vote_id)")
        with timed("votes: devices, networks, times, fills, comments (new values)"):
            sql(PROFILES)
            sql("CREATE INDEX ON bench_profile (user_id)")
            sql(
                VOTES_NEW,
                {"templates": list(TEMPLATES), "emoji": ["", "👍", "❤️", "🔥"], "words": words, "nwords": len(words)},
            )
        with timed("votes written back (UPDATE)"):
            sql(VOTES_BACK)
        with timed("ring scores all five, ring accounts new"):
            sql(RING_SCORES)
            sql(RING_ACCOUNTS_NEW)
        with timed("screening output emptied"):
            screening_reset()
    with timed("VACUUM (FULL, ANALYZE) ratings_vote; ANALYZE"):
        sql("VACUUM (FULL, ANALYZE) ratings_vote")
        sql("VACUUM (ANALYZE) ratings_factorscore, accounts_user, ratings_campaign")
    summary = sql_rows(
        """SELECT count(*), count(DISTINCT user_id), count(*) FILTER (WHERE comment <> ''),
                  count(DISTINCT user_agent_hash), count(DISTINCT ip_hash),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_fill), min(created_at), max(created_at)
             FROM ratings_vote"""
    )[0]
    ring_summary = sql_rows(
        "SELECT count(DISTINCT ring), count(*), count(*) FILTER (WHERE r.kind = 'farm')"
        " FROM bench_ring_member m JOIN bench_ring r USING (ring)"
    )[0]
    print(
        f"{summary[0]:,} votes by {summary[1]:,} raters; {summary[2]:,} with a comment; {summary[3]:,} devices,"
        f" {summary[4]:,} networks; median fill {summary[5]:.0f} s; cast {summary[6]:%Y-%m-%d} to {summary[7]:%Y-%m-%d}"
    )
    print(f"{ring_summary[0]} rings, {ring_summary[1]:,} ring accounts ({ring_summary[2]:,} in device farms)")
    print(f"total {time.perf_counter() - wall:.1f} s")


# --- The bare-SQL bound ------------------------------------------------------------------------------

BOUND = """
    CREATE UNLOGGED TABLE bench_screen_bound AS
    WITH s AS (
        SELECT vote_id, avg(score) AS vote_mean, count(*) AS factors, var_pop(score) AS score_var,
               (count(*) >= 3 AND min(score) = max(score)) AS straight
          FROM ratings_factorscore GROUP BY vote_id
    ), bought AS (
        SELECT buyer_id, count(*) - 1 AS other_purchases FROM catalog_orderline WHERE status = 'paid' GROUP BY buyer_id
    ), device AS (
        SELECT user_agent_hash, count(DISTINCT user_id) AS accounts FROM ratings_vote GROUP BY user_agent_hash
    ), network AS (
        SELECT ip_hash, count(DISTINCT user_id) AS accounts FROM ratings_vote GROUP BY ip_hash
    ), v AS (
        SELECT v.id, v.user_id, v.product_id, v.created_at, v.user_agent_hash, v.ip_hash, v.comment,
               v.seconds_to_fill, s.vote_mean, s.factors, s.score_var, s.straight,
               extract(epoch FROM v.created_at - u.date_joined) / 86400 AS account_age_days,
               GREATEST(coalesce(b.other_purchases, 0), 0) AS other_purchases
          FROM ratings_vote v
          JOIN s ON s.vote_id = v.id
          JOIN accounts_user u ON u.id = v.user_id
          LEFT JOIN bought b ON b.buyer_id = v.user_id
    )
    SELECT v.id AS vote_id, v.user_id, v.account_age_days, v.other_purchases,
           v.seconds_to_fill::float / greatest(v.factors, 1) AS seconds_per_factor, v.straight, v.score_var,
           v.vote_mean - avg(v.vote_mean) OVER product AS product_dev,
           count(*) OVER product AS product_votes,
           count(*) OVER (PARTITION BY v.product_id ORDER BY v.created_at
                          RANGE BETWEEN interval '84 hours' PRECEDING AND interval '84 hours' FOLLOWING) AS burst_votes,
           count(*) OVER (PARTITION BY v.user_agent_hash, v.product_id ORDER BY v.created_at
                          RANGE BETWEEN interval '1 hour' PRECEDING AND interval '1 hour' FOLLOWING) AS device_window,
           count(*) OVER (PARTITION BY v.ip_hash, v.product_id ORDER BY v.created_at
                          RANGE BETWEEN interval '1 hour' PRECEDING AND interval '1 hour' FOLLOWING) AS network_window,
           d.accounts AS device_accounts, n.accounts AS network_accounts,
           count(*) OVER rater AS rater_votes,
           extract(epoch FROM max(v.created_at) OVER rater - min(v.created_at) OVER rater) / 86400 AS rater_span_days,
           avg(v.straight::int) OVER rater AS rater_straight_share,
           length(v.comment) AS comment_chars,
           CASE WHEN v.comment <> '' THEN count(*) OVER (PARTITION BY v.product_id, v.comment) - 1 ELSE 0 END
               AS comment_copies
      FROM v
      JOIN device d ON d.user_agent_hash = v.user_agent_hash
      JOIN network n ON n.ip_hash = v.ip_hash
    WINDOW product AS (PARTITION BY v.product_id), rater AS (PARTITION BY v.user_id)
"""


def bound() -> tuple[float, int]:
    sql("DROP TABLE IF EXISTS bench_screen_bound")
    sql("CHECKPOINT")
    started = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = '256MB'")
        rows = sql(BOUND)
    return time.perf_counter() - started, rows


# --- The child: one job, phases timed and their peak memory read --------------------------------------


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_reset() -> None:
    with contextlib.suppress(OSError):  # not Linux, or not allowed: peaks are then cumulative
        Path("/proc/self/clear_refs").write_text("5")


class Phases:
    """Seconds and peak RSS per phase; a phase is every call of the functions wrapped under its name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.active: str | None = None

    def _note(self, name: str, seconds: float, peak: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), peak)
        self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)
        phases = self

        def clocked(*args: Any, **kwargs: Any) -> Any:
            if phases.active is not None:  # nested in another phase: counted there
                return original(*args, **kwargs)
            phases.peak_mb["other"] = max(phases.peak_mb.get("other", 0.0), _vm_hwm_mb())
            _hwm_reset()
            phases.active = name
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases.active = None
                phases._note(name, time.perf_counter() - started, _vm_hwm_mb())
                _hwm_reset()

        setattr(owner, attribute, clocked)


def child(job: str) -> None:
    """Run one job in this process and print its figures as JSON on the last line."""
    from sklearn.ensemble import IsolationForest

    from moderation import screening
    from moderation.fraud import models as fraud_models
    from xhs.celery import app

    # re-scores are enqueued (to an in-process broker nobody reads), not run inline as eagerly would
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    settings.DEBUG = False

    phases = Phases()
    phases.wrap(screening, "rating_table", "read")
    phases.wrap(fraud_models, "rater_features", "features")
    phases.wrap(fraud_models, "apply_rules", "rules")
    phases.wrap(IsolationForest, "fit", "model")
    phases.wrap(IsolationForest, "score_samples", "model")
    phases.wrap(screening, "_verdicts_apply", "apply")
    _hwm_reset()
    started = time.perf_counter()
    cpu = time.process_time()
    if job == "train":
        model = screening.screener_train()
        outcome: dict[str, Any] = {"version": model.version, "training_votes": model.training_votes}
        outcome.update({k: model.metrics.get(k) for k in ("review_share", "excluded_share", "fit_seconds")})
    else:
        result = screening.votes_screen()
        outcome = {
            "screened": result.screened,
            "excluded": result.excluded,
            "review": result.review,
            "counted_again": result.counted_again,
        }
    total = time.perf_counter() - started
    phases.peak_mb["other"] = max(phases.peak_mb.get("other", 0.0), _vm_hwm_mb())
    phases.seconds["other"] = total - sum(phases.seconds.values())
    print(
        "RESULT "
        + json.dumps(
            {
                "job": job,
                "seconds": total,
                "cpu_seconds": time.process_time() - cpu,
                "peak_mb": max(phases.peak_mb.values()),
                "phases": {k: [phases.seconds.get(k, 0.0), phases.peak_mb.get(k, 0.0)] for k in phases.peak_mb},
                "calls": phases.calls,
                "outcome": outcome,
            }
        ),
        flush=True,
    )


def run_child(job: str, code_root: str | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", job]
    if code_root:
        command += ["--code-root", code_root]
    sql("CHECKPOINT")
    print(f"{job}: starting (load average {load_average()})", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own script
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-5000:], sep="\n")
        raise SystemExit(f"the {job} child failed ({done.returncode})")
    line = [row for row in done.stdout.splitlines() if row.startswith("RESULT ")][-1]
    figures: dict[str, Any] = json.loads(line[len("RESULT ") :])
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{job}: {figures['seconds']:.1f} s, peak {figures['peak_mb']:,.0f} MB"
        f" (largest child so far by getrusage: {children_peak:,.0f} MB); {figures['outcome']}",
        flush=True,
    )
    return figures


# --- Detection of the injected rings --------------------------------------------------------------------

DETECTION = """
    SELECT count(*) FILTER (WHERE pushed),
           count(*) FILTER (WHERE pushed AND s.verdict <> 'counted'),
           count(*) FILTER (WHERE pushed AND s.verdict = 'excluded'),
           count(*) FILTER (WHERE s.verdict <> 'counted'),
           count(*) FILTER (WHERE s.verdict <> 'counted' AND ring_account),
           count(*) FILTER (WHERE s.verdict = 'excluded'),
           count(*) FILTER (WHERE s.verdict = 'excluded' AND ring_account),
           count(*) FILTER (WHERE NOT ring_account),
           count(*) FILTER (WHERE NOT ring_account AND s.verdict = 'excluded'),
           count(*) FILTER (WHERE NOT ring_account AND s.verdict = 'review'),
           count(DISTINCT v.user_id) FILTER (WHERE ring_account),
           count(DISTINCT v.user_id) FILTER (WHERE ring_account AND s.verdict <> 'counted'),
           count(DISTINCT v.user_id) FILTER (WHERE s.verdict <> 'counted'),
           count(*) FILTER (WHERE s.vote_id IS NULL)
      FROM (SELECT v.id, v.user_id, m.vote_id IS NOT NULL AS pushed, a.user_id IS NOT NULL AS ring_account
              FROM ratings_vote v
              LEFT JOIN bench_ring_member m ON m.vote_id = v.id
              LEFT JOIN bench_ring_member a ON a.user_id = v.user_id) v
      LEFT JOIN moderation_votescreening s ON s.vote_id = v.id
"""


def detection() -> dict[str, float]:
    (
        pushed,
        pushed_flagged,
        pushed_excluded,
        flagged,
        flagged_ring,
        excluded,
        excluded_ring,
        genuine,
        genuine_excluded,
        genuine_review,
        ring_accounts,
        ring_accounts_flagged,
        accounts_flagged,
        unscreened,
    ) = sql_rows(DETECTION)[0]

    def share(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "pushed votes": pushed,
        "recall (pushed votes flagged)": share(pushed_flagged, pushed),
        "recall (pushed votes excluded)": share(pushed_excluded, pushed),
        "precision (flagged votes of ring accounts)": share(flagged_ring, flagged),
        "precision (excluded votes of ring accounts)": share(excluded_ring, excluded),
        "ring accounts with a flagged vote": share(ring_accounts_flagged, ring_accounts),
        "flagged accounts that are ring accounts": share(ring_accounts_flagged, accounts_flagged),
        "genuine votes wrongly excluded": share(genuine_excluded, genuine),
        "genuine votes sent to review": share(genuine_review, genuine),
        "votes without a verdict": unscreened,
    }


# --- Measuring --------------------------------------------------------------------------------------------


def measure(*, code_root: str | None, skip_train: bool) -> None:
    counts = sql_rows(
        "SELECT (SELECT count(*) FROM ratings_vote), (SELECT count(DISTINCT user_id) FROM ratings_vote),"
        " (SELECT count(*) FROM ratings_factorscore)"
    )[0]
    print(f"data: {counts[0]:,} votes, {counts[1]:,} raters, {counts[2]:,} factor scores")
    print(f"code: {code_root or ROOT} (moderation from {_moderation_path(code_root)})")
    screening_reset()
    results: dict[str, dict[str, Any]] = {}
    if not skip_train:
        results["train"] = run_child("train", code_root)
    results["screen"] = run_child("screen", code_root)
    sql("CHECKPOINT")
    print(f"bound: starting (load average {load_average()})", flush=True)
    bound_seconds, bound_rows = bound()
    print(f"bound: {bound_seconds:.1f} s, {bound_rows:,} rows into bench_screen_bound", flush=True)
    found = detection()
    report(results, bound_seconds, found)


def _moderation_path(code_root: str | None) -> str:
    return str(Path(code_root) / "moderation") if code_root else str(ROOT / "moderation")


def report(results: dict[str, dict[str, Any]], bound_seconds: float, found: dict[str, float]) -> None:
    print()
    print(f"{'job':<34} {'seconds':>8} {'peak RSS MB':>12} {'x bound':>8}")
    for job, figures in results.items():
        name = {"train": "screener_train()", "screen": "votes_screen() (nightly batch)"}[job]
        ratio = figures["seconds"] / bound_seconds
        print(f"{name:<34} {figures['seconds']:8.1f} {figures['peak_mb']:12,.0f} {ratio:8.1f}")
        for phase, (seconds, peak) in sorted(figures["phases"].items(), key=lambda kv: -kv[1][0]):
            calls = figures["calls"].get(phase, 1)
            print(f"  {phase + (f' ({calls} calls)' if calls > 1 else ''):<32} {seconds:8.1f} {peak:12,.0f}")
    if len(results) == 2:
        both = results["train"]["seconds"] + results["screen"]["seconds"]
        peak = max(r["peak_mb"] for r in results.values())
        print(f"{'train + screen':<34} {both:8.1f} {peak:12,.0f} {both / bound_seconds:8.1f}")
    print(f"{'bare SQL bound (features only)':<34} {bound_seconds:8.1f} {'(server)':>12} {1.0:8.1f}")
    print()
    print("detection of the injected rings:")
    for name, value in found.items():
        text = f"{value:,}" if isinstance(value, int) else f"{value:.4f}"
        print(f"  {name:<46} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="build the data set (replaces the database's data)")
    parser.add_argument("--keep-base", action="store_true", help="--prepare: redo only the realistic fields")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ring-share", type=float, default=0.02, help="--prepare: share of accounts in rings")
    parser.add_argument("--code-root", help="measure the moderation package found in this directory")
    parser.add_argument("--skip-train", action="store_true", help="measure the nightly batch only")
    parser.add_argument("--child", choices=("train", "screen"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False
    if args.child:
        child(args.child)
    elif args.prepare:
        prepare(seed=args.seed, keep_base=args.keep_base, ring_share=args.ring_share)
    else:
        measure(code_root=args.code_root, skip_train=args.skip_train)


if __name__ == "__main__":
    main()
