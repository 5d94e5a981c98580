"""Writes of the manager's journey: the rules test, reports, manager votes, decisions and their effects.

Each invariant is a database constraint (one open attempt, one active term, one open case per
content, one report per user and case, one vote per manager and case, one appeal, one dispute); the
code checks the same rules first for a clear message and turns a racing ``IntegrityError`` into the
same message. A case's decision is taken with the case row locked, so two managers casting the
deciding votes at the same moment produce exactly one decision.
"""

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.header import header_forget
from accounts.models import Notification, User
from catalog import page_cache, stakes
from catalog.models import Note, NoteProduct
from moderation import quorum, selectors
from moderation.models import (
    Appeal,
    AuditDispute,
    Case,
    ManagerTerm,
    ManagerVote,
    ModerationPolicy,
    Question,
    Report,
    Rule,
    TestAttempt,
)
from ratings.models import Invitation, Vote
from ratings.purchases import vote_reinstate
from ratings.services import fingerprint, rescore_soon


class ModerationError(Exception):
    """A request the rules refuse; ``message`` is shown to the person as it is."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def policy_get() -> ModerationPolicy:
    """The moderation policy, created with its defaults the first time it is read."""
    return ModerationPolicy.objects.get_or_create(pk=1)[0]


# --- Brands can never steer -------------------------------------------------------------------------

STAKE_REPORT_MESSAGE = _(
    "Your account speaks for the brand or store of a product this is about, so it cannot report it. "
    "If it breaks a rule, write to us through the inbox."
)
STAKE_JUDGE_MESSAGE = _("Your account speaks for the brand or store of a product this case is about: others judge it.")
STAKE_APPEAL_MESSAGE = _(
    "Your account speaks for the brand or store of a product this decision is about, so it cannot appeal it."
)


def content_products(*, note: Note | None = None, vote: Vote | None = None) -> list[int]:
    """The products a note (those it mentions) or a rating (its product) is about."""
    if vote is not None:
        return [vote.product_id]
    if note is not None:
        return list(NoteProduct.objects.filter(note=note).values_list("product_id", flat=True))
    return []


def content_stake_check(
    *, user: User, message: str | Promise, note: Note | None = None, vote: Vote | None = None
) -> None:
    """Raise ``stakes.BrandStakeRefused(message)`` if the user speaks for a product this content is about."""
    stakes.refuse_if_stake(user_id=user.pk, product_ids=content_products(note=note, vote=vote), message=message)


# --- Becoming a manager ----------------------------------------------------------------------------


def entry_shortfalls(*, user: User, now: datetime | None = None) -> list[str]:
    """What the user still lacks to take the test (empty: they may take it)."""
    now = now or timezone.now()
    rules = policy_get()
    missing: list[str] = []
    if user.is_banned:
        missing.append(str(_("Your account is under a sanction.")))
    age_days = (now - user.date_joined).days
    if age_days < rules.min_account_days:
        missing.append(
            str(
                _("Your account must be at least %(days)d days old (it is %(age)d).")
                % {
                    "days": rules.min_account_days,
                    "age": age_days,
                }
            )
        )
    verified = Invitation.objects.filter(
        user=user, status__in=[Invitation.Status.ACCEPTED, Invitation.Status.VOTED]
    ).count()
    if verified < rules.min_verified_purchases:
        missing.append(
            str(
                _("You need %(count)d verified purchase(s) (you have %(have)d).")
                % {
                    "count": rules.min_verified_purchases,
                    "have": verified,
                }
            )
        )
    return missing


def current_term(*, user: User, now: datetime | None = None) -> ManagerTerm | None:
    """The user's manager term if it is in force now."""
    now = now or timezone.now()
    term = ManagerTerm.objects.filter(user=user, status=ManagerTerm.Status.ACTIVE).first()
    return term if term is not None and term.is_current(now) else None


