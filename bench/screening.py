"""Bench: vote screening (train + the nightly batch), against its full bound in bulk SQL and numpy.

    createdb -h 127.0.0.1 -U postgres screenbench                       # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/screenbench .venv/bin/python bench/screening.py \
        --prepare [--scale tiny|medium|full]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/screenbench .venv/bin/python bench/screening.py \
        [--rounds 3] [--code-root DIR] [--skip-train]

``--prepare`` builds the data once: ``bench/scoring.py``'s prepare at ``--scale`` (full: about 10 minutes,
500k users, ~3,000 campaigns, ~3M votes, ~20M factor scores; medium: a fifth of it; tiny: the demo's
sizes, for CI), then, in bulk SQL, gives the votes what screening reads as it looks on the site
(``--keep-base`` redoes only this step):

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

Every vote counts again, and screening's output (verdicts, screening cases and their messages, models)
is emptied. Random draws come from ``setseed()``; VACUUM ANALYZE at the end.

The default run, ``--rounds`` times: empty screening's output, then measure the job in a fresh child
process so that its peak memory is its own (VmHWM, reset per phase through ``/proc/self/clear_refs``):
``screening.screening_nightly()`` (train, then screen every vote, with one read), or, for code without
it (``--code-root``), ``screener_train()`` then ``votes_screen()``. Then the full bound (``bound()``):

1. features: one SQL statement (accounts per device and per network, accounts on one device / network
   on the product within two hours, votes on the product within the burst window, the rater's votes
   and span, straight lines, deviation from the product's mean, account age, other purchases, comment
   length and exact copies on the product) into an UNLOGGED table;
2. model scoring: those features into numpy and through the job's own stored forest;
3. verdict writes: the job's verdicts written again, after screening's output is emptied, by COPY and
   set-based statements (screenings, votes excluded or held, cases, messages to the authors);
   then the bound's result check: rows that differ from what the job wrote (0 expected).

Each child reports time and peak RSS per phase: reading (``rating_table``/``rating_tables``), features,
rules, the model (IsolationForest fit and scoring), applying verdicts, and the rest. Each round prints
its table with the ratio to the bound and the load averages; the first round's detection of the
injected rings follows (recall on the pushed votes, precision among flagged votes, genuine votes
wrongly excluded).

``--code-root DIR``: run the children with the ``moderation`` package found in DIR (an earlier copy
of the code, e.g. ``git archive main moderation | tar -x -C DIR``), to measure before and after on the
same data. The children run in DIR (Celery's Django fix-up puts the working directory first on
``sys.path``: run from the checkout, they measured the checkout's code whatever DIR said) and stop if
``moderation`` was imported from anywhere else.
"""

import argparse
import contextlib
import csv
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from django.urls import reverse  # noqa: E402

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


def screening_reset(*, keep_models: bool = False) -> None:
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
    sql(f"DELETE FROM accounts_notification WHERE kind = 'decision' AND subject_id IN ({cases})")
    sql("DELETE FROM moderation_case WHERE source = 'screening'")
    sql("TRUNCATE moderation_votescreening")
    if not keep_models:  # the bound writes the job's verdicts again, with the job's model
        sql("DELETE FROM moderation_screeningmodel")
    sql("UPDATE ratings_vote SET verdict = 'counted', exclusion_reason = '' WHERE verdict <> 'counted'")
    sql("UPDATE ratings_campaign SET rescore_requested_at = NULL WHERE rescore_requested_at IS NOT NULL")


def prepare(*, scale: str, seed: int, keep_base: bool, ring_share: float) -> None:
    wall = time.perf_counter()
    if not keep_base:
        from bench import scoring as scoring_bench

        scoring_bench.prepare(scale=scale, seed=seed, per_category=32, cap=100, purchase_days=560, voting=0.99)
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


#: Numeric columns of the bound's features, read into numpy for the model.
BOUND_COLUMNS = (
    "account_age_days, other_purchases, seconds_per_factor, straight::int, score_var, product_dev, product_votes,"
    " burst_votes, device_window, network_window, device_accounts, network_accounts, rater_votes,"
    " rater_span_days, rater_straight_share, comment_chars, comment_copies"
)

