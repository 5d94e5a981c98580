"""Bench: "Nothing lost, no one let in" -- shoppers, purchasers and managers at once, then a check of the data.

    .venv/bin/python bench/mixed_load.py --prepare         # drop, create, migrate, seed the demo (~20 s)
    .venv/bin/python bench/mixed_load.py [--seconds 30] [--healthz-seconds 10] [--warmup 2] \\
        [--shoppers 8] [--purchasers 4] [--managers 3] [--intruders 1] [--client-processes 2] \\
        [--workers 4] [--rescore-delay 2] [--drain-timeout 180] [--seed 42]

Defaults: database postgres://postgres@127.0.0.1:5432/mixedbench (this bench's own; ``--prepare`` drops and
recreates it, then runs ``seed --scale demo --flush`` through bench/product_page_load.py's ``prepare``),
Redis redis://127.0.0.1:6379/13 (broker and cache; flushed at the start of every run).

Every run, before the load (through the app's own services, so the state is what users would make):

* RatingPolicy.rescore_delay_seconds is set to ``--rescore-delay`` (re-scores run during the load) and
  ModerationPolicy.daily_cap raised (so repeated runs on one day do not hit the managers' cap); both are
  put back at the end;
* ``--purchaser-pool`` accepted invitations in open campaigns (pending ones are accepted with
  ``ratings.services.invitation_accept`` if there are too few), ``--manager-pool`` managers
  (``moderation.services.manager_grant``) and ``--cases`` open cases about votes
  (``moderation.services.case_open_for_review``, which holds the vote for review and re-scores it);
* a database session per signed-in client (SessionStore, as ``login`` writes it; the random SECRET_KEY
  of the run signs it, so sessions are made per run and deleted at the end).

Then it starts a real Celery worker (prefork, 2 processes, the same production settings) and waits until
it has drained what the preparation enqueued; checks the scores once (the baseline); starts gunicorn
(``--workers`` sync workers, production settings as in product_page_load.py: DEBUG off, HTTPS behind
the trusted proxy header, whitenoise with a collectstatic into a temporary directory); measures
``/healthz/`` alone (``--healthz-seconds``) with the same client, the reference bound; then the mixed load
for ``--warmup`` + ``--seconds`` (only requests started and finished in the measured window count in the
table; every vote and manager vote sent at any time is checked afterwards).

The client is this file, standard library only: ``--client-processes`` spawned processes with threads and
``http.client``, a fresh TCP connection per request (gunicorn's sync workers close it anyway), a cookie
jar per signed-in identity. Roles (threads):

* shoppers: the home page, category pages (some ``?page=2``) and product pages (rated and unrated, some
  ``?page=2``), 60 % anonymous (no cookie: the cached path), 40 % signed in;
* purchasers: each owns some users with accepted invitations; GET the vote form, POST it with the CSRF
  token, the signed ``started`` token and a random valid score per factor (and a comment, often), follow
  the redirect and read the message (success / warning / error); about a third of the flows re-open an
  already voted invitation and amend it;
* managers: GET /moderation/, pick a case shown, POST moderation:case_vote (3 in 4 as the page's script
  does, ``Accept: application/json``: 200 ok / 409 refused; else a form post, 302, message read after the
  redirect); they mostly agree on a case's "truth", so cases get decided and votes re-scored;
* intruders (no one let in): anonymous POST of a vote (302 to the login), another user's invitation
  (404), a vote POST without the CSRF token (403), a case vote by a non-manager (403), a manager's case
  vote without the CSRF token (403).

Afterwards: wait for the worker to drain (the broker's queue and unacked set empty, no campaign flagged
for a re-score, stable for two seconds), then verify

(a) every vote the server accepted (302 and a "success" message) is in the database with the scores and
    comment last accepted, and its amendments are all kept (VoteRevision rows hold the earlier accepted
    submissions, in order; revision_count counts them); every accepted manager vote is stored; no case
    holds more than ``quorum_most`` deciding votes (the adaptive quorum's ceiling), none is left open with that
    many; decided vote cases left the
    vote excluded or counted as decided; nothing an intruder sent was stored, and each was refused with
    the status expected;
(b) every product with a campaign: its latest ProductResult (exactly one) equals a clean recomputation
    from the FactorScores of its latest campaign's counted votes (``ratings.scoring._compute`` on
    histograms counted here, with the category prior of the last full run), and Product.rating_score,
    ranking_score and rated_by equal that result;
(c) the anonymous (cached) product pages of the products touched during the run show the stored score.

and print "verified: N votes, M products, K mismatches". Exit status 1 on any 5xx, exception,
unexpected status, or mismatch.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import product_page_load as plb  # bench/ is sys.path[0] when this file runs as a script

HOST = plb.HOST
ORIGIN = f"https://{HOST}"
OTHER_BENCHES = {"loadbench", "scorebench", "modbench"}
# Django is imported lazily: the spawned client processes import this module and stay light.


# --- The client (spawned processes: standard library only) ----------------------------------------


CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
STARTED_INPUT = re.compile(rb'name="started" value="([^"]+)"')
FACTOR_INPUT = re.compile(rb'name="(factor_\d+)"')
MESSAGE = re.compile(rb'<p class="message (\w+)">')
CASE_ARTICLE = re.compile(rb'data-case="(\d+)"')
COMMENTS = ["", "", "用了一个月，效果稳定。", "Works as described.", "包装很好，会回购。"]


@dataclass
class Jar:
    """The cookies of one signed-in (or anonymous) identity."""

    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def update(self, set_cookies: list[str]) -> None:
        for line in set_cookies:
            pair, *attributes = line.split(";")
            name, _, value = pair.strip().partition("=")
            lowered = [a.strip().lower() for a in attributes]
            if value in ("", '""') or "max-age=0" in lowered or any("1970" in a for a in lowered):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


@dataclass
class Response:
    status: int  # -1: an exception (no response)
    body: bytes = b""
    location: str = ""
    error: str = ""


class Recorder:
    """Every request of a thread: (action, started, finished, status, error)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, int, str]] = []

    def request(
        self,
        port: int,
        action: str,
        method: str,
        path: str,
        jar: Jar | None = None,
        form: dict[str, str] | None = None,
        accept: str = "text/html",
        user_agent: str = "mixed_load",
    ) -> Response:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "User-Agent": user_agent,
            "Accept": accept,
            "Accept-Language": "zh-hans",
        }
        body = None
        if jar is not None and jar.cookies:
            headers["Cookie"] = jar.header()
        if method == "POST":
            body = urlencode(form or {}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = ORIGIN
            headers["Referer"] = f"{ORIGIN}{path}"
        started = time.time()
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            data = raw.read()
            if jar is not None:
                jar.update(raw.headers.get_all("Set-Cookie") or [])
            response = Response(raw.status, data, raw.headers.get("Location", ""))
        except (OSError, http.client.HTTPException) as exc:
            response = Response(-1, error=type(exc).__name__)
        finally:
            connection.close()
        self.rows.append((action, started, time.time(), response.status, response.error))
        return response


def _message(body: bytes) -> str:
    found = MESSAGE.search(body)
    return found.group(1).decode() if found else ""


def _path(location: str) -> str:
    parsed = urlparse(location)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def shopper(port: int, plan: dict[str, Any], rng: random.Random, end: float, rec: Recorder) -> None:
    jars = [Jar({"sessionid": key}) for key in plan["shopper_sessions"]]
    while time.time() < end:
        signed_in = rng.random() < 0.4
        jar = rng.choice(jars) if signed_in else None
        who = "signed in" if signed_in else "anonymous"
        draw = rng.random()
        if draw < 0.65:
            slug = rng.choice(plan["rated"] if rng.random() < 0.8 else plan["unrated"])
            page, path = "product", f"/products/{slug}/" + ("?page=2" if rng.random() < 0.15 else "")
        elif draw < 0.85:
            page, path = "category", f"/categories/{rng.choice(plan['categories'])}/"
            path += "?page=2" if rng.random() < 0.2 else ""
        else:
            page, path = "home", "/"
        rec.request(port, f"{page} ({who})", "GET", path, jar=Jar(dict(jar.cookies)) if jar else None)


def purchaser(port: int, plan: dict[str, Any], rng: random.Random, end: float, rec: Recorder, out: list[Any]) -> None:
    """One thread's purchasers, one flow after the other: a first vote, or an amendment of one it made."""
    identities = plan["purchasers"]  # [session key, user agent, [invitation ids]]
    jars = {key: Jar({"sessionid": key}) for key, _, _ in identities}
    fresh = [(key, agent, pk) for key, agent, pks in identities for pk in pks]
    rng.shuffle(fresh)
    voted: list[tuple[str, str, int]] = []
    while time.time() < end and (fresh or voted):
        amend = bool(voted) and (not fresh or rng.random() < 0.33)
        key, agent, pk = rng.choice(voted) if amend else fresh.pop()
        kind = "amend" if amend else "vote"
        jar = jars[key]
        form_page = rec.request(port, f"{kind}: form GET", "GET", f"/invitations/{pk}/vote/", jar=jar, user_agent=agent)
        csrf, started = CSRF_INPUT.search(form_page.body), STARTED_INPUT.search(form_page.body)
        factors = sorted({m.decode() for m in FACTOR_INPUT.findall(form_page.body)})
        if form_page.status != 200 or not (csrf and started and factors):
            out.append({"invitation": pk, "kind": kind, "outcome": f"no form ({form_page.status})"})
            continue
        scores = {name: rng.randint(1, 5) for name in factors}
        comment = rng.choice(COMMENTS)
        if comment:
            comment += f" #{rng.randrange(10**6)}"
        form = {
            "csrfmiddlewaretoken": csrf.group(1).decode(),
            "started": started.group(1).decode(),
            "comment": comment,
            **{name: str(score) for name, score in scores.items()},
        }
        posted = rec.request(port, f"{kind}: POST", "POST", f"/invitations/{pk}/vote/", jar, form, user_agent=agent)
        record = {
            "invitation": pk,
            "kind": kind,
            "scores": {name.removeprefix("factor_"): score for name, score in scores.items()},
            "comment": comment.strip(),
            "status": posted.status,
            "sent_at": time.time(),
        }
        if posted.status == 302 and _path(posted.location) == f"/invitations/{pk}/":
            result = rec.request(port, f"{kind}: result page", "GET", f"/invitations/{pk}/", jar=jar, user_agent=agent)
            message = _message(result.body) if result.status == 200 else ""
            record["outcome"] = {"success": "accepted", "warning": "already rated", "error": "refused"}.get(
                message, f"unknown ({result.status}, {message or 'no message'})"
            )
        elif posted.status == 200:
            record["outcome"] = "form errors"
        else:
            record["outcome"] = f"status {posted.status}"
        out.append(record)
        if record["outcome"] == "accepted" and kind == "vote":
            voted.append((key, agent, pk))


def manager(port: int, plan: dict[str, Any], rng: random.Random, end: float, rec: Recorder, out: list[Any]) -> None:
    identities = [(manager_id, Jar({"sessionid": key})) for manager_id, key in plan["managers"]]
    turn = 0
    while time.time() < end:
        manager_id, jar = identities[turn % len(identities)]
        turn += 1
        page = rec.request(port, "manager: dashboard GET", "GET", "/moderation/", jar=jar)
        cases = [int(pk) for pk in CASE_ARTICLE.findall(page.body)]
        csrf = CSRF_INPUT.search(page.body)
        if page.status != 200 or not cases or not csrf:
            continue
        case_id = rng.choice(cases)
        truth, other = ("violates", "complies") if case_id % 3 else ("complies", "violates")
        draw = rng.random()
        choice = truth if draw < 0.85 else other if draw < 0.95 else "skip"
        form = {"csrfmiddlewaretoken": csrf.group(1).decode(), "choice": choice}
        record = {"manager": manager_id, "case": case_id, "choice": choice}
        if rng.random() < 0.75:
            posted = rec.request(
                port, "manager: case vote POST (json)", "POST", f"/moderation/cases/{case_id}/vote/", jar, form,
                accept="application/json",
            )  # fmt: skip
            try:
                ok = json.loads(posted.body).get("ok") if posted.status in (200, 409) else None
            except ValueError:
                ok = None
            record["outcome"] = {True: "accepted", False: "refused"}.get(ok, f"status {posted.status}")  # type: ignore[arg-type]
        else:
            posted = rec.request(
                port, "manager: case vote POST (form)", "POST", f"/moderation/cases/{case_id}/vote/", jar, form
            )
            if posted.status == 302 and _path(posted.location) == "/moderation/":
                after = rec.request(port, "manager: dashboard GET", "GET", "/moderation/", jar=jar)
                message = _message(after.body) if after.status == 200 else ""
                # a vote the manager can still undo is named once, beside its undo button, with no message
                if not message and f'action="/moderation/cases/{case_id}/undo/"'.encode() in after.body:
                    message = "success"
                record["outcome"] = {"success": "accepted", "error": "refused"}.get(message, f"unknown ({message})")
            else:
                record["outcome"] = f"status {posted.status}"
        out.append(record)


INTRUSIONS = (
    # (action, expected status)
    ("intruder: anonymous vote POST", 302),
    ("intruder: vote on another's invitation", 404),
    ("intruder: vote POST without CSRF token", 403),
    ("intruder: case vote by a non-manager", 403),
    ("intruder: case vote without CSRF token", 403),
)


def intruder(port: int, plan: dict[str, Any], rng: random.Random, end: float, rec: Recorder, out: list[Any]) -> None:
    """Requests that must be refused; each records its status and whether it matched the expected one."""
    turn = 0
    while time.time() < end:
        action, expected = INTRUSIONS[turn % len(INTRUSIONS)]
        turn += 1
        victim = rng.choice(plan["victims"])  # [invitation id, owner's session key, [factor field names]]
        token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
        scores = {name: "5" for name in victim[2]}
        forged = {"csrfmiddlewaretoken": token, "started": "x", "comment": "let me in", **scores}
        vote_path = f"/invitations/{victim[0]}/vote/"
        case_path = f"/moderation/cases/{rng.choice(plan['open_cases'])}/vote/"
        if action == "intruder: anonymous vote POST":
            response = rec.request(port, action, "POST", vote_path, Jar({"csrftoken": token}), forged)
            ok = response.status == expected and urlparse(response.location).path == "/accounts/login/"
        elif action == "intruder: vote on another's invitation":
            jar = Jar({"sessionid": plan["intruder_session"], "csrftoken": token})
            response = rec.request(port, action, "POST", vote_path, jar, forged)
            ok = response.status == expected
        elif action == "intruder: vote POST without CSRF token":
            # The owner's own session, as a forged cross-site post would carry it: the token is missing.
            response = rec.request(port, action, "POST", vote_path, Jar({"sessionid": victim[1]}), scores)
            ok = response.status == expected
        elif action == "intruder: case vote by a non-manager":
            jar = Jar({"sessionid": plan["intruder_session"], "csrftoken": token})
            form = {"csrfmiddlewaretoken": token, "choice": "violates"}
            response = rec.request(port, action, "POST", case_path, jar, form, accept="application/json")
            ok = response.status == expected
        else:
            jar = Jar({"sessionid": plan["victim_manager_session"]})
            response = rec.request(port, action, "POST", case_path, jar, {"choice": "violates"})
            ok = response.status == expected
        out.append({"action": action, "status": response.status, "as_expected": ok})
        time.sleep(0.05)


def healthz(port: int, plan: dict[str, Any], rng: random.Random, end: float, rec: Recorder) -> None:
    while time.time() < end:
        rec.request(port, "/healthz/", "GET", "/healthz/")


def client_process(
    port: int, roles: list[tuple[str, dict[str, Any]]], seed: int, start_at: float, end: float, out: Any
) -> None:
    """Runs one thread per role until `end`; puts (request rows, votes, manager votes, intrusions) on `out`."""
    recorders = [Recorder() for _ in roles]
    votes: list[Any] = []
    case_votes: list[Any] = []
    intrusions: list[Any] = []

    def run(number: int, role: str, plan: dict[str, Any]) -> None:
        rng = random.Random(seed * 1000 + number)
        time.sleep(max(0.0, start_at - time.time()))
        rec = recorders[number]
        if role == "shopper":
            shopper(port, plan, rng, end, rec)
        elif role == "purchaser":
            purchaser(port, plan, rng, end, rec, votes)
        elif role == "manager":
            manager(port, plan, rng, end, rec, case_votes)
        elif role == "intruder":
            intruder(port, plan, rng, end, rec, intrusions)
        else:
            healthz(port, plan, rng, end, rec)

    threads = [threading.Thread(target=run, args=(n, role, plan)) for n, (role, plan) in enumerate(roles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(([row for rec in recorders for row in rec.rows], votes, case_votes, intrusions))


@dataclass
class Outcome:
    rows: list[tuple[str, float, float, int, str]]
    window: tuple[float, float]
    votes: list[dict[str, Any]]
    case_votes: list[dict[str, Any]]
    intrusions: list[dict[str, Any]]

    def measured(self) -> list[tuple[str, float, float, int, str]]:
        begin, end = self.window
        return [row for row in self.rows if row[1] >= begin and row[2] <= end]

    @property
    def seconds(self) -> float:
        return self.window[1] - self.window[0]


def run_load(
    port: int, roles: list[tuple[str, dict[str, Any]]], processes: int, warmup: float, seconds: float, seed: int
) -> Outcome:
    """Spreads the roles over `processes` spawned client processes and runs them for warmup + seconds."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 2.0  # time for the spawned processes to start
    window = (start_at + warmup, start_at + warmup + seconds)
    shares = [roles[i::processes] for i in range(processes)]
    clients = [
        context.Process(target=client_process, args=(port, share, seed + i, start_at, window[1], out), daemon=True)
        for i, share in enumerate(shares)
        if share
    ]
    for client in clients:
        client.start()
    results = [out.get(timeout=warmup + seconds + 300) for _ in clients]
    for client in clients:
        client.join(timeout=30)
    return Outcome(
        rows=[row for r in results for row in r[0]],
        window=window,
        votes=[v for r in results for v in r[1]],
        case_votes=[v for r in results for v in r[2]],
        intrusions=[v for r in results for v in r[3]],
    )


# --- The state the load needs (this process, Django, the run's production settings) ----------------


@dataclass
class State:
    shopper_sessions: list[str]
    purchasers: list[tuple[int, str, list[int]]]  # (user id, session key, accepted invitation ids)
    managers: list[tuple[int, str]]  # (user id, session key)
    intruder: tuple[int, str]
    victim_manager: tuple[int, str]
    victims: list[list[Any]]  # [invitation id, owner's session key, factor field names]
    open_cases: list[int]
    rated: list[str]
    unrated: list[str]
    categories: list[str]
    started_at: Any
    sessions: list[str] = field(default_factory=list)


def session_for(user: Any) -> str:
    """A signed-in session, as django.contrib.auth.login writes it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def policies_set(args: argparse.Namespace) -> tuple[int, int]:
    from moderation.models import ModerationPolicy
    from moderation.services import policy_get as moderation_policy
    from ratings.eligibility import policy_get
    from ratings.models import RatingPolicy

    before = (policy_get().rescore_delay_seconds, moderation_policy().daily_cap)
    RatingPolicy.objects.filter(pk=1).update(rescore_delay_seconds=args.rescore_delay)
    ModerationPolicy.objects.filter(pk=1).update(daily_cap=30_000)
    return before


def policies_restore(before: tuple[int, int]) -> None:
    from moderation.models import ModerationPolicy
    from ratings.models import RatingPolicy

    RatingPolicy.objects.filter(pk=1).update(rescore_delay_seconds=before[0])
    ModerationPolicy.objects.filter(pk=1).update(daily_cap=before[1])


def state_prepare(args: argparse.Namespace) -> State:
    """Purchasers, managers, open cases and sessions for this run, topped up through the services."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from accounts.models import User
    from catalog.models import Category, Product
    from moderation import services as moderation
    from moderation.models import Case, ManagerTerm, Rule
    from ratings import services as ratings
    from ratings.models import CampaignFactor, Invitation, Vote

    now = timezone.now()
    open_campaign = {"campaign__status": "open", "campaign__opens_at__lte": now, "campaign__closes_at__gt": now}
    eligible = User.objects.filter(is_banned=False, is_staff=False, is_active=True)
    active_managers = set(
        ManagerTerm.objects.filter(status=ManagerTerm.Status.ACTIVE, ends_at__gt=now).values_list("user_id", flat=True)
    )
    accepted = Invitation.objects.filter(status=Invitation.Status.ACCEPTED, user__in=eligible, **open_campaign).exclude(
        user_id__in=active_managers
    )
    wanted = args.purchaser_pool + 10  # ten for the intruders
    missing = wanted - accepted.count()
    if missing > 0:
        pending = (
            Invitation.objects.filter(
                status=Invitation.Status.PENDING, expires_at__gt=now, user__in=eligible, **open_campaign
            )
            .exclude(user_id__in=active_managers)
            .select_related("user")
            .order_by("pk")[:missing]
        )
        accepted_now = 0
        for invitation in pending:
            try:
                ratings.invitation_accept(invitation=invitation, user=invitation.user)
                accepted_now += 1
            except ratings.RatingError:
                continue
        print(f"accepted {accepted_now} pending invitations (invitation_accept)")
    by_user: dict[int, list[int]] = defaultdict(list)
    for pk, user_id in accepted.order_by("pk").values_list("pk", "user_id")[:wanted]:
        by_user[user_id].append(pk)
    users = sorted(by_user)
    victim_users, purchaser_users = users[:3], users[3:]
    if len(purchaser_users) < 10:
        raise SystemExit(f"only {len(purchaser_users)} users with accepted invitations: run with --prepare")

    taken = set(users)
    candidates = list(
        eligible.exclude(pk__in=taken).exclude(pk__in=active_managers).order_by("pk").values_list("pk", flat=True)
    )
    for user in User.objects.filter(pk__in=candidates[: max(0, args.manager_pool + 1 - len(active_managers))]):
        moderation.manager_grant(user=user)
    manager_ids = sorted(
        ManagerTerm.objects.filter(status=ManagerTerm.Status.ACTIVE, ends_at__gt=now).values_list("user_id", flat=True)
    )
    victim_manager_id, manager_ids = manager_ids[0], manager_ids[1 : args.manager_pool + 1]
    taken |= set(ManagerTerm.objects.filter(status=ManagerTerm.Status.ACTIVE).values_list("user_id", flat=True))
    others = [pk for pk in candidates if pk not in taken]
    intruder_id, shopper_ids = others[0], others[1:41]

    rule = Rule.objects.filter(active=True).order_by("position", "pk").first()
    has_case = Case.objects.filter(vote=OuterRef("pk"))
    open_count = Case.objects.filter(status=Case.Status.OPEN, is_audit=False).count()
    if open_count < args.cases and rule is not None:
        # Spread over the products as screening and reports would: the n-th vote of every campaign in turn.
        per_campaign: dict[int, list[int]] = defaultdict(list)
        for pk, campaign_id in (
            Vote.objects.filter(verdict=Vote.Verdict.COUNTED)
            .filter(~Exists(has_case))
            .exclude(user_id__in=[*manager_ids, victim_manager_id])
            .order_by("pk")
            .values_list("pk", "campaign_id")
        ):
            per_campaign[campaign_id].append(pk)
        spread = [pk for row in zip_longest(*per_campaign.values()) for pk in row if pk is not None]
        chosen = Vote.objects.in_bulk(spread[: args.cases - open_count])
        for vote in chosen.values():
            moderation.case_open_for_review(vote=vote, rule=rule, evidence={"bench": "mixed_load"})
        print(f"opened {len(chosen)} cases about votes (case_open_for_review) over {len(per_campaign)} campaigns")

    sessions: list[str] = []

    def sign_in(user_id: int) -> str:
        key = session_for(User.objects.get(pk=user_id))
        sessions.append(key)
        return key

    fields_of: dict[int, list[str]] = defaultdict(list)
    victim_invitations = [(pk, user_id) for user_id in victim_users for pk in by_user[user_id]]
    for campaign_factor, invitation_id in CampaignFactor.objects.filter(
        campaign__invitations__pk__in=[pk for pk, _ in victim_invitations]
    ).values_list("pk", "campaign__invitations__pk"):
        fields_of[invitation_id].append(f"factor_{campaign_factor}")
    victim_sessions = {user_id: sign_in(user_id) for user_id in victim_users}
    products = Product.objects.filter(is_active=True)
    state = State(
        shopper_sessions=[sign_in(pk) for pk in shopper_ids],
        purchasers=[(user_id, sign_in(user_id), by_user[user_id]) for user_id in purchaser_users],
        managers=[(pk, sign_in(pk)) for pk in manager_ids],
        intruder=(intruder_id, sign_in(intruder_id)),
        victim_manager=(victim_manager_id, sign_in(victim_manager_id)),
        victims=[[pk, victim_sessions[user_id], fields_of[pk]] for pk, user_id in victim_invitations],
        open_cases=list(Case.objects.filter(status=Case.Status.OPEN).values_list("pk", flat=True)[:50]),
        rated=sorted(products.filter(rating_score__isnull=False).values_list("slug", flat=True)),
        unrated=sorted(products.filter(rating_score__isnull=True).values_list("slug", flat=True)),
        categories=sorted(Category.objects.filter(products__isnull=False).distinct().values_list("slug", flat=True)),
        started_at=timezone.now(),
        sessions=sessions,
    )
    print(
        f"{len(state.purchasers)} purchasers holding {sum(len(p[2]) for p in state.purchasers)} accepted invitations,"
        f" {len(state.managers)} managers, {Case.objects.filter(status=Case.Status.OPEN, is_audit=False).count()}"
        f" open cases, {len(state.shopper_sessions)} signed-in shoppers, {len(state.rated)} rated and"
        f" {len(state.unrated)} unrated products, {len(state.categories)} categories"
    )
    return state


def roles_for(args: argparse.Namespace, state: State) -> list[tuple[str, dict[str, Any]]]:
    common = {"rated": state.rated, "unrated": state.unrated, "categories": state.categories}
    roles: list[tuple[str, dict[str, Any]]] = [
        ("shopper", {**common, "shopper_sessions": state.shopper_sessions}) for _ in range(args.shoppers)
    ]
    for n in range(args.purchasers):
        mine = state.purchasers[n :: args.purchasers]
        plan = {"purchasers": [[key, f"Mozilla/5.0 (mixed_load purchaser {uid})", pks] for uid, key, pks in mine]}
        roles.append(("purchaser", plan))
    for n in range(args.managers):
        roles.append(("manager", {"managers": state.managers[n :: args.managers]}))
    plan = {
        "victims": state.victims,
        "intruder_session": state.intruder[1],
        "victim_manager_session": state.victim_manager[1],
        "open_cases": state.open_cases,
    }
    roles += [("intruder", plan) for _ in range(args.intruders)]
    return roles


# --- The Celery worker and draining ----------------------------------------------------------------


@contextmanager
def celery_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    queues: str = "celery,batch",
    processes: int = 2,
    name: str = "mixed_load",
    level: str = "warning",
) -> Iterator[str]:
    """A Celery worker as production starts one (prefork, ``-c processes``) on ``queues``, its output appended to
    ``log_path``; yields its node name once it answers a ping, and stops it after."""
    from xhs.celery import app

    node = f"{name}-{os.getpid()}@{os.uname().nodename}"
    command = [
        sys.executable, "-m", "celery", "-A", "xhs", "worker", "-Q", queues, "-P", "prefork", "-c", str(processes),
        "-n", node, "--without-gossip", "--without-mingle", "-l", level,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        worker = subprocess.Popen(command, cwd=plb.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while not app.control.ping(destination=[node], timeout=0.5):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            yield node
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def drain(redis_url: str, timeout: float) -> tuple[bool, float, str]:
    """Waits until the queue and the unacked set (countdown tasks wait there) are empty and no campaign is
    flagged for a re-score, twice in a row a second apart. Returns (drained, seconds, last state)."""
    import redis

    from ratings.models import Campaign

    broker = redis.Redis.from_url(redis_url)
    started = time.monotonic()
    quiet = idle = 0
    state = ""
    while time.monotonic() - started < timeout:
        queued, unacked = broker.llen("celery"), broker.hlen("unacked")
        flagged = Campaign.objects.filter(rescore_requested_at__isnull=False).count()
        state = f"{queued} queued, {unacked} unacked, {flagged} campaigns flagged"
        quiet = quiet + 1 if queued == unacked == flagged == 0 else 0
        idle = idle + 1 if queued == unacked == 0 else 0
        if quiet >= 3:
            return True, time.monotonic() - started, state
        if idle >= 15:  # nothing queued or waiting for 15 s, yet flags: no task will ever clear them
            stuck = list(Campaign.objects.filter(rescore_requested_at__isnull=False).values_list("pk", flat=True))
            return False, time.monotonic() - started, f"{state}, stuck (no task in flight): campaigns {stuck}"
        time.sleep(1)
    return False, time.monotonic() - started, state


# --- Verification ------------------------------------------------------------------------------------


def verify_votes(state: State, outcome: Outcome) -> tuple[int, list[str]]:
    """(a) for purchasers: the last accepted submission of each invitation is what is stored; every
    accepted amendment kept the submission before it as a revision. Returns (votes checked, problems)."""
    from ratings.models import FactorScore, Invitation, Vote, VoteRevision

    problems: list[str] = []
    by_invitation: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(outcome.votes, key=lambda r: r.get("sent_at", 0)):
        by_invitation[record["invitation"]].append(record)
    unknown = [r for r in outcome.votes if str(r.get("outcome", "")).startswith(("unknown", "status", "no form"))]
    for record in unknown:
        problems.append(f"invitation {record['invitation']}: {record['kind']} ended {record['outcome']}")
    votes = {v.invitation_id: v for v in Vote.objects.filter(invitation_id__in=list(by_invitation))}
    scores: dict[int, dict[str, int]] = defaultdict(dict)
    for vote_id, factor_id, score in FactorScore.objects.filter(vote__in=list(votes.values())).values_list(
        "vote_id", "factor_id", "score"
    ):
        scores[vote_id][str(factor_id)] = score
    revisions: dict[int, list[dict[str, int]]] = defaultdict(list)
    for vote_id, saved in (
        VoteRevision.objects.filter(vote__in=list(votes.values()))
        .order_by("submitted_at", "pk")
        .values_list("vote_id", "scores")
    ):
        revisions[vote_id].append({str(k): int(v) for k, v in saved.items()})
    checked = 0
    for invitation_id, records in by_invitation.items():
        accepted = [r for r in records if r.get("outcome") == "accepted"]
        vote = votes.get(invitation_id)
        if not accepted:
            if vote is not None and not any(r.get("outcome", "").startswith(("unknown", "status")) for r in records):
                problems.append(f"invitation {invitation_id}: a vote is stored though no submission was accepted")
            continue
        checked += 1
        if vote is None:
            problems.append(f"invitation {invitation_id}: {len(accepted)} accepted submissions, no vote stored")
            continue
        last = accepted[-1]
        if scores[vote.pk] != last["scores"]:
            problems.append(f"vote {vote.pk}: stored {scores[vote.pk]}, last accepted {last['scores']}")
        if vote.comment != last["comment"]:
            problems.append(f"vote {vote.pk}: comment {vote.comment!r}, last accepted {last['comment']!r}")
        if accepted[0]["kind"] != "vote" or any(r["kind"] != "amend" for r in accepted[1:]):
            problems.append(f"vote {vote.pk}: accepted submissions in an odd order {[r['kind'] for r in accepted]}")
        if vote.revision_count != len(accepted) - 1 or revisions[vote.pk] != [r["scores"] for r in accepted[:-1]]:
            problems.append(
                f"vote {vote.pk}: revision_count {vote.revision_count}, {len(revisions[vote.pk])} revisions kept,"
                f" {len(accepted) - 1} accepted amendments"
            )
    statuses = Counter(Invitation.objects.filter(pk__in=list(votes)).values_list("status", flat=True))
    if set(statuses) - {Invitation.Status.VOTED}:
        problems.append(f"invitations with a vote not marked voted: {dict(statuses)}")
    return checked, problems


def verify_moderation(state: State, outcome: Outcome) -> tuple[int, list[str]]:
    """(a) for managers and intruders. Returns (manager votes checked, problems)."""
    from moderation.models import Case, ManagerVote, ModerationPolicy
    from ratings.models import Vote

    problems: list[str] = []
    accepted = [r for r in outcome.case_votes if r["outcome"] == "accepted"]
    for record in outcome.case_votes:
        if record["outcome"] not in ("accepted", "refused"):
            problems.append(f"manager {record['manager']} case {record['case']}: {record['outcome']}")
    stored = {
        (m, c): choice
        for m, c, choice in ManagerVote.objects.filter(case_id__in={r["case"] for r in outcome.case_votes}).values_list(
            "manager_id", "case_id", "choice"
        )
    }
    for record in accepted:
        got = stored.get((record["manager"], record["case"]))
        if got != record["choice"]:
            problems.append(f"manager {record['manager']} case {record['case']}: sent {record['choice']}, stored {got}")
    refused_only = {(r["manager"], r["case"]) for r in outcome.case_votes} - {
        (r["manager"], r["case"]) for r in accepted
    }
    for key in refused_only:
        if (
            key in stored
            and ManagerVote.objects.filter(manager_id=key[0], case_id=key[1], created_at__gte=state.started_at).exists()
        ):
            problems.append(f"manager {key[0]} case {key[1]}: refused, yet a vote of this run is stored")
    # the adaptive quorum (moderation/quorum.py) calls up to quorum_most managers on a split, never more
    quorum = ModerationPolicy.objects.get(pk=1).quorum_most
    touched = Case.objects.filter(pk__in={r["case"] for r in outcome.case_votes}, is_audit=False).select_related("vote")
    deciding = Counter(
        ManagerVote.objects.filter(case__in=touched).exclude(choice="skip").values_list("case_id", flat=True)
    )
    for case in touched:
        n = deciding[case.pk]
        if n > quorum:
            problems.append(f"case {case.pk}: {n} deciding votes, quorum {quorum}")
        if case.status == Case.Status.OPEN and n >= quorum:
            problems.append(f"case {case.pk}: open with {n} deciding votes")
        if case.status == Case.Status.DECIDED and case.vote is not None:
            want = Vote.Verdict.EXCLUDED if case.outcome == Case.Outcome.VIOLATES else Vote.Verdict.COUNTED
            if case.vote.verdict != want:
                problems.append(f"case {case.pk} decided {case.outcome}: vote {case.vote_id} is {case.vote.verdict}")
    for record in outcome.intrusions:
        if not record["as_expected"]:
            problems.append(f"{record['action']}: answered {record['status']}")
    victims = [v[0] for v in state.victims]
    if Vote.objects.filter(invitation_id__in=victims).exists():
        problems.append("an intruder's vote was stored on a victim's invitation")
    let_in = ManagerVote.objects.filter(
        manager_id__in=[state.intruder[0], state.victim_manager[0]], created_at__gte=state.started_at
    ).count()
    if let_in:
        problems.append(f"{let_in} manager votes stored for the intruder or the victim manager")
    return len(accepted), problems


def verify_scores() -> tuple[int, list[str]]:
    """(b) every product with a campaign: its stored result against a recomputation from FactorScores."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from catalog.models import Category, Product
    from ratings import scoring, statistics
    from ratings.eligibility import policy_get
    from ratings.models import CampaignFactor, FactorScore, Invitation, ProductResult, ScoringRunCategory, Vote

    rules = policy_get()
    problems: list[str] = []
    checked = 0
    now = timezone.now()
    latest_counts = Counter(ProductResult.objects.filter(is_latest=True).values_list("product_id", flat=True))
    problems += [f"product {pk}: {n} latest results" for pk, n in latest_counts.items() if n != 1]
    for category in Category.objects.filter(campaigns__isnull=False).distinct().order_by("pk"):
        campaigns = scoring._scored_campaigns([category.pk])
        ids = [c.pk for c in campaigns]
        product_ids = [c.product_id for c in campaigns]
        factors: dict[int, list[Any]] = defaultdict(list)
        for factor in CampaignFactor.objects.filter(campaign_id__in=ids).order_by("position", "id"):
            factors[factor.campaign_id].append(factor)
        # Independently of the job's read path: every counted vote of the product within the window, by the
        # catalog factor its score was given for, whichever campaign it came from.
        since = now - timedelta(days=rules.score_window_days)
        in_window = Vote.objects.filter(product_id__in=product_ids, submitted_at__gte=since)
        histograms: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(statistics.SCORES))
        for product_id, factor_id, score, n in (
            FactorScore.objects.filter(vote__in=in_window.filter(verdict=Vote.Verdict.COUNTED))
            .values_list("product_id", "factor__factor_id", "score")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            histograms[(product_id, factor_id)][statistics.SCORES.index(score)] = n
        votes = {pk: scoring.VoteCounts() for pk in product_ids}
        for product_id, verdict, reason, submitted in in_window.values_list(
            "product_id", "verdict", "exclusion_reason", "submitted_at"
        ):
            votes[product_id].add(verdict, reason, submitted)
        invited = dict(
            Invitation.objects.filter(campaign__product_id__in=product_ids, created_at__gte=since)
            .values_list("campaign__product_id")
            .annotate(n=Count("user_id", distinct=True))
            .order_by()
        )
        keys = {f.pk: f.factor_id for fs in factors.values() for f in fs}
        inputs = scoring.Inputs(histograms=dict(histograms), votes=votes, invited=invited, factor_keys=keys)
        prior = (
            ScoringRunCategory.objects.filter(category=category, finished_at__isnull=False, prior__isnull=False)
            .order_by("-finished_at", "-id")
            .values_list("prior", flat=True)
            .first()
        )
        stored = {
            r.product_id: r
            for r in ProductResult.objects.filter(
                product_id__in=[c.product_id for c in campaigns], is_latest=True
            ).prefetch_related("factors")
        }
        products = Product.objects.in_bulk([c.product_id for c in campaigns])
        for campaign in campaigns:
            checked += 1
            expected = scoring._compute(
                campaign,
                factors=factors[campaign.pk],
                inputs=inputs,
                min_votes=category.min_votes_to_publish or rules.min_votes_to_publish,
                prior=statistics.NEUTRAL_PRIOR if prior is None else prior,
                prior_strength=rules.prior_strength,
                cutoff=now,
            )
            result = stored.get(campaign.product_id)
            if result is None:
                problems.append(f"product {campaign.product_id}: no latest result")
                continue
            saved = scoring.Computed(result=result, factors=list(result.factors.all()))
            # This check reads no votes digest; input fingerprints are ``verify_scores``'s to check.
            expected.result.input_fingerprint = result.input_fingerprint
            if saved.fingerprint() != expected.fingerprint():
                diff = [
                    (n, a, b)
                    for n, (a, b) in enumerate(zip(saved.fingerprint(), expected.fingerprint(), strict=False))
                    if a != b
                ]
                problems.append(f"product {campaign.product_id}: stored differs from recomputed at {diff[:4]}")
            product = products[campaign.product_id]
            want = result.comprehensive if result.published else None
            if not _same(product.rating_score, want) or not _same(product.ranking_score, result.ranking_score):
                problems.append(
                    f"product {product.pk}: rating_score {product.rating_score} / ranking {product.ranking_score},"
                    f" latest result {want} / {result.ranking_score}"
                )
            if product.rated_by != result.counted:
                problems.append(f"product {product.pk}: rated_by {product.rated_by}, latest result {result.counted}")
    return checked, problems


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def verify_pages(port: int, state: State) -> tuple[int, list[str]]:
    """(c) anonymous product pages of products touched since the run started show the stored score."""
    from django.template.defaultfilters import floatformat

    from catalog.models import Product
    from ratings.models import ProductResult, Vote

    touched = set(Vote.objects.filter(updated_at__gte=state.started_at).values_list("product_id", flat=True))
    problems = []
    score = re.compile(rb'<p class="big-score"><strong>([^<]+)</strong>')
    results = {r.product_id: r for r in ProductResult.objects.filter(product_id__in=touched, is_latest=True)}
    for product in Product.objects.filter(pk__in=touched, is_active=True):
        status, body, _ = plb.http_get(port, f"/products/{product.slug}/")
        found = score.search(body)
        shown = found.group(1).decode() if found else None
        result = results.get(product.pk)
        want = str(floatformat(result.comprehensive, 1)) if result and result.published else None
        if status != 200 or shown != want:
            problems.append(f"/products/{product.slug}/: {status}, shows {shown}, stored {want}")
    return len(touched), problems


# --- The report --------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


EXPECTED = {
    "vote: POST": {302},
    "amend: POST": {302},
    "manager: case vote POST (json)": {200, 409},
    "manager: case vote POST (form)": {302},
    **{action: {status} for action, status in INTRUSIONS},
}


def table(outcome: Outcome, title: str) -> tuple[int, int, int]:
    """Prints one line per action; returns (requests, server errors or exceptions, unexpected statuses)."""
    rows = outcome.measured()
    by_action: dict[str, list[tuple[str, float, float, int, str]]] = defaultdict(list)
    for row in rows:
        by_action[row[0]].append(row)
    header = (
        f"{title:<44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'2xx':>6} {'3xx':>6} {'4xx':>5}"
        f" {'5xx':>4} {'exc':>4} {'unexp.':>6}"
    )
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0]

    def line(name: str, group: list[tuple[str, float, float, int, str]]) -> tuple[int, int, int]:
        statuses = Counter(row[3] for row in group)
        by_class = Counter(s // 100 for s in statuses.elements() if s > 0)
        expected = EXPECTED.get(name, {200})
        unexpected = sum(n for s, n in statuses.items() if s not in expected) if name != "total" else 0
        latencies = [row[2] - row[1] for row in group]
        print(
            f"{name:<44} {len(group):>8,} {len(group) / outcome.seconds:>7.1f} {percentile(latencies, 0.5):>7.1f}"
            f" {percentile(latencies, 0.99):>7.1f} {by_class[2]:>6,} {by_class[3]:>6,} {by_class[4]:>5,}"
            f" {by_class[5]:>4} {statuses[-1]:>4} {unexpected if name != 'total' else '':>6}"
        )
        return len(group), by_class[5] + statuses[-1], unexpected

    for name in sorted(by_action):
        counts = line(name, by_action[name])
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    if len(by_action) > 1:
        print("-" * len(header))
        line("total", rows)
    return totals[0], totals[1], totals[2]


def errors_by_status(outcome: Outcome) -> None:
    found: dict[tuple[str, int, str], int] = Counter()
    for action, _, _, status, error in outcome.measured():
        if status not in EXPECTED.get(action, {200}):
            found[(action, status, error)] += 1
    if not found:
        print("errors by status: none (every answer as expected for its action)")
        return
    print("errors by status (answers other than the action's expected ones):")
    for (action, status, error), n in sorted(found.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {status:>4} {error:<20} {action:<44} {n:>6,}")


# --- The run -----------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    """Drop and recreate the bench's database, then migrate and seed the demo into it."""
    import psycopg2

    name = plb.database_name(args.database_url)
    admin = psycopg2.connect(urlparse(args.database_url)._replace(path="/postgres").geturl())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
    plb.prepare(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/mixedbench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds of the mixed load")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each window")
    parser.add_argument("--healthz-seconds", type=float, default=10, help="measured seconds of /healthz/ alone")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--shoppers", type=int, default=8, help="browsing threads")
    parser.add_argument("--purchasers", type=int, default=4, help="voting threads")
    parser.add_argument("--managers", type=int, default=3, help="moderating threads")
    parser.add_argument("--intruders", type=int, default=1, help="threads sending requests that must be refused")
    parser.add_argument("--purchaser-pool", type=int, default=600, help="accepted invitations held by purchasers")
    parser.add_argument("--manager-pool", type=int, default=30, help="managers the moderating threads sign in as")
    parser.add_argument("--cases", type=int, default=400, help="open cases about votes before the load")
    parser.add_argument("--rescore-delay", type=int, default=2, help="RatingPolicy.rescore_delay_seconds for the run")
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prepare", action="store_true", help="drop, create, migrate and seed the database first")
    args = parser.parse_args()
    if plb.database_name(args.database_url) in OTHER_BENCHES:
        raise SystemExit("that database belongs to another bench: use another one")
    if args.prepare:
        prepare(args)

    overlay_dir = Path(tempfile.mkdtemp(prefix="mixed_load-"))
    try:
        (overlay_dir / "bench_load_settings.py").write_text(
            f"from xhs.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(overlay_dir / 'static')!r}\n"
        )
        env = plb.production_env(args, overlay_dir)
        plb.django_setup(env, overlay_dir)
        sys.exit(run(args, env, overlay_dir))
    finally:
        shutil.rmtree(overlay_dir, ignore_errors=True)


def run(args: argparse.Namespace, env: dict[str, str], overlay_dir: Path) -> int:
    import redis
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import connection

    redis.Redis.from_url(args.redis_url).flushdb()
    started = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"collectstatic into a temporary STATIC_ROOT: {time.perf_counter() - started:.1f} s")
    before = policies_set(args)
    state: State | None = None
    failed = False
    try:
        with celery_worker(env, overlay_dir / "worker.log"):
            state = state_prepare(args)
            drained, seconds, left = drain(args.redis_url, args.drain_timeout)
            print(f"worker drained the preparation: {drained} after {seconds:.0f} s ({left})")
            baseline, baseline_problems = verify_scores()
            print(f"baseline: {baseline} products, {len(baseline_problems)} mismatches before the load")
            for problem in baseline_problems[:10]:
                print(f"  {problem}")
            connection.close()
            roles = roles_for(args, state)
            with plb.gunicorn(env, args.workers, overlay_dir / "gunicorn.log") as (port, _):
                print(f"{os.cpu_count()} cores; load average {plb.load_average()} before the load", flush=True)
                reference = run_load(
                    port,
                    [("healthz", {})] * len(roles),
                    args.client_processes,
                    args.warmup,
                    args.healthz_seconds,
                    args.seed,
                )
                mixed = run_load(port, roles, args.client_processes, args.warmup, args.seconds, args.seed)
                load = plb.load_average()
                drained, seconds, left = drain(args.redis_url, args.drain_timeout)
                print(f"worker drained after the load: {drained} in {seconds:.0f} s ({left})")
                failed |= not drained
                pages, page_problems = verify_pages(port, state)
                gunicorn_log = (overlay_dir / "gunicorn.log").read_text()
        worker_log = (overlay_dir / "worker.log").read_text()
        failed |= report(args, reference, mixed, load)
        n_votes, vote_problems = verify_votes(state, mixed)
        n_case_votes, moderation_problems = verify_moderation(state, mixed)
        n_products, score_problems = verify_scores()
        problems = vote_problems + moderation_problems + score_problems + page_problems
        outcomes = Counter(str(r.get("outcome")) for r in mixed.votes)
        kinds = Counter(f"{r['kind']} {r.get('outcome')}" for r in mixed.votes)
        print(f"\npurchaser submissions (whole run): {dict(sorted(kinds.items()))}")
        print(f"manager votes (whole run): {dict(Counter(r['outcome'] for r in mixed.case_votes))}")
        intrusions = Counter((r["action"], r["as_expected"]) for r in mixed.intrusions)
        refused = sum(n for (_, ok), n in intrusions.items() if ok)
        print(f"intrusions (whole run): {sum(intrusions.values())}, refused as expected: {refused}")
        print(
            f"(a) {n_votes} votes accepted ({outcomes['accepted']} accepted submissions),"
            f" {n_case_votes} manager votes, {len(vote_problems) + len(moderation_problems)} problems"
        )
        print(f"(b) {n_products} products recomputed, {len(score_problems)} mismatches")
        print(f"(c) {pages} touched products' anonymous pages, {len(page_problems)} showing another score")
        for problem in problems[:30]:
            print(f"  {problem}")
        print(f"verified: {n_votes} votes, {n_products} products, {len(problems)} mismatches")
        for name, log in (("gunicorn", gunicorn_log), ("celery worker", worker_log)):
            raised = Counter(exceptions_in(log))
            expected = raised.pop("django.core.exceptions.PermissionDenied: ecosystem managers only", 0)
            print(f"{name} log: {sum(raised.values())} tracebacks (+{expected} for the intruders' 403s)")
            for line, n in raised.most_common(8):
                print(f"  {n:>4} x {line[:300]}")
            failed |= bool(raised)
        stuck_rescores_explain()
        failed |= bool(problems)
    finally:
        policies_restore(before)
        if state is not None:
            Session.objects.filter(session_key__in=state.sessions).delete()
    return 1 if failed else 0


def exceptions_in(log: str) -> Iterator[str]:
    """The exception line closing each traceback in a log."""
    lines = log.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            for after in lines[n + 1 :]:
                if (
                    after
                    and not after[0].isspace()
                    and not after.startswith(("Traceback", "During handling", "The above"))
                ):
                    yield after
                    break


def stuck_rescores_explain() -> None:
    """Campaigns still flagged after the drain: re-score each inline, rolled back, to show why it fails."""
    from django.db import transaction

    from ratings import scoring
    from ratings.models import Campaign

    for campaign_id, product_id in Campaign.objects.filter(rescore_requested_at__isnull=False).values_list(
        "pk", "product_id"
    ):
        try:
            with transaction.atomic():
                scoring.campaign_rescore(campaign_id=campaign_id, triggered_by="mixed_load diagnosis")
                transaction.set_rollback(True)
            print(f"campaign {campaign_id} (product {product_id}) still flagged; an inline re-score works")
        except Exception as exc:  # a diagnosis: show whatever the re-score raises
            first = str(exc).splitlines()[0] if str(exc) else ""
            print(
                f"campaign {campaign_id} (product {product_id}) still flagged;"
                f" re-score raises {type(exc).__name__}: {first}"
            )


def report(args: argparse.Namespace, reference: Outcome, mixed: Outcome, load: str) -> bool:
    """The tables; True when something failed (a 5xx, an exception, an unexpected status)."""
    print(
        f"\ngunicorn {args.workers} sync workers, Celery worker (prefork, 2), PostgreSQL, Redis; client:"
        f" {args.client_processes} processes, {args.shoppers} shoppers, {args.purchasers} purchasers,"
        f" {args.managers} managers, {args.intruders} intruders; {args.seconds:g} s measured after"
        f" {args.warmup:g} s; load average {load}\n"
    )
    healthz_requests, healthz_errors, _ = table(reference, "/healthz/ alone (reference)")
    print()
    requests, errors, unexpected = table(mixed, "mixed load: action")
    healthz_rate = healthz_requests / reference.seconds
    rate = requests / mixed.seconds
    print(
        f"\nmixed load {rate:,.1f} req/s; /healthz/ alone {healthz_rate:,.1f} req/s with the same client and"
        f" connections; ratio {rate / max(healthz_rate, 1e-9):.3f}"
    )
    errors_by_status(mixed)
    print(f"5xx and exceptions: {errors} (target 0); unexpected statuses: {unexpected}")
    return bool(errors or unexpected or healthz_errors)


if __name__ == "__main__":
    main()