def retake_at(*, user: User, now: datetime | None = None) -> datetime | None:
    """When the user may take the test again, if that is still in the future: the cool-down after a
    failed attempt, and the re-entry wait after a term staff revoked or audits suspended."""
    now = now or timezone.now()
    rules = policy_get()
    waits = []
    failed = (
        TestAttempt.objects.filter(user=user, passed=False)
        .order_by("-submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )
    if failed is not None:
        waits.append(failed + timedelta(hours=rules.cooldown_hours))
    ended = (
        ManagerTerm.objects.filter(
            user=user, status__in=[ManagerTerm.Status.REVOKED, ManagerTerm.Status.SUSPENDED], ended_at__isnull=False
        )
        .order_by("-ended_at")
        .values_list("ended_at", flat=True)
        .first()
    )
    if ended is not None:
        waits.append(ended + timedelta(days=rules.reentry_wait_days))
    ready = max(waits, default=None)
    return ready if ready is not None and ready > now else None


def test_start(*, user: User, rng: random.Random | None = None) -> TestAttempt:
    """Draw a fresh set of questions for the user, or return their unfinished attempt.

    Refused to people below the entry bar, to current managers, during the cool-down after a failed
    attempt and during the re-entry wait after a revoked or suspended term. At most one unfinished
    attempt per user (a partial unique index).
    """
    open_attempt = TestAttempt.objects.filter(user=user, submitted_at__isnull=True).first()
    if open_attempt is not None:
        return open_attempt
    if current_term(user=user) is not None:
        raise ModerationError(_("You are an ecosystem manager already."))
    shortfalls = entry_shortfalls(user=user)
    if shortfalls:
        raise ModerationError(" ".join(shortfalls))
    ready = retake_at(user=user)
    if ready is not None:
        raise ModerationError(
            _("You can try again after %(time)s.") % {"time": timezone.localtime(ready).strftime("%Y-%m-%d %H:%M")}
        )
    rules = policy_get()
    bank = list(Question.objects.filter(active=True, rule__active=True).values_list("pk", flat=True))
    if len(bank) < rules.questions_per_attempt:
        raise ModerationError(_("The test is not available right now. Please try again later."))
    drawn = (rng or random.SystemRandom()).sample(bank, rules.questions_per_attempt)
    try:
        with transaction.atomic():
            return TestAttempt.objects.create(user=user, question_ids=drawn)
    except IntegrityError:  # a second tab started one at the same moment
        return TestAttempt.objects.get(user=user, submitted_at__isnull=True)


def test_submit(*, user: User, attempt_id: int, answers: Mapping[int, int], now: datetime | None = None) -> TestAttempt:
    """Score the user's answers on the server; passing grants a manager term.

    ``answers`` maps question ids of the attempt to chosen choice ids; anything else is ignored and
    an unanswered question is wrong. Idempotent: a submitted attempt is returned as it is.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attempt = TestAttempt.objects.select_for_update().filter(pk=attempt_id, user=user).first()
        if attempt is None:
            raise ModerationError(_("This test attempt does not exist."))
        if attempt.submitted_at is not None:
            return attempt
        drawn = [int(pk) for pk in attempt.question_ids]
        correct_choice: dict[int, set[int]] = {pk: set() for pk in drawn}
        valid_choice: dict[int, set[int]] = {pk: set() for pk in drawn}
        for question_id, choice_id, is_correct in Question.objects.filter(pk__in=drawn).values_list(
            "pk", "choices__pk", "choices__is_correct"
        ):
            if choice_id is not None:
                valid_choice[question_id].add(choice_id)
                if is_correct:
                    correct_choice[question_id].add(choice_id)
        kept = {str(q): int(c) for q, c in answers.items() if int(q) in valid_choice and int(c) in valid_choice[int(q)]}
        attempt.answers = kept
        attempt.correct = sum(1 for q, c in kept.items() if c in correct_choice[int(q)])
        attempt.passed = attempt.correct >= policy_get().pass_mark
        attempt.submitted_at = now
        attempt.save(update_fields=["answers", "correct", "passed", "submitted_at"])
        if attempt.passed:
            manager_grant(user=user, attempt=attempt, now=now)
    return attempt


def manager_grant(*, user: User, attempt: TestAttempt | None = None, now: datetime | None = None) -> ManagerTerm:
    """Start a manager term (an expired active row is closed first, so the unique index holds)."""
    now = now or timezone.now()
    ManagerTerm.objects.filter(user=user, status=ManagerTerm.Status.ACTIVE, ends_at__lte=now).update(
        status=ManagerTerm.Status.EXPIRED
    )
    existing = ManagerTerm.objects.filter(user=user, status=ManagerTerm.Status.ACTIVE).first()
    if existing is not None:
        return existing
    header_forget([user.pk])
    return ManagerTerm.objects.create(
        user=user, attempt=attempt, starts_at=now, ends_at=now + timedelta(days=policy_get().term_days)
    )


def term_end(*, term: ManagerTerm, status: ManagerTerm.Status, reason: str, now: datetime | None = None) -> bool:
    """Revoke (staff) or suspend (audits) an active term. True if it was active."""
    ended = (
        ManagerTerm.objects.filter(pk=term.pk, status=ManagerTerm.Status.ACTIVE).update(
            status=status, ended_at=now or timezone.now(), reason=reason[:300]
        )
        == 1
    )
    if ended:
        header_forget([term.user_id])
    return ended


def terms_expire(*, now: datetime | None = None) -> int:
    """Mark terms past their end as expired (daily); harmless to repeat."""
    return ManagerTerm.objects.filter(status=ManagerTerm.Status.ACTIVE, ends_at__lte=now or timezone.now()).update(
        status=ManagerTerm.Status.EXPIRED
    )


# --- Cases ------------------------------------------------------------------------------------------


def _open_case(
    *, note: Note | None, vote: Vote | None, rule: Rule, source: Case.Source, evidence: dict[str, Any] | None = None
) -> tuple[Case, bool]:
    """The open case about this content, locked, or a new one. Returns (case, created)."""
    target = {"note": note} if note is not None else {"vote": vote}
    open_statuses = [Case.Status.OPEN, Case.Status.ESCALATED]
    for _attempt in range(3):
        existing = Case.objects.select_for_update().filter(status__in=open_statuses, is_audit=False, **target).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                return Case.objects.create(rule=rule, source=source, evidence=evidence or {}, **target), True
        except IntegrityError:
            continue  # another report opened it a moment ago: join that one
    raise ModerationError(_("Please try again."))  # pragma: no cover - three races in a row


def _decided_case(*, note: Note | None, vote: Vote | None) -> Case | None:
    """The latest decision about this content as it stands: a vote amended since its decision is new content."""
    # screening clearing a vote it had excluded is no judgement of its words: a report may still open a case
    decided = Case.objects.filter(status=Case.Status.DECIDED, is_audit=False).exclude(
        decided_by=Case.DecidedBy.SCREENING, outcome=Case.Outcome.COMPLIES
    )
    if note is not None:
        decided = decided.filter(note=note)
    else:
        assert vote is not None  # noqa: S101 - the caller checked one of the two
        decided = decided.filter(vote=vote)
        if vote.amended_at is not None:
            decided = decided.filter(decided_at__gte=vote.amended_at)
    return decided.order_by("-decided_at", "-pk").first()


def _vote_hold(*, vote_id: int, now: datetime | None = None) -> None:
    """Stop counting a vote while a case about it is open (an excluded vote stays excluded)."""
    held = Vote.objects.filter(pk=vote_id, verdict=Vote.Verdict.COUNTED).update(
        verdict=Vote.Verdict.REVIEW, updated_at=now or timezone.now()
    )
    if held:
        campaign_id = Vote.objects.filter(pk=vote_id).values_list("campaign_id", flat=True).get()
        rescore_soon(campaign_id=campaign_id)


#: How much a report raises its case's priority: accounts younger than the entry bar (``min_account_days``)
#: count for less, so a batch of fresh accounts cannot push content to the top of every queue.
REPORT_WEIGHT = 2
YOUNG_REPORT_WEIGHT = 1


def report_submit(
    *, reporter: User, rule: Rule, note: Note | None = None, vote: Vote | None = None, comment: str = ""
) -> Case:
    """Report a note or a rating comment. Repeat reports join the open case and raise its priority.

    One road per decision: content already decided is not judged again on a report. The report joins the
    decided case's record (staff see it) and opens nothing; the returned case is then ``DECIDED``, and the
    only way back is the author's appeal to staff. A reported vote is held (not counted) while its case
    is open. The open case is locked while the report joins it, so a deciding vote cannot cross it.

    An account sends at most ``reports_per_day`` reports in any 24 hours, counted with its user row
    locked (parallel reports cannot pass the limit); a report from an account younger than the entry bar
    raises priority by ``YOUNG_REPORT_WEIGHT``, others by ``REPORT_WEIGHT``. An account linked to the
    brand or store of a product the content is about is refused (``stakes.BrandStakeRefused``).
    """
    if (note is None) == (vote is None):
        raise ModerationError(_("Report one note or one rating."))
    author_id = note.author_id if note is not None else vote.user_id  # type: ignore[union-attr]
    if author_id == reporter.pk:
        raise ModerationError(_("You cannot report your own content."))
    if not rule.active:
        raise ModerationError(_("Choose one of the current rules."))
    content_stake_check(user=reporter, message=STAKE_REPORT_MESSAGE, note=note, vote=vote)
    comment = comment.strip()[:500]
    target = {"note": note} if note is not None else {"vote": vote}
    now = timezone.now()
    rules = policy_get()
    with transaction.atomic():
        # The reporter's row is the lock of their daily count: parallel reports from one account take turns.
        User.objects.select_for_update().filter(pk=reporter.pk).first()
        if Report.objects.filter(reporter=reporter, created_at__gt=now - timedelta(days=1)).count() >= (
            rules.reports_per_day
        ):
            raise ModerationError(
                _("You have sent %(cap)d reports in the last 24 hours, the most one account may. Thank you!")
                % {"cap": rules.reports_per_day}
            )
        case = (
            Case.objects.select_for_update()
            .filter(status__in=[Case.Status.OPEN, Case.Status.ESCALATED], is_audit=False, **target)
            .first()
        )
        decided = _decided_case(note=note, vote=vote) if case is None else None
        if decided is None:
            case, _created = _open_case(note=note, vote=vote, rule=rule, source=Case.Source.REPORT)
        else:
            case = decided
        try:
            with transaction.atomic():
                Report.objects.create(case=case, reporter=reporter, rule=rule, comment=comment)
        except IntegrityError:
            if decided is not None:
                raise ModerationError(_("You have reported this already; it was decided.")) from None
            raise ModerationError(_("You have reported this already; managers will look at it.")) from None
        if decided is not None:  # on the record, for staff; it raises no priority and reopens nothing
            Case.objects.filter(pk=case.pk).update(reports_count=F("reports_count") + 1, updated_at=now)
        else:
            young = (now - reporter.date_joined).days < rules.min_account_days
            weight = YOUNG_REPORT_WEIGHT if young else REPORT_WEIGHT
            # updated_at too: the manager's cached case card (moderation/cards.py) is keyed by it
            Case.objects.filter(pk=case.pk).update(
                reports_count=F("reports_count") + 1, priority=F("priority") + weight, updated_at=now
            )
            if vote is not None:
                _vote_hold(vote_id=vote.pk)
    case.refresh_from_db()
    return case


def cases_open_for_review(*, rule: Rule, held: Sequence[tuple[Vote, dict[str, Any], int]]) -> None:
    """Screening's way in: hold votes for review and put them before managers, each with its evidence
    and priority. Each vote stops counting until its case is decided; its product is re-scored.

    In bulk (three statements per thousand votes): the nightly batch may hold tens of thousands. A vote
    that already has an open case (a report opened it) keeps that one; the database refuses a second.
    """
    with transaction.atomic():
        for start in range(0, len(held), 1000):
            part = held[start : start + 1000]
            Case.objects.bulk_create(
                [
                    Case(vote=vote, rule=rule, source=Case.Source.SCREENING, evidence=evidence, priority=priority)
                    for vote, evidence, priority in part
                ],
                ignore_conflicts=True,
            )
            Vote.objects.filter(pk__in=[vote.pk for vote, _, _ in part], verdict=Vote.Verdict.COUNTED).update(
                verdict=Vote.Verdict.REVIEW, updated_at=timezone.now()
            )
        for campaign_id in sorted({vote.campaign_id for vote, _, _ in held}):
            rescore_soon(campaign_id=campaign_id)


def case_open_for_review(*, vote: Vote, rule: Rule, evidence: dict[str, Any], priority: int = 1) -> Case:
    """One vote held for review (see ``cases_open_for_review``); returns its open case."""
    cases_open_for_review(rule=rule, held=[(vote, evidence, priority)])
    return Case.objects.get(vote=vote, status__in=[Case.Status.OPEN, Case.Status.ESCALATED], is_audit=False)


# --- Manager votes and decisions ---------------------------------------------------------------------


def _audit_accuracy(*, manager: User, window: int) -> tuple[int, int]:
    recent = list(
        ManagerVote.objects.filter(manager=manager, audit_correct__isnull=False)
        .order_by("-created_at", "-id")
        .values_list("audit_correct", flat=True)[:window]
    )
    return sum(1 for correct in recent if correct), len(recent)


def _audits_below_bar(*, manager: User) -> bool:
    """Whether the manager's last ``audit_window`` scored audits fall below the accuracy needed (a window
    not yet full never does)."""
    rules = policy_get()
    correct, scored = _audit_accuracy(manager=manager, window=rules.audit_window)
    return scored >= rules.audit_window and Decimal(correct) / scored < rules.audit_min_accuracy


def _check_audits(*, manager: User, term: ManagerTerm) -> None:
    rules = policy_get()
    if _audits_below_bar(manager=manager):
        correct, scored = _audit_accuracy(manager=manager, window=rules.audit_window)
        term_end(
            term=term,
            status=ManagerTerm.Status.SUSPENDED,
            reason=f"audit accuracy {correct}/{scored} below {rules.audit_min_accuracy}",
        )


def suspension_review(*, manager: User, now: datetime | None = None) -> ManagerTerm | None:
    """Lift the manager's audit suspension if their audits, as they now stand, no longer justify it.

    Only a suspension (never a staff revocation) of a term that has not run out, and only while the person
    holds no other active term. The term row is locked, so two accepted disputes lift it once. Returns
    the term when it is active again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        term = (
            ManagerTerm.objects.select_for_update()
            .filter(user=manager, status=ManagerTerm.Status.SUSPENDED, ends_at__gt=now)
            .order_by("-ended_at", "-pk")
            .first()
        )
        if term is None or _audits_below_bar(manager=manager):
            return None
        if ManagerTerm.objects.filter(user=manager, status=ManagerTerm.Status.ACTIVE).exists():
            return None
        ManagerTerm.objects.filter(pk=term.pk).update(status=ManagerTerm.Status.ACTIVE, ended_at=None, reason="")
        header_forget([manager.pk])
    term.refresh_from_db()
    return term


def quorum_rules(policy: ModerationPolicy) -> quorum.Rules:
    """The policy's figures for the adaptive quorum (``moderation/quorum.py``)."""
    return quorum.Rules(
        quorum=policy.quorum,
        quorum_early=policy.quorum_early,
        quorum_most=policy.quorum_most,
        majority_numerator=policy.majority_numerator,
        majority_denominator=policy.majority_denominator,
        early_evidence=float(policy.early_evidence),
    )


def _suspicion(case: Case) -> float | None:
    """Screening's suspicion score in the case's evidence, if it carries one."""
    score = case.evidence.get("score") if isinstance(case.evidence, dict) else None
    return float(score) if isinstance(score, int | float) and 0 <= score <= 1 else None


def vote_cast(
    *,
    manager: User,
    case_id: int,
    choice: str,
    ip_address: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> ManagerVote:
    """Record a manager's vote on a case, and decide or escalate the case when the votes say so.

    Locks the manager's term row, then the case row: the daily cap is counted under the first lock, so
    parallel votes cannot pass it; concurrent deciding votes serialise on the second, and exactly one of
    them decides. A second vote by the same manager is refused (database constraint). A manager with a
    stake in the case (``selectors.has_conflict``: the filter their queue uses) is refused with the
    reason; a stake as a brand's account raises ``stakes.BrandStakeRefused``. The vote records the
    manager's fingerprints, hashed as a rater's are.

    The adaptive blind quorum (``moderation/quorum.py``) reads the case's choices in the order cast and its
    screening evidence: three agreeing votes with strong evidence decide, a split calls up to
    ``quorum_most`` managers, then staff. Audit cases are never decided by votes; each vote is scored
    against the known answer and can suspend the manager, and the audit leaves the queue when a real case
    with the same votes would.
    """
    now = now or timezone.now()
    if choice not in ManagerVote.Choice.values:
        raise ModerationError(_("Choose violates, does not violate, or skip."))
    term = current_term(user=manager, now=now)
    if term is None:
        raise ModerationError(_("Only ecosystem managers can judge cases."))
    rules = policy_get()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        # The term row is the lock of the day's count: a manager's parallel votes (tabs, scripts) take
        # turns, so none passes the cap. Always locked before the case, so two votes cannot deadlock.
        ManagerTerm.objects.select_for_update().filter(pk=term.pk).first()
        if ManagerVote.objects.filter(manager=manager, created_at__gte=today).count() >= rules.daily_cap:
            raise ModerationError(
                _("You have reached today's limit of %(cap)d votes. Thank you!") % {"cap": rules.daily_cap}
            )
        case = Case.objects.select_for_update(of=("self",)).select_related("note", "vote").filter(pk=case_id).first()
        if case is None or case.status != Case.Status.OPEN:
            raise ModerationError(_("This case is no longer open."))
        if selectors.has_conflict(manager_id=manager.pk, case_id=case.pk):
            conflicts = selectors.conflicts_of(manager=manager, case_id=case.pk)
            if selectors.Conflict.OWN in conflicts:
                raise ModerationError(_("You cannot judge your own content."))
            if selectors.Conflict.BRAND in conflicts:
                raise stakes.BrandStakeRefused(STAKE_JUDGE_MESSAGE)
            raise ModerationError(
                _("You cannot judge this case because you have a stake in it: %(reasons)s.")
                % {"reasons": "; ".join(str(conflict.label) for conflict in conflicts)}
            )
        audit_correct = None
        if case.is_audit and choice != ManagerVote.Choice.SKIP:
            audit_correct = choice == case.audit_answer
        try:
            with transaction.atomic():
                vote = ManagerVote.objects.create(
                    case=case,
                    manager=manager,
                    choice=choice,
                    audit_correct=audit_correct,
                    ip_hash=fingerprint(ip_address),
                    user_agent_hash=fingerprint(user_agent),
                    created_at=now,
                )
        except IntegrityError:
            raise ModerationError(_("You have voted on this case already.")) from None
        if case.is_audit and audit_correct is not None:
            _check_audits(manager=manager, term=term)
        choices = list(
            ManagerVote.objects.filter(case=case).order_by("created_at", "id").values_list("choice", flat=True)
        )
        step = quorum.next_step(choices, suspicion=_suspicion(case), rules=quorum_rules(rules))
        if case.is_audit:
            # an audit leaves the queue when a real case with the same votes would (it is never decided)
            if step.step != quorum.Step.WAIT:
                Case.objects.filter(pk=case.pk).update(status=Case.Status.ESCALATED, escalated_at=now, updated_at=now)
        elif step.step == quorum.Step.DECIDE:
            decision_apply(case=case, outcome=Case.Outcome(step.outcome), now=now)
        elif step.step == quorum.Step.ESCALATE:
            Case.objects.filter(pk=case.pk).update(status=Case.Status.ESCALATED, escalated_at=now, updated_at=now)
    return vote


def vote_undo(*, manager: User, case_id: int, now: datetime | None = None) -> None:
    """Take back the manager's vote on a case within ``undo_seconds`` of casting it, while the case is open.

    The case row is locked, as ``vote_cast`` locks it: an undo and a deciding vote take turns, so a vote
    that decided its case (or escalated it) can no longer be taken back, and an undo never leaves a
    decision without the votes that made it. The vote is deleted: the case is back in the manager's
    queue and today's count has one more vote left. Refused with a message otherwise.
    """
    now = now or timezone.now()
    window = timedelta(seconds=policy_get().undo_seconds)
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None or case.status != Case.Status.OPEN:
            raise ModerationError(_("This case is decided already: the vote stands."))
        vote = ManagerVote.objects.filter(case=case, manager=manager).first()
        if vote is None:
            raise ModerationError(_("You have no vote on this case to undo."))
        if vote.created_at < now - window:
            raise ModerationError(_("The time to undo this vote has passed."))
        vote.delete()


def decision_apply(
    *, case: Case, outcome: Case.Outcome, staff: User | None = None, now: datetime | None = None
) -> Case:
    """Decide a case and make it take effect at once; overturning an earlier decision undoes its effect.

    The case records who decided: staff when ``staff`` is given (they take over a decision they
    overturn), else the managers' votes.

    Violating content is hidden (a note) or excluded from scoring (a vote, then re-scored); content
    found compliant is shown and counted again if moderation had taken it away. The author is told.
    Runs inside the caller's transaction or its own. Staff linked to the brand or store of a product the
    case is about are refused (``stakes.BrandStakeRefused``): managers' votes were screened for that already.
    """
    now = now or timezone.now()
    if staff is not None:
        content_stake_check(user=staff, message=STAKE_JUDGE_MESSAGE, note=case.note, vote=case.vote)
    decided_by = Case.DecidedBy.STAFF if staff is not None else Case.DecidedBy.MANAGERS
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.DECIDED, outcome=outcome, decided_at=now, decided_by_staff=staff, decided_by=decided_by
        )
        violates = outcome == Case.Outcome.VIOLATES
        if case.note_id is not None:
            Note.objects.filter(pk=case.note_id).update(
                visibility=Note.Visibility.HIDDEN if violates else Note.Visibility.VISIBLE, updated_at=now
            )
            author_id = case.note.author_id  # type: ignore[union-attr]
            mentioned = list(NoteProduct.objects.filter(note_id=case.note_id).values_list("product_id", flat=True))
            transaction.on_commit(lambda: page_cache.forget(mentioned))
        else:
            vote = Vote.objects.get(pk=int(case.vote_id))  # type: ignore[arg-type]
            author_id = vote.user_id
            if violates:
                changed = (
                    Vote.objects.filter(pk=vote.pk)
                    .exclude(verdict=Vote.Verdict.EXCLUDED)
                    .update(
                        verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.MODERATION, updated_at=now
                    )
                )
            else:
                changed = vote_reinstate(vote_id=vote.pk, now=now)
                screening_exclusions_clear(vote_ids=[vote.pk], now=now)  # its author's page says it is back
            if changed:
                rescore_soon(campaign_id=vote.campaign_id)
        if violates:
            Notification.objects.get_or_create(
                user_id=author_id,
                kind=Notification.Kind.DECISION,
                subject_id=case.pk,
                defaults={"url": _decision_url(case.pk), "context": {"rule": case.rule_id, "by": decided_by}},
            )
            header_forget([author_id])
    case.refresh_from_db()
    return case


def _decision_url(case_id: int) -> str:
    return reverse("moderation:decision", kwargs={"pk": case_id})


def screening_exclusions_record(
    *, rule: Rule, excluded: Sequence[tuple[int, int, dict[str, Any]]], now: datetime | None = None
) -> int:
    """Screening's exclusions as decisions an author can read and appeal, like managers' decisions.

    ``excluded``: (vote id, author id, evidence with the reasons) of votes screening has just excluded.
    Each gets a decided case (``decided_by`` screening, never a training label) and a message in its
    author's inbox that links to it. In bulk (two statements per thousand votes); a vote whose current
    screening decision already excludes it gets nothing new, so a re-run tells nobody twice.
    """
    now = now or timezone.now()
    recorded = 0
    with transaction.atomic():
        for start in range(0, len(excluded), 1000):
            part = excluded[start : start + 1000]
            known = set(
                Case.objects.filter(
                    vote_id__in=[vote_id for vote_id, _, _ in part],
                    decided_by=Case.DecidedBy.SCREENING,
                    outcome=Case.Outcome.VIOLATES,
                ).values_list("vote_id", flat=True)
            )
            fresh = [(vote_id, user_id, evidence) for vote_id, user_id, evidence in part if vote_id not in known]
            cases = Case.objects.bulk_create(
                Case(
                    vote_id=vote_id,
                    rule=rule,
                    source=Case.Source.SCREENING,
                    status=Case.Status.DECIDED,
                    outcome=Case.Outcome.VIOLATES,
                    decided_by=Case.DecidedBy.SCREENING,
                    decided_at=now,
                    evidence=evidence,
                    created_at=now,
                )
                for vote_id, _user_id, evidence in fresh
            )
            Notification.objects.bulk_create(
                [
                    Notification(
                        user_id=user_id,
                        kind=Notification.Kind.DECISION,
                        subject_id=case.pk,
                        url=_decision_url(case.pk),
                        context={"rule": rule.pk, "by": Case.DecidedBy.SCREENING.value},
                    )
                    for case, (_vote_id, user_id, _evidence) in zip(cases, fresh, strict=True)
                ],
                ignore_conflicts=True,
            )
            header_forget(user_id for _vote_id, user_id, _evidence in fresh)
            recorded += len(cases)
    return recorded


def screening_exclusions_clear(*, vote_ids: Sequence[int], now: datetime | None = None) -> int:
    """Screening counts these votes again: its decisions that excluded them now say so (the author's
    decision page reads that the rating is back). Harmless to repeat."""
    now = now or timezone.now()
    return Case.objects.filter(
        vote_id__in=list(vote_ids), decided_by=Case.DecidedBy.SCREENING, outcome=Case.Outcome.VIOLATES
    ).update(outcome=Case.Outcome.COMPLIES, decided_at=now, updated_at=now)


# --- Audits ------------------------------------------------------------------------------------------

#: Real cases an audit's profile is drawn from: the latest of its kind (notes or rating comments).
AUDIT_DONORS = 500


def audit_profile(
    *, rule: Rule, about_note: bool, rng: random.Random | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The evidence of a known-answer case, drawn like a real case's, so nothing in the queue tells it apart.

    A real case about the same kind of content (a note or a rating comment) is drawn at random among the
    latest ``AUDIT_DONORS``, open ones first (they are what the queue shows): its source, report count,
    priority and screening evidence are copied; the audit is opened ``now``. Create audits steadily (a few
    at a time) rather than in one batch: a run of consecutive case numbers would stand out. The reporters'
    words are as many as the real case has, drawn from reports of the same rule on cases no longer open
    (never words a manager is reading in the queue today). With no real case yet, a plain single-report profile.
    """
    rng = rng or random.SystemRandom()
    now = now or timezone.now()
    kind = {"note__isnull": False} if about_note else {"vote__isnull": False}
    real = Case.objects.filter(is_audit=False, **kind).exclude(decided_by=Case.DecidedBy.SCREENING)
    donors = list(real.filter(status=Case.Status.OPEN).order_by("-pk").values_list("pk", flat=True)[:AUDIT_DONORS])
    donors = donors or list(real.order_by("-pk").values_list("pk", flat=True)[:AUDIT_DONORS])
    if not donors:
        return {"source": Case.Source.REPORT, "reports_count": 1, "priority": 1 + REPORT_WEIGHT, "evidence": {}}
    donor = Case.objects.get(pk=rng.choice(donors))
    wanted = Report.objects.filter(case=donor).exclude(comment="").count()
    words = Report.objects.filter(rule=rule).exclude(comment="").order_by("-pk").values_list("comment", flat=True)
    pool = list(words.exclude(case__status=Case.Status.OPEN)[:AUDIT_DONORS]) or list(words[:AUDIT_DONORS])
    evidence = {key: value for key, value in (donor.evidence or {}).items() if key != "report_reasons"}
    if wanted and pool:
        evidence["report_reasons"] = [rng.choice(pool) for _ in range(wanted)]
    # Opened now, as a real case is: it ages, is retired and goes stale like one (copying the donor's age
    # made audits leave the queue sooner, so the ones left had newer case numbers than real cases).
    return {
        "source": donor.source,
        "reports_count": donor.reports_count,
        "priority": donor.priority,
        "evidence": evidence,
        "created_at": now,
    }


def audit_create(
    *,
    rule: Rule,
    answer: Case.Outcome,
    note: Note | None = None,
    vote: Vote | None = None,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> Case:
    """A known-answer case about this note or rating comment, mixed into queues unannounced, with evidence
    drawn like a real case's (``audit_profile``). Audits are never decided by votes; they score managers."""
    if (note is None) == (vote is None):
        raise ModerationError(_("An audit is about one note or one rating."))
    profile = audit_profile(rule=rule, about_note=note is not None, rng=rng, now=now)
    return Case.objects.create(note=note, vote=vote, rule=rule, is_audit=True, audit_answer=answer, **profile)


def cases_escalate_stale(*, now: datetime | None = None) -> int:
    """Escalate open cases older than the policy allows (hourly); harmless to repeat.

    Audits leave the queue at the same age (staff never decide them; the admin skips audits): an audit
    that stayed for ever would stand out among recent cases by its old case number."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=policy_get().stale_hours)
    return Case.objects.filter(status=Case.Status.OPEN, created_at__lt=cutoff).update(
        status=Case.Status.ESCALATED, escalated_at=now, updated_at=now
    )


# --- Appeals and disputes ------------------------------------------------------------------------------


def appeal_submit(*, author: User, case_id: int, reason: str) -> Appeal:
    """The author's one appeal of a violating decision, for staff; never by an account linked to the brand or
    store of a product it is about (``stakes.BrandStakeRefused``)."""
    reason = reason.strip()
    if not reason:
        raise ModerationError(_("Say why the decision is wrong."))
    case = Case.objects.select_related("note", "vote").filter(pk=case_id, status=Case.Status.DECIDED).first()
    if case is None or case.author_id != author.pk or case.outcome != Case.Outcome.VIOLATES:
        raise ModerationError(_("There is no decision to appeal."))
    content_stake_check(user=author, message=STAKE_APPEAL_MESSAGE, note=case.note, vote=case.vote)
    try:
        with transaction.atomic():
            return Appeal.objects.create(case=case, author=author, reason=reason[:2000])
    except IntegrityError:
        raise ModerationError(_("You have appealed this decision already.")) from None


def appeal_resolve(*, appeal: Appeal, staff: User, overturn: bool) -> Appeal:
    """Staff uphold or overturn; overturning restores the content (and re-scores a vote). The author is
    told the answer in their inbox. Never by staff linked to the brand or store of a product it is about."""
    content_stake_check(user=staff, message=STAKE_JUDGE_MESSAGE, note=appeal.case.note, vote=appeal.case.vote)
    with transaction.atomic():
        if not Appeal.objects.filter(pk=appeal.pk, status=Appeal.Status.OPEN).update(
            status=Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD,
            resolved_by=staff,
            resolved_at=timezone.now(),
        ):
            raise ModerationError(_("This appeal has been resolved already."))
        if overturn:
            decision_apply(case=appeal.case, outcome=Case.Outcome.COMPLIES, staff=staff)
        appeal.refresh_from_db()
        Notification.objects.get_or_create(
            user_id=appeal.author_id,
            kind=Notification.Kind.APPEAL,
            subject_id=appeal.pk,
            defaults={"url": _decision_url(appeal.case_id), "context": {"status": appeal.status}},
        )
        header_forget([appeal.author_id])
    return appeal


def dispute_submit(*, manager: User, vote_id: int, reason: str) -> AuditDispute:
    """A manager disputes, once, an audit they were marked wrong on."""
    reason = reason.strip()
    if not reason:
        raise ModerationError(_("Say why your answer was right."))
    vote = ManagerVote.objects.filter(pk=vote_id, manager=manager, audit_correct=False).first()
    if vote is None:
        raise ModerationError(_("There is no audit to dispute."))
    try:
        with transaction.atomic():
            return AuditDispute.objects.create(vote=vote, reason=reason[:2000])
    except IntegrityError:
        raise ModerationError(_("You have disputed this audit already.")) from None


def dispute_resolve(*, dispute: AuditDispute, accept: bool) -> AuditDispute:
    """Staff accept (the vote counts as correct) or reject a dispute. An accepted one recomputes the
    manager's audit accuracy and lifts a suspension it no longer justifies."""
    with transaction.atomic():
        if not AuditDispute.objects.filter(pk=dispute.pk, status=AuditDispute.Status.OPEN).update(
            status=AuditDispute.Status.ACCEPTED if accept else AuditDispute.Status.REJECTED, resolved_at=timezone.now()
        ):
            raise ModerationError(_("This dispute has been resolved already."))
        if accept:
            ManagerVote.objects.filter(pk=dispute.vote_id).update(audit_correct=True)
            manager = User.objects.get(
                pk=ManagerVote.objects.values_list("manager_id", flat=True).get(pk=dispute.vote_id)
            )
            suspension_review(manager=manager)
    dispute.refresh_from_db()
    return dispute