#: The job's output, kept to be written again by the bound and compared with what the bound wrote.
JOB_OUTPUT = """
    DROP TABLE IF EXISTS bench_job_screening, bench_job_vote, bench_job_case;
    CREATE UNLOGGED TABLE bench_job_screening AS
        SELECT vote_id, model_id, score, verdict, reasons FROM moderation_votescreening;
    CREATE UNLOGGED TABLE bench_job_vote AS
        SELECT id, user_id, verdict, exclusion_reason FROM ratings_vote WHERE verdict <> 'counted';
    CREATE UNLOGGED TABLE bench_job_case AS
        SELECT c.vote_id, c.status, c.outcome, c.priority, c.decided_by, count(n.id) AS told
          FROM moderation_case c
          LEFT JOIN accounts_notification n ON n.kind = 'decision' AND n.subject_id = c.id
         WHERE c.source = 'screening' GROUP BY c.id;
"""

#: The bound's writes, from the verdicts in ``bench_bound_verdicts``, on screening's emptied output (every
#: vote counting): screenings upserted (unchanged ones not written); then, leaving out votes whose case
#: managers or staff decided, votes excluded with a decided case each and their authors told, votes to
#: review held with an open case each, or, when a report's case is open already, held with that one.
#: Set-based, into the real tables with their indexes and triggers.
BOUND_WRITES = """
    INSERT INTO moderation_votescreening AS s (vote_id, model_id, score, verdict, reasons, screened_at)
    SELECT vote_id, %(model)s, score, verdict, reasons, now() FROM bench_bound_verdicts ORDER BY vote_id
    ON CONFLICT (vote_id) DO UPDATE
       SET model_id = excluded.model_id, score = excluded.score, verdict = excluded.verdict,
           reasons = excluded.reasons, screened_at = excluded.screened_at
     WHERE (s.model_id, s.verdict, s.reasons, s.score) IS DISTINCT FROM
           (excluded.model_id, excluded.verdict, excluded.reasons, excluded.score);
    DELETE FROM bench_bound_verdicts t
     WHERE EXISTS (SELECT 1 FROM moderation_case d
                    WHERE d.vote_id = t.vote_id AND NOT d.is_audit AND d.status = 'decided'
                      AND d.decided_by <> 'screening');
    UPDATE ratings_vote v
       SET verdict = CASE WHEN t.verdict = 'excluded' THEN 'excluded' ELSE 'review' END,
           exclusion_reason = CASE WHEN t.verdict = 'excluded' THEN 'screening' ELSE '' END, updated_at = now()
      FROM bench_bound_verdicts t
     WHERE t.vote_id = v.id AND v.verdict = 'counted'
       AND (t.verdict <> 'counted'
            OR EXISTS (SELECT 1 FROM moderation_case o
                        WHERE o.vote_id = t.vote_id AND NOT o.is_audit AND o.status <> 'decided'));
    WITH decided AS (
        INSERT INTO moderation_case (vote_id, rule_id, source, status, priority, reports_count, evidence, is_audit,
                                     audit_answer, outcome, decided_at, decided_by, created_at, updated_at)
        SELECT t.vote_id, %(rule)s, 'screening', 'decided', 1, 0,
               jsonb_build_object('score', round(t.score::numeric, 3), 'reasons', t.reasons), false,
               '', 'violates', now(), 'screening', now(), now()
          FROM bench_bound_verdicts t WHERE t.verdict = 'excluded' ORDER BY t.vote_id
        RETURNING id, vote_id
    )
    INSERT INTO accounts_notification (user_id, kind, subject_id, url, context, created_at, updated_at)
    SELECT v.user_id, 'decision', d.id, %(url_head)s || d.id || %(url_tail)s,
           jsonb_build_object('rule', %(rule)s, 'by', 'screening'), now(), now()
      FROM decided d JOIN ratings_vote v ON v.id = d.vote_id
    ON CONFLICT DO NOTHING;
    INSERT INTO moderation_case (vote_id, rule_id, source, status, priority, reports_count, evidence, is_audit,
                                 audit_answer, outcome, decided_by, created_at, updated_at)
    SELECT t.vote_id, %(rule)s, 'screening', 'open', 1 + round(3 * t.score)::int, 0,
           jsonb_build_object('score', round(t.score::numeric, 3), 'reasons', t.reasons),
           false, '', '', '', now(), now()
      FROM bench_bound_verdicts t WHERE t.verdict = 'review' ORDER BY t.vote_id
    ON CONFLICT DO NOTHING;
"""

