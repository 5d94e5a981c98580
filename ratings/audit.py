"""An auditor's export of a scoring run, and the agreed-upon procedures run on it (issue 18, item 3).

``audit_export`` writes, for one run, a pseudonymised file set (CSV; Parquet beside it when pyarrow is
installed): every vote of the products the run scored with its verdict as it stood at the run's cut-off,
the reasons, and the decision that set it; the invitations with the purchase that earned each; the
moderation cases about those votes; the policy, the frozen factors, the invitation counts, and the
results the run left published. ``docs/audit.md`` is the auditor's description.

Pseudonyms: every person, vote, invitation, purchase and case is named by an HMAC-SHA256 of its id
under a random key drawn for this export alone. The key is shown once to the operator and never
written into the files (the ``AuditExport`` row keeps its SHA-256, so staff can later tell which key
an auditor was handed); two exports of the same data share no pseudonym, so outsiders holding both
cannot join them. With the key, and only with it, the store can compute the pseudonyms of its own
order references to confirm sampled purchases. No email, name, address, network or device
fingerprint, comment or case evidence is written.

``audit_check`` (``checks_run``) performs the procedures from the files alone: nothing in it reads the
database or calls the scoring job, so an auditor can run it on a machine of their own.

How it scales: one pass over the run's votes, scores, invitations and cases, each read in chunks with
the rows streamed to CSV (no per-row query); a few seconds for thousands of votes, about a minute per
million (see the report in ``docs/audit.md``).
"""

import csv
import hashlib
import hmac
import json
import math
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db.models import OuterRef, Subquery

#: The format of the files, written into run.csv: checks refuse an export of another format.
FORMAT = "little-red-heart audit 1"
#: The files, in the order they are written.
FILES = (
    "run.csv",
    "policy.csv",
    "products.csv",
    "factors.csv",
    "invitations.csv",
    "votes.csv",
    "scores.csv",
    "decisions.csv",
    "results.csv",
    "factor_results.csv",
    "list.csv",
)
#: Two floats agree when they differ by no more than this (results are stored as doubles).
TOLERANCE = 1e-9
CHUNK = 5000


class AuditError(Exception):
    """The run cannot be exported, or the export cannot be read."""


# --- Pseudonyms -------------------------------------------------------------------------------------