#: Rows that differ between what the job left and what the bound wrote (screenings, votes, cases).
BOUND_CHECK = """
    SELECT (SELECT count(*) FROM (
              (SELECT vote_id, model_id, score, verdict, reasons FROM bench_job_screening
               EXCEPT ALL SELECT vote_id, model_id, score, verdict, reasons FROM moderation_votescreening)
              UNION ALL
              (SELECT vote_id, model_id, score, verdict, reasons FROM moderation_votescreening
               EXCEPT ALL SELECT vote_id, model_id, score, verdict, reasons FROM bench_job_screening)) d),
           (SELECT count(*) FROM (
              (SELECT id, user_id, verdict, exclusion_reason FROM bench_job_vote
               EXCEPT ALL SELECT id, user_id, verdict, exclusion_reason FROM ratings_vote WHERE verdict <> 'counted')
              UNION ALL
              (SELECT id, user_id, verdict, exclusion_reason FROM ratings_vote WHERE verdict <> 'counted'
               EXCEPT ALL SELECT id, user_id, verdict, exclusion_reason FROM bench_job_vote)) d),
           (SELECT count(*) FROM (
              (SELECT vote_id, status, outcome, priority, decided_by, told FROM bench_job_case
               EXCEPT ALL SELECT vote_id, status, outcome, priority, decided_by, told FROM bound_case)
              UNION ALL
              (SELECT vote_id, status, outcome, priority, decided_by, told FROM bound_case
               EXCEPT ALL SELECT vote_id, status, outcome, priority, decided_by, told FROM bench_job_case)) d)
"""
BOUND_CASES = """
    CREATE TEMP TABLE bound_case ON COMMIT DROP AS
    SELECT c.vote_id, c.status, c.outcome, c.priority, c.decided_by, count(n.id) AS told
      FROM moderation_case c
      LEFT JOIN accounts_notification n ON n.kind = 'decision' AND n.subject_id = c.id
     WHERE c.source = 'screening' GROUP BY c.id
"""


@dataclass
class Bound:
    """The full bound's phases (seconds) and its result check (rows that differ from the job's output)."""

    features: float
    model: float
    writes: float
    rows: int
    differ: tuple[int, int, int]

    @property
    def seconds(self) -> float:
        return self.features + self.model + self.writes