class Pseudonyms:
    """HMAC-SHA256 of ``kind:id`` under one export's key, cut to 20 hex digits (80 bits: no collision
    among millions of ids). The kind keeps a person's and a vote's pseudonyms apart even for equal ids."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, kind: str, value: object) -> str:
        if value is None or value == "":
            return ""
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:20]


def key_new() -> bytes:
    return secrets.token_bytes(32)


def key_sha256(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


# --- Writing --------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    run_id: int
    directory: Path
    key_hex: str
    votes: int
    invitations: int
    products: int
    formats: list[str]
    parquet_skipped: str = ""


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _cell(value: Any) -> Any:
    """None as empty, a flag as 1/0, a float in full (repr round-trips), anything else as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _write(directory: Path, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``name`` with its header and ``rows``, consumed as they come (a generator streams a big file);
    return the number of rows."""
    n = 0
    with (directory / name).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            n += 1
    return n


def _scope(run: Any) -> tuple[dict[int, tuple[int, int]], datetime, datetime, int]:
    """The products a run scored, each with its scored campaign and category; the window it read."""
    from ratings.eligibility import policy_get
    from ratings.models import Campaign, ProductResult, ScoringRun

    policy = policy_get()
    window_days = run.score_window_days or policy.score_window_days
    cutoff = run.data_cutoff
    start = cutoff - timedelta(days=window_days)
    campaigns = Campaign.objects.exclude(status=Campaign.Status.CANCELLED).filter(opens_at__lte=cutoff)
    if run.kind == ScoringRun.Kind.FULL:
        campaigns = campaigns.filter(category_id__in=run.categories.values("category_id"))
    else:
        campaigns = campaigns.filter(product_id__in=ProductResult.objects.filter(run=run).values("product_id"))
    scoped: dict[int, tuple[int, int]] = {}
    for product_id, campaign_id, category_id in campaigns.order_by("product_id", "-opens_at", "-id").values_list(
        "product_id", "id", "category_id"
    ):
        scoped.setdefault(product_id, (campaign_id, category_id))
    return scoped, start, cutoff, window_days


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


def export_write(*, run_id: int, directory: Path, parquet: bool = False, created_by: str = "") -> ExportSummary:
    """Write run ``run_id``'s audit file set into ``directory`` under a new random key; record the export.

    Reads only (apart from the ``AuditExport`` row written at the end); safe to run beside the jobs. The
    verdicts and scores are those in force at the run's cut-off (from ``VoteVerdictChange`` and
    ``VoteRevision`` for a vote changed since), so the files recompute the run's figures."""
    from moderation.models import Case
    from ratings.eligibility import policy_get
    from ratings.models import (
        AuditExport,
        CampaignFactor,
        FactorResult,
        FactorScore,
        HeartListEntry,
        Invitation,
        ProductResult,
        ScoringRun,
        Vote,
        VoteRevision,
        VoteVerdictChange,
    )

    run = ScoringRun.objects.filter(pk=run_id).exclude(status=ScoringRun.Status.RUNNING).first()
    if run is None:
        raise AuditError(f"no finished scoring run with id {run_id}")
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise AuditError(f"{directory} is not empty: an export goes into a directory of its own")
    key = key_new()
    alias = Pseudonyms(key)
    scoped, start, cutoff, window_days = _scope(run)
    product_ids = sorted(scoped)
    policy = policy_get()

    _write(
        directory,
        "run.csv",
        ("name", "value"),
        [
            ("format", FORMAT),
            ("run_id", run.pk),
            ("kind", run.kind),
            ("status", run.status),
            ("method_version", run.method_version),
            ("data_cutoff", _when(cutoff)),
            ("window_start", _when(start)),
            ("window_days", window_days),
            ("started_at", _when(run.started_at)),
            ("finished_at", _when(run.finished_at)),
        ],
    )
    policy_fields = [f.name for f in policy._meta.concrete_fields if f.name not in {"id", "created_at", "updated_at"}]
    _write(directory, "policy.csv", ("name", "value"), [(name, getattr(policy, name)) for name in policy_fields])

    # Invitations of the scoped products' campaigns made by the cut-off, each with the purchase that earned it.
    invited: Counter[int] = Counter()

    def invitation_rows() -> Iterator[tuple[Any, ...]]:
        invited_seen: set[tuple[int, int]] = set()  # gone with the generator, once the file is written
        for chunk in _chunks(product_ids):
            rows = (
                Invitation.objects.filter(campaign__product_id__in=chunk, created_at__lte=cutoff)
                .order_by("pk")
                .values_list(
                    "pk",
                    "user_id",
                    "campaign_id",
                    "campaign__product_id",
                    "status",
                    "created_at",
                    "purchase__order_ref",
                    "purchase__line_no",
                    "purchase__buyer_id",
                    "purchase__product_id",
                    "purchase__status",
                    "purchase__paid_at",
                    "purchase__status_changed_at",
                )
            )
            for (
                pk,
                user_id,
                campaign_id,
                product_id,
                status,
                created,
                ref,
                line,
                buyer,
                p_product,
                p_status,
                paid,
                changed,
            ) in rows.iterator(chunk_size=CHUNK):
                in_window = start <= created <= cutoff
                if in_window and (product_id, user_id) not in invited_seen:
                    invited_seen.add((product_id, user_id))
                    invited[product_id] += 1
                yield (
                    alias("invitation", pk),
                    alias("person", user_id),
                    campaign_id,
                    product_id,
                    status,
                    _when(created),
                    int(in_window),
                    alias("purchase", f"{ref}#{line}"),
                    alias("person", buyer),
                    p_product,
                    p_status,
                    _when(paid),
                    _when(changed),
                )

    invitations_written = _write(
        directory,
        "invitations.csv",
        (
            "invitation",
            "rater",
            "campaign_id",
            "product_id",
            "status",
            "created_at",
            "in_window",
            "purchase",
            "purchase_buyer",
            "purchase_product_id",
            "purchase_status",
            "purchase_paid_at",
            "purchase_status_changed_at",
        ),
        invitation_rows(),
    )
    # Refunds are read from the purchase as it stands now: a refund after the cut-off shows a refunded
    # purchase beside a vote that still counted then (the check allows it: the refund came later).

    _write(
        directory,
        "products.csv",
        ("product_id", "category_id", "campaign_id", "invited"),
        [(p, scoped[p][1], scoped[p][0], invited.get(p, 0)) for p in product_ids],
    )
    scored_campaigns = {campaign_id for campaign_id, _category in scoped.values()}
    factor_rows = [
        (product_id, campaign_id, pk, factor_id if factor_id is not None else -pk, position, weight, name_en, name_zh)
        for pk, factor_id, product_id, campaign_id, position, weight, name_en, name_zh in CampaignFactor.objects.filter(
            campaign__product_id__in=product_ids
        )
        .order_by("campaign__product_id", "campaign_id", "position", "id")
        .values_list(
            "pk", "factor_id", "campaign__product_id", "campaign_id", "position", "weight", "name_en", "name_zh"
        )
    ]
    _write(
        directory,
        "factors.csv",
        (
            "product_id",
            "campaign_id",
            "campaign_factor_id",
            "factor_key",
            "position",
            "weight",
            "scored",
            "name_en",
            "name_zh",
        ),
        [(*row[:6], int(row[1] in scored_campaigns), *row[6:]) for row in factor_rows],
    )

    # Votes as they stood at the cut-off; the decisions about them.
    votes = Vote.objects.filter(product_id__in=product_ids, created_at__lte=cutoff)
    later_verdict = set(votes.filter(updated_at__gt=cutoff).values_list("pk", flat=True))
    verdict_then: dict[int, tuple[str, str]] = {}
    for vote_id, verdict, reason in (
        VoteVerdictChange.objects.filter(vote_id__in=list(later_verdict), changed_at__lte=cutoff)
        .order_by("vote_id", "changed_at", "pk")
        .values_list("vote_id", "verdict", "exclusion_reason")
    ):
        verdict_then[vote_id] = (verdict, reason)
    later_scores = list(votes.filter(submitted_at__gt=cutoff).values_list("pk", flat=True))
    revision_then: dict[int, tuple[datetime, dict[str, int]]] = {}
    for vote_id, submitted, scores in (
        VoteRevision.objects.filter(vote_id__in=later_scores, submitted_at__lte=cutoff)
        .order_by("vote_id", "submitted_at", "pk")
        .values_list("vote_id", "submitted_at", "scores")
    ):
        revision_then[vote_id] = (submitted, scores)

    # The case that set a moderation verdict: the vote's latest decided "violates" by the cut-off; the
    # case that holds a vote for review: its open one. All cases about the votes go to decisions.csv.
    cases = list(
        Case.objects.filter(vote__product_id__in=product_ids, created_at__lte=cutoff, is_audit=False)
        .order_by("vote_id", "created_at", "pk")
        .values_list(
            "pk", "vote_id", "rule_id", "source", "status", "outcome", "decided_by", "decided_at", "created_at"
        )
    )
    deciding: dict[int, int] = {}
    holding: dict[int, int] = {}
    for pk, vote_id, _rule, _source, status, outcome, _by, decided_at, _created in cases:
        if status == Case.Status.DECIDED and outcome == Case.Outcome.VIOLATES and decided_at and decided_at <= cutoff:
            deciding[vote_id] = pk
        elif status != Case.Status.DECIDED or (decided_at and decided_at > cutoff):
            holding[vote_id] = pk
    _write(
        directory,
        "decisions.csv",
        ("decision", "vote", "kind", "rule_id", "source", "status", "outcome", "decided_by", "decided_at", "opened_at"),
        [
            (
                alias("case", pk),
                alias("vote", vote_id),
                "case",
                rule,
                source,
                # As it stood at the cut-off: a case decided later was still open then.
                status if not decided_at or decided_at <= cutoff else Case.Status.OPEN,
                outcome if not decided_at or decided_at <= cutoff else "",
                by if not decided_at or decided_at <= cutoff else "",
                _when(decided_at) if not decided_at or decided_at <= cutoff else "",
                _when(created),
            )
            for pk, vote_id, rule, source, status, outcome, by, decided_at, created in cases
        ],
    )

    revision_scores: list[tuple[int, dict[str, int]]] = []
    current_ids: list[int] = []

    def vote_rows() -> Iterator[tuple[Any, ...]]:
        rows = (
            votes.order_by("pk")
            .values_list(
                "pk",
                "user_id",
                "invitation_id",
                "product_id",
                "campaign_id",
                "submitted_at",
                "verdict",
                "exclusion_reason",
                "screening__verdict",
                "screening__score",
                "screening__reasons",
                "screening__screened_at",
            )
            .iterator(chunk_size=CHUNK)
        )
        for (
            pk,
            user_id,
            inv,
            product_id,
            campaign_id,
            submitted,
            verdict,
            reason,
            s_verdict,
            s_score,
            s_reasons,
            s_at,
        ) in rows:
            if pk in later_verdict:
                verdict, reason = verdict_then.get(pk, (Vote.Verdict.COUNTED, ""))
            if submitted > cutoff:
                if pk not in revision_then:
                    continue  # nothing of this vote had been submitted by the cut-off
                submitted, scores = revision_then[pk]
                revision_scores.append((pk, scores))
            else:
                current_ids.append(pk)
            screened = s_at is not None and s_at <= cutoff
            decision, kind = "", ""
            if verdict == Vote.Verdict.EXCLUDED and reason == Vote.ExclusionReason.MODERATION:
                decision, kind = alias("case", deciding.get(pk)), "case"
            elif verdict == Vote.Verdict.EXCLUDED and reason == Vote.ExclusionReason.SCREENING:
                decision, kind = ("screening", "screening") if screened else ("", "")
            elif verdict == Vote.Verdict.EXCLUDED and reason == Vote.ExclusionReason.REFUND:
                decision, kind = alias("invitation", inv), "refund"
            elif verdict == Vote.Verdict.REVIEW:
                if pk in holding:
                    decision, kind = alias("case", holding[pk]), "case"
                elif screened:
                    decision, kind = "screening", "screening"
            yield (
                alias("vote", pk),
                alias("person", user_id),
                alias("invitation", inv),
                product_id,
                campaign_id,
                _when(submitted),
                int(start <= submitted <= cutoff),
                verdict,
                reason,
                decision,
                kind,
                s_verdict if screened else "",
                s_score if screened else "",
                json.dumps([r.get("code", "") for r in s_reasons or []]) if screened else "",
                _when(s_at) if screened else "",
            )

    votes_written = _write(
        directory,
        "votes.csv",
        (
            "vote",
            "rater",
            "invitation",
            "product_id",
            "campaign_id",
            "submitted_at",
            "in_window",
            "verdict",
            "exclusion_reason",
            "decision",
            "decision_kind",
            "screening_verdict",
            "screening_score",
            "screening_reasons",
            "screened_at",
        ),
        vote_rows(),
    )

    def score_rows() -> Iterator[tuple[Any, ...]]:
        for chunk in _chunks(current_ids):
            for vote_id, factor_id, score in (
                FactorScore.objects.filter(vote_id__in=chunk).order_by("vote_id", "factor_id")
            ).values_list("vote_id", "factor_id", "score"):
                yield (alias("vote", vote_id), factor_id, score)
        for vote_id, revised in revision_scores:
            for revised_factor, revised_score in sorted(revised.items()):
                yield (alias("vote", vote_id), int(revised_factor), int(revised_score))

    _write(directory, "scores.csv", ("vote", "campaign_factor_id", "score"), score_rows())

    # What the run left published: each scoped product's latest result as of the run (a run writes only
    # the results that changed, so an unchanged product's comes from an earlier run).
    result_columns = (
        "product_id",
        "campaign_id",
        "category_id",
        "run_id",
        "method_version",
        "invited",
        "voted",
        "counted",
        "under_review",
        "excluded_screening",
        "excluded_moderation",
        "excluded_refund",
        "min_votes",
        "published",
        "comprehensive",
        "prior",
        "prior_strength",
        "ranking_score",
    )
    results = list(
        ProductResult.objects.filter(
            product_id__in=product_ids,
            pk=Subquery(
                ProductResult.objects.filter(product_id=OuterRef("product_id"), run_id__lte=run.pk)
                .order_by("-run_id")
                .values("pk")[:1]
            ),
        )
        .order_by("product_id")
        .values_list("pk", *result_columns)
    )
    _write(directory, "results.csv", result_columns, [row[1:] for row in results])
    result_product = {row[0]: row[1] for row in results}
    factor_columns = (
        "campaign_factor_id",
        "votes",
        "mean",
        "ci_low",
        "ci_high",
        "scores_1",
        "scores_2",
        "scores_3",
        "scores_4",
        "scores_5",
    )
    _write(
        directory,
        "factor_results.csv",
        ("product_id", *factor_columns),
        [
            (result_product[result_id], *rest)
            for result_id, *rest in FactorResult.objects.filter(result_id__in=list(result_product))
            .order_by("result_id", "position", "id")
            .values_list("result_id", *factor_columns)
        ],
    )
    list_columns = ("category_id", "rank", "product_id", "ranking_score", "comprehensive", "counted")
    _write(
        directory,
        "list.csv",
        list_columns,
        HeartListEntry.objects.filter(run=run).order_by("category_id", "rank").values_list(*list_columns),
    )

    formats = ["csv"]
    skipped = ""
    if parquet:
        skipped = _parquet_write(directory)
        if not skipped:
            formats.append("parquet")
    AuditExport.objects.create(
        run=run,
        key_sha256=key_sha256(key),
        directory=str(directory.resolve())[:500],
        votes=votes_written,
        formats=",".join(formats),
        created_by=created_by[:150],
    )
    return ExportSummary(
        run_id=run.pk,
        directory=directory,
        key_hex=key.hex(),
        votes=votes_written,
        invitations=invitations_written,
        products=len(product_ids),
        formats=formats,
        parquet_skipped=skipped,
    )