def bound() -> Bound:
    """An independent best form of the nightly batch's work on the same data, after the job has run:

    1. features: one SQL statement (``BOUND``) into an UNLOGGED table;
    2. model scoring: those features into numpy and through the job's own stored forest (the same trees,
       as many columns as it was fitted on), a score and a verdict per vote in array arithmetic;
    3. writes: the job's verdicts (held in memory, as the job holds its own) written again after
       screening's output is emptied, by COPY into a temporary table and set-based statements
       (``BOUND_WRITES``); then compared with what the job wrote: 0 rows may differ.

    The features are SQL forms of the screening signals, not the fraud package's exact values: the
    check is on what is written (screenings, votes, cases, messages), where the job and bound must agree.
    """
    from moderation.fraud.models import Screener
    from moderation.screening import current_model, screening_rule

    model = current_model()
    if model is None:
        raise SystemExit("no current screening model: the job did not run")
    screener = Screener.from_bytes(bytes(model.artefact))
    forest = screener._forest  # noqa: SLF001 - the bound scores with the job's own trees
    sql(JOB_OUTPUT)
    verdicts = sql_rows("SELECT vote_id, score, verdict, reasons::text FROM bench_job_screening ORDER BY vote_id")
    rule = screening_rule().pk
    head, tail = reverse("moderation:decision", kwargs={"pk": 987654321}).split("987654321")

    sql("DROP TABLE IF EXISTS bench_screen_bound")
    sql("CHECKPOINT")
    started = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = '256MB'")
        rows = sql(BOUND)
    features = time.perf_counter() - started

    started = time.perf_counter()
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY (SELECT {BOUND_COLUMNS} FROM bench_screen_bound) TO STDOUT WITH (FORMAT csv)", buffer
        )
    buffer.seek(0)
    matrix = np.loadtxt(buffer, delimiter=",", ndmin=2) if rows else np.empty((0, 17))
    width = forest.n_features_in_
    matrix = np.log1p(np.abs(np.nan_to_num(matrix)))[:, np.arange(width) % matrix.shape[1]]
    anomaly = -forest.score_samples(matrix) if len(matrix) else np.empty(0)
    quantiles = screener._quantiles  # noqa: SLF001
    score = np.clip(np.searchsorted(quantiles, anomaly, side="right") / len(quantiles), 0, 1)
    np.where(score >= screener.review_at, "review", "counted")
    model_seconds = time.perf_counter() - started

    screening_reset(keep_models=True)
    started = time.perf_counter()
    with transaction.atomic():
        sql("CREATE TEMP TABLE bench_bound_verdicts (vote_id bigint, score float8, verdict text, reasons jsonb)")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(verdicts)
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert("COPY bench_bound_verdicts FROM STDIN WITH (FORMAT csv)", buffer)
        sql("ANALYZE bench_bound_verdicts")
        sql(BOUND_WRITES, {"model": model.pk, "rule": rule, "url_head": head, "url_tail": tail})
        sql("DROP TABLE bench_bound_verdicts")
    writes = time.perf_counter() - started
    with transaction.atomic():
        sql(BOUND_CASES)
        differ = sql_rows(BOUND_CHECK)[0]
    return Bound(features, model_seconds, writes, rows, (int(differ[0]), int(differ[1]), int(differ[2])))


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

    wanted = Path(_moderation_path(_code_root_from_argv())).resolve()
    if Path(screening.__file__).resolve().parent != wanted:
        raise SystemExit(f"measuring the wrong code: moderation was imported from {screening.__file__}, not {wanted}")
    # re-scores are enqueued (to an in-process broker nobody reads), not run inline as eagerly would
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    settings.DEBUG = False

    phases = Phases()
    phases.wrap(screening, "rating_table", "read")
    if hasattr(screening, "rating_tables"):
        phases.wrap(screening, "rating_tables", "read")
    phases.wrap(fraud_models, "rater_features", "features")
    phases.wrap(fraud_models, "apply_rules", "rules")
    phases.wrap(IsolationForest, "fit", "model")
    phases.wrap(IsolationForest, "score_samples", "model")
    phases.wrap(screening, "_verdicts_apply", "apply")
    _hwm_reset()
    started = time.perf_counter()
    cpu = time.process_time()
    outcome: dict[str, Any]
    if job == "nightly":
        model, result = screening.screening_nightly()
        outcome = {"version": model.version, "screened": result.screened, "excluded": result.excluded}
        outcome.update({"review": result.review, "counted_again": result.counted_again})
    elif job == "train":
        model = screening.screener_train()
        outcome = {"version": model.version, "training_votes": model.training_votes}
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
        code_root = str(Path(code_root).resolve())
        command += ["--code-root", code_root]
    sql("CHECKPOINT")
    print(f"{job}: starting (load average {load_average()})", flush=True)
    # in the code root's directory: Celery's Django fix-up puts the working directory first on sys.path,
    # which would shadow an earlier copy of the moderation package with the checkout's
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=code_root or ROOT)  # noqa: S603 - our own script
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


def measure(*, code_root: str | None, skip_train: bool, rounds: int) -> None:
    counts = sql_rows(
        "SELECT (SELECT count(*) FROM ratings_vote), (SELECT count(DISTINCT user_id) FROM ratings_vote),"
        " (SELECT count(*) FROM ratings_factorscore)"
    )[0]
    print(f"data: {counts[0]:,} votes, {counts[1]:,} raters, {counts[2]:,} factor scores")
    print(f"code: {code_root or ROOT} (moderation from {_moderation_path(code_root)})")
    # the nightly job trains and screens with one read when the code has it; else train, then screen
    nightly = (
        not skip_train and "def screening_nightly(" in (Path(_moderation_path(code_root)) / "screening.py").read_text()
    )
    jobs = ["screen"] if skip_train else ["nightly"] if nightly else ["train", "screen"]
    found: dict[str, float] = {}
    for number in range(1, rounds + 1):
        print(f"--- round {number} of {rounds}", flush=True)
        screening_reset()
        results = {job: run_child(job, code_root) for job in jobs}
        if number == 1:
            found = detection()
        sql("CHECKPOINT")
        loads = load_average()
        print(f"bound: starting (load average {loads})", flush=True)
        measured = bound()
        print(
            f"bound: {measured.seconds:.1f} s (features {measured.features:.1f}, model {measured.model:.1f},"
            f" writes {measured.writes:.1f}), {measured.rows:,} rows; rows that differ from the job's:"
            f" screenings {measured.differ[0]}, votes {measured.differ[1]}, cases {measured.differ[2]}"
            f" (load average {load_average()})",
            flush=True,
        )
        report(results, measured)
    print()
    print("detection of the injected rings:")
    for name, value in found.items():
        text = f"{value:,}" if isinstance(value, int) else f"{value:.4f}"
        print(f"  {name:<46} {text}")


def _moderation_path(code_root: str | None) -> str:
    return str(Path(code_root) / "moderation") if code_root else str(ROOT / "moderation")


def report(results: dict[str, dict[str, Any]], measured: Bound) -> None:
    print()
    print(f"{'job':<34} {'seconds':>8} {'peak RSS MB':>12} {'x bound':>8}")
    names = {
        "nightly": "screening_nightly() (train + screen)",
        "train": "screener_train()",
        "screen": "votes_screen() (nightly batch)",
    }
    for job, figures in results.items():
        ratio = figures["seconds"] / measured.seconds
        print(f"{names[job]:<34} {figures['seconds']:8.1f} {figures['peak_mb']:12,.0f} {ratio:8.2f}")
        for phase, (seconds, peak) in sorted(figures["phases"].items(), key=lambda kv: -kv[1][0]):
            calls = figures["calls"].get(phase, 1)
            print(f"  {phase + (f' ({calls} calls)' if calls > 1 else ''):<32} {seconds:8.1f} {peak:12,.0f}")
    if len(results) == 2:
        both = results["train"]["seconds"] + results["screen"]["seconds"]
        peak = max(r["peak_mb"] for r in results.values())
        print(f"{'train + screen':<34} {both:8.1f} {peak:12,.0f} {both / measured.seconds:8.2f}")
    print(f"{'full bound (bulk SQL + numpy)':<34} {measured.seconds:8.1f} {'':>12} {1.0:8.2f}")
    print(f"  {'features (SQL)':<32} {measured.features:8.1f}")
    print(f"  {'model scoring (numpy)':<32} {measured.model:8.1f}")
    print(f"  {'verdict writes (COPY + SQL)':<32} {measured.writes:8.1f}")
    print(f"bound's result check: {sum(measured.differ)} rows differ from the job's output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="build the data set (replaces the database's data)")
    parser.add_argument("--keep-base", action="store_true", help="--prepare: redo only the realistic fields")
    parser.add_argument(
        "--scale",
        choices=("tiny", "medium", "full"),
        default="full",
        help="--prepare: how much data (bench/scoring.py's scales: tiny seconds, medium minutes, full ~10 minutes)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ring-share", type=float, default=0.02, help="--prepare: share of accounts in rings")
    parser.add_argument("--code-root", help="measure the moderation package found in this directory")
    parser.add_argument("--skip-train", action="store_true", help="measure the nightly batch only")
    parser.add_argument("--rounds", type=int, default=1, help="job and bound this many times")
    parser.add_argument("--child", choices=("train", "screen", "nightly"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False
    if args.child:
        child(args.child)
    elif args.prepare:
        prepare(scale=args.scale, seed=args.seed, keep_base=args.keep_base, ring_share=args.ring_share)
    else:
        measure(code_root=args.code_root, skip_train=args.skip_train, rounds=args.rounds)


if __name__ == "__main__":
    main()