def _parquet_write(directory: Path) -> str:
    """A Parquet file beside each CSV file; the reason when pyarrow is not installed (then nothing)."""
    try:
        from pyarrow import csv as pa_csv
        from pyarrow import parquet as pa_parquet
    except ImportError:
        return "pyarrow is not installed (it is in requirements-dev.txt): Parquet skipped, the CSV files are complete"
    for name in FILES:
        # Every column as text: what the CSV holds, without type guesses that differ between files.
        header = (directory / name).open(encoding="utf-8").readline().strip().split(",")
        options = pa_csv.ConvertOptions(column_types=dict.fromkeys(header, "string"))
        pa_parquet.write_table(
            pa_csv.read_csv(directory / name, convert_options=options), directory / name.replace(".csv", ".parquet")
        )
    return ""


# --- Checking (from the files alone) ----------------------------------------------------------------


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)


def _rows(directory: Path, name: str) -> Iterator[dict[str, str]]:
    """The file's rows, read as they are used: the checks keep only what they need of the big files."""
    path = directory / name
    if not path.exists():
        raise AuditError(f"the export has no {name}")
    with path.open(newline="", encoding="utf-8") as source:
        yield from csv.DictReader(source)


def _dt(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _float(text: str) -> float | None:
    return float(text) if text else None


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)


def check_invitations(directory: Path, *, sample: int, seed: int) -> CheckResult:
    """Sampled invitations against purchases: each went to the buyer of a genuine purchase of the
    campaign's product, paid before the invitation; a refunded purchase's invitation is revoked or its vote
    excluded (or the refund came after the cut-off)."""
    result = CheckResult("invitations")
    total = sum(1 for _ in _rows(directory, "invitations.csv"))
    chosen = set(random.Random(seed).sample(range(total), min(sample, total)))  # noqa: S311 - a sample, not a secret
    picked = [row for i, row in enumerate(_rows(directory, "invitations.csv")) if i in chosen]
    cutoff = _dt(dict((r["name"], r["value"]) for r in _rows(directory, "run.csv"))["data_cutoff"])
    excluded_refund = {r["invitation"] for r in _rows(directory, "votes.csv") if r["exclusion_reason"] == "refund"}
    for row in picked:
        result.checked += 1
        name = f"invitation {row['invitation']}"
        if not row["purchase"]:
            result.fail(f"{name}: no purchase")
            continue
        if row["purchase_buyer"] != row["rater"]:
            result.fail(f"{name}: the purchase was made by someone else")
        if row["purchase_product_id"] != row["product_id"]:
            result.fail(f"{name}: the purchase is of product {row['purchase_product_id']}, not {row['product_id']}")
        paid, created = _dt(row["purchase_paid_at"]), _dt(row["created_at"])
        if paid is None or created is None or paid > created:
            result.fail(f"{name}: the purchase was not paid before the invitation")
        if row["purchase_status"] == "cancelled":
            result.fail(f"{name}: the purchase was cancelled")
        if row["purchase_status"] == "refunded":
            refunded = _dt(row["purchase_status_changed_at"])
            later = refunded is not None and cutoff is not None and refunded > cutoff
            if not (row["status"] == "revoked" or row["invitation"] in excluded_refund or later):
                result.fail(f"{name}: the purchase was refunded but the invitation stands and its vote counts")
    return result


def check_one_vote(directory: Path) -> CheckResult:
    """One vote per person per product, each on an invitation of its own made to that person."""
    result = CheckResult("one-vote")
    invited = {r["invitation"]: r["rater"] for r in _rows(directory, "invitations.csv")}
    seen: set[tuple[str, str]] = set()
    used: set[str] = set()
    for row in _rows(directory, "votes.csv"):
        result.checked += 1
        key = (row["rater"], row["product_id"])
        if key in seen:
            result.fail(f"vote {row['vote']}: a second vote by rater {row['rater']} on product {row['product_id']}")
        seen.add(key)
        if row["invitation"] in used:
            result.fail(f"vote {row['vote']}: invitation {row['invitation']} used twice")
        used.add(row["invitation"])
        invitee = invited.get(row["invitation"])
        if invitee is None:
            result.fail(f"vote {row['vote']}: its invitation is not in invitations.csv")
        elif invitee != row["rater"]:
            result.fail(f"vote {row['vote']}: its invitation was made to someone else")
    return result


def check_exclusions(directory: Path) -> CheckResult:
    """Every vote not counted has a reason and the decision that set it: screening's reasons, a decided
    moderation case that found a violation, a refunded purchase; a held vote, an open case or screening."""
    result = CheckResult("exclusions")
    decisions = {r["decision"]: r for r in _rows(directory, "decisions.csv")}
    purchase_status = {r["invitation"]: r["purchase_status"] for r in _rows(directory, "invitations.csv")}
    for row in _rows(directory, "votes.csv"):
        if row["verdict"] == "counted":
            continue
        result.checked += 1
        name = f"vote {row['vote']}"
        reason, decision = row["exclusion_reason"], row["decision"]
        if row["verdict"] == "excluded" and not reason:
            result.fail(f"{name}: excluded without a reason")
        elif row["verdict"] == "excluded" and reason == "screening":
            if decision != "screening" or not json.loads(row["screening_reasons"] or "[]"):
                result.fail(f"{name}: excluded by screening without screening's reasons")
        elif row["verdict"] == "excluded" and reason == "moderation":
            case = decisions.get(decision)
            if case is None:
                result.fail(f"{name}: excluded by moderation without a case")
            elif case["status"] != "decided" or case["outcome"] != "violates" or not case["decided_by"]:
                result.fail(f"{name}: excluded by moderation but its case {decision} did not find a violation")
            elif case["vote"] != row["vote"]:
                result.fail(f"{name}: its case {decision} is about another vote")
        elif row["verdict"] == "excluded" and reason == "refund":
            if purchase_status.get(decision) != "refunded":
                result.fail(f"{name}: excluded for a refund but its purchase is not refunded")
        elif row["verdict"] == "review" and not decision:
            result.fail(f"{name}: held for review without a case or screening")
        elif row["verdict"] == "review" and row["decision_kind"] == "case" and decision not in decisions:
            result.fail(f"{name}: held for review by a case missing from decisions.csv")
    return result


def check_recompute(directory: Path) -> CheckResult:
    """Each product's published figures recomputed from the votes and scores: vote counts, each factor's
    histogram and mean, the comprehensive score, the ranking score, publication; and the list's entries
    published. Every counted vote in the window weighs 1 (docs/audit.md gives the formulas)."""
    result = CheckResult("recompute")
    products = {r["product_id"]: r for r in _rows(directory, "products.csv")}
    key_of: dict[str, str] = {}
    scored_factors: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _rows(directory, "factors.csv"):
        key_of[row["campaign_factor_id"]] = row["factor_key"]
        if row["scored"] == "1":
            scored_factors[row["product_id"]].append(row)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    counted_votes: dict[str, str] = {}
    for row in _rows(directory, "votes.csv"):
        if row["in_window"] != "1":
            continue
        bucket = row["verdict"] if row["verdict"] != "excluded" else f"excluded_{row['exclusion_reason']}"
        counts[row["product_id"]][bucket] += 1
        counts[row["product_id"]]["voted"] += 1
        if row["verdict"] == "counted":
            counted_votes[row["vote"]] = row["product_id"]
    histograms: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    for row in _rows(directory, "scores.csv"):
        product_id = counted_votes.get(row["vote"])
        if product_id is None:
            continue
        score = int(row["score"])
        if not 1 <= score <= 5:
            result.fail(f"vote {row['vote']}: a score of {score}, outside 1–5")
            continue
        histograms[(product_id, key_of[row["campaign_factor_id"]])][score - 1] += 1
    stored_factors: dict[tuple[str, str], dict[str, str]] = {
        (r["product_id"], r["campaign_factor_id"]): r for r in _rows(directory, "factor_results.csv")
    }
    results = {r["product_id"]: r for r in _rows(directory, "results.csv")}
    for product_id, product in products.items():
        result.checked += 1
        stored = results.get(product_id)
        if stored is None:
            if counts[product_id]["voted"]:
                result.fail(f"product {product_id}: votes but no result")
            continue
        name = f"product {product_id}"
        mine = counts[product_id]
        for column, bucket in (
            ("voted", "voted"),
            ("counted", "counted"),
            ("under_review", "review"),
            ("excluded_screening", "excluded_screening"),
            ("excluded_moderation", "excluded_moderation"),
            ("excluded_refund", "excluded_refund"),
        ):
            if int(stored[column]) != mine[bucket]:
                result.fail(f"{name}: {column} published {stored[column]}, recomputed {mine[bucket]}")
        if int(stored["invited"]) != int(product["invited"]):
            result.fail(f"{name}: invited published {stored['invited']}, recomputed {product['invited']}")
        means, weights = [], []
        for factor in sorted(
            scored_factors[product_id], key=lambda f: (int(f["position"]), int(f["campaign_factor_id"]))
        ):
            histogram = histograms[(product_id, factor["factor_key"])]
            votes = sum(histogram)
            mean = sum((i + 1) * n for i, n in enumerate(histogram)) / votes if votes else None
            means.append(mean)
            weights.append(float(factor["weight"]))
            published = stored_factors.get((product_id, factor["campaign_factor_id"]))
            if published is None:
                result.fail(f"{name}: factor {factor['campaign_factor_id']} has no published figures")
                continue
            if [int(published[f"scores_{s}"]) for s in range(1, 6)] != histogram:
                result.fail(f"{name}: factor {factor['campaign_factor_id']}'s histogram differs")
            if not _same(_float(published["mean"]), mean):
                result.fail(
                    f"{name}: factor {factor['campaign_factor_id']}'s mean "
                    f"published {published['mean']}, recomputed {mean}"
                )
        pairs = [(m, w) for m, w in zip(means, weights, strict=True) if m is not None]
        total = sum(w for _, w in pairs)
        comprehensive = sum(m * w for m, w in pairs) / total if pairs and total > 0 else None
        if not _same(_float(stored["comprehensive"]), comprehensive):
            result.fail(f"{name}: comprehensive score published {stored['comprehensive']}, recomputed {comprehensive}")
        publish = comprehensive is not None and mine["counted"] >= int(stored["min_votes"])
        if (stored["published"] == "1") != publish:
            result.fail(f"{name}: published is {stored['published'] == '1'}, recomputed {publish}")
        ranking = None
        if publish and comprehensive is not None:
            n, k, prior = mine["counted"], int(stored["prior_strength"]), float(stored["prior"])
            ranking = (n * comprehensive + k * prior) / (n + k)
        if not _same(_float(stored["ranking_score"]), ranking):
            result.fail(f"{name}: ranking score published {stored['ranking_score']}, recomputed {ranking}")
    for row in _rows(directory, "list.csv"):
        stored = results.get(row["product_id"])
        if stored is None or stored["published"] != "1":
            result.fail(
                f"list: product {row['product_id']} at #{row['rank']} of category {row['category_id']} is not published"
            )
    return result


CHECKS = ("invitations", "one-vote", "exclusions", "recompute")


def checks_run(directory: Path, *, sample: int = 100, seed: int = 0, only: Sequence[str] = CHECKS) -> list[CheckResult]:
    """The agreed-upon procedures on an export, from its files alone."""
    run = {r["name"]: r["value"] for r in _rows(directory, "run.csv")}
    if run.get("format") != FORMAT:
        raise AuditError(f"not an export of format {FORMAT!r} (found {run.get('format')!r})")
    done = []
    for name in only:
        if name == "invitations":
            done.append(check_invitations(directory, sample=sample, seed=seed))
        elif name == "one-vote":
            done.append(check_one_vote(directory))
        elif name == "exclusions":
            done.append(check_exclusions(directory))
        elif name == "recompute":
            done.append(check_recompute(directory))
        else:
            raise AuditError(f"no check named {name!r} (checks: {', '.join(CHECKS)})")
    return done
