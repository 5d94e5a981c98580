"""Counterfeit claims: a buyer reports that the store they bought from sold a fake, managers and staff decide.

Its own kind of case (``CounterfeitCase``, one live claim per product and store), judged on its own page
by the same adaptive blind quorum as content cases (``moderation/quorum.py``; a claim carries no screening
evidence, so it never closes early). A confirmed claim holds the product off the Little Red Heart list and
the category rankings until staff clear it; the product page says so. Claims nobody decides within the
policy's ``counterfeit_stale_days`` go to staff (``claims_escalate_stale``, hourly with the content cases).

The database guards the invariants (one live claim per product and store, one report per person and claim,
one vote per manager and claim); the code checks first for a clear message and turns a racing
``IntegrityError`` into the same message. A claim is decided with its row locked, so two managers casting
the deciding votes at once produce one decision.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.header import header_forget
from accounts.models import Notification, User
from catalog import page_cache, stakes
from catalog.models import OrderLine, Product
from moderation import quorum
from moderation.models import CounterfeitCase, CounterfeitReport, CounterfeitVote, ManagerTerm, ManagerVote
from moderation.services import (
    STAKE_JUDGE_MESSAGE,
    STAKE_REPORT_MESSAGE,
    ModerationError,
    current_term,
    policy_get,
    quorum_rules,
)
from ratings.models import ProductResult
from ratings.services import rescore_soon

LIVE = (CounterfeitCase.Status.OPEN, CounterfeitCase.Status.ESCALATED, CounterfeitCase.Status.CONFIRMED)
#: The quorum's words for a claim's choices: "violates" is "counterfeit".
QUORUM_CHOICE = {
    CounterfeitVote.Choice.COUNTERFEIT: quorum.VIOLATES,
    CounterfeitVote.Choice.GENUINE: quorum.COMPLIES,
    CounterfeitVote.Choice.SKIP: quorum.SKIP,
}


def buyer_purchases(*, user: User, product: Product) -> list[OrderLine]:
    """The user's genuine purchases of the product (paid, neither refunded nor cancelled), newest first,
    one per store: the stores they may report."""
    if not user.is_authenticated:
        return []
    lines = (
        OrderLine.objects.filter(buyer=user, product=product, status=OrderLine.Status.PAID)
        .select_related("store")
        .order_by("-paid_at", "-id")
    )
    by_store: dict[int, OrderLine] = {}
    for line in lines:
        by_store.setdefault(line.store_id, line)
    return list(by_store.values())


def report_submit(*, reporter: User, product: Product, store_id: int, description: str) -> CounterfeitCase:
    """A buyer reports that what they bought of ``product`` from the store was fake; returns the claim.

    Only an account with a genuine purchase of the product from that store may report (the purchase is
    recorded with the report); anyone else is refused and nothing is stored. Repeat reports by other buyers
    join the live claim; a second report by the same person is refused (database constraint). The live
    claim is locked while a report joins it, so a deciding vote cannot cross it; a report about a confirmed
    claim joins its record. An account linked to the product's brand or store is refused
    (``stakes.BrandStakeRefused``): brands can never steer.
    """
    description = description.strip()[:500]
    if not description:
        raise ModerationError(_("Say briefly what makes it look fake."))
    if reporter.is_banned:
        raise ModerationError(_("Your account is under a sanction."))
    stakes.refuse_if_stake(user_id=reporter.pk, product_ids=[product.pk], message=STAKE_REPORT_MESSAGE)
    purchase = (
        OrderLine.objects.filter(buyer=reporter, product=product, store_id=store_id, status=OrderLine.Status.PAID)
        .order_by("-paid_at", "-id")
        .first()
    )
    if purchase is None:
        raise ModerationError(
            _(
                "Only buyers can report a counterfeit: we find no kept purchase of this product from that "
                "store on your account."
            )
        )
    now = timezone.now()
    with transaction.atomic():
        case = _live_claim(product_id=product.pk, store_id=store_id)
        try:
            with transaction.atomic():
                CounterfeitReport.objects.create(
                    case=case, reporter=reporter, purchase=purchase, description=description, created_at=now
                )
        except IntegrityError:
            raise ModerationError(_("You have reported this already; it is being looked at.")) from None
        CounterfeitCase.objects.filter(pk=case.pk).update(reports_count=F("reports_count") + 1, updated_at=now)
    case.refresh_from_db()
    return case


def _live_claim(*, product_id: int, store_id: int) -> CounterfeitCase:
    """The live claim about the product from the store, locked, or a new one."""
    for _attempt in range(3):
        existing = (
            CounterfeitCase.objects.select_for_update()
            .filter(product_id=product_id, store_id=store_id, status__in=LIVE)
            .first()
        )
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return CounterfeitCase.objects.create(product_id=product_id, store_id=store_id)
        except IntegrityError:
            continue  # another buyer opened it a moment ago: join that one
    raise ModerationError(_("Please try again."))  # pragma: no cover - three races in a row


def vote_cast(*, manager: User, case_id: int, choice: str, now: datetime | None = None) -> CounterfeitVote:
    """Record a manager's vote on an open claim; decide or escalate it when the votes say so.

    Locks as ``services.vote_cast`` does: the manager's term row first (the day's cap counts content and
    counterfeit votes together, so parallel votes cannot pass it), then the claim row (exactly one of two
    deciding votes decides). A manager who reported the claim does not judge it, nor one linked to the
    product's brand or store (``stakes.BrandStakeRefused``); a second vote is refused (database constraint).
    """
    now = now or timezone.now()
    if choice not in CounterfeitVote.Choice.values:
        raise ModerationError(_("Choose counterfeit, not shown to be counterfeit, or skip."))
    term = current_term(user=manager, now=now)
    if term is None:
        raise ModerationError(_("Only ecosystem managers can judge cases."))
    rules = policy_get()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        ManagerTerm.objects.select_for_update().filter(pk=term.pk).first()
        cast_today = (
            ManagerVote.objects.filter(manager=manager, created_at__gte=today).count()
            + CounterfeitVote.objects.filter(manager=manager, created_at__gte=today).count()
        )
        if cast_today >= rules.daily_cap:
            raise ModerationError(
                _("You have reached today's limit of %(cap)d votes. Thank you!") % {"cap": rules.daily_cap}
            )
        case = CounterfeitCase.objects.select_for_update().filter(pk=case_id).first()
        if case is None or case.status != CounterfeitCase.Status.OPEN:
            raise ModerationError(_("This case is no longer open."))
        if CounterfeitReport.objects.filter(case=case, reporter=manager).exists():
            raise ModerationError(_("You reported this claim, so others judge it."))
        stakes.refuse_if_stake(user_id=manager.pk, product_ids=[case.product_id], message=STAKE_JUDGE_MESSAGE)
        try:
            with transaction.atomic():
                vote = CounterfeitVote.objects.create(case=case, manager=manager, choice=choice, created_at=now)
        except IntegrityError:
            raise ModerationError(_("You have voted on this case already.")) from None
        choices = [
            QUORUM_CHOICE[CounterfeitVote.Choice(c)]
            for c in CounterfeitVote.objects.filter(case=case)
            .order_by("created_at", "id")
            .values_list("choice", flat=True)
        ]
        step = quorum.next_step(choices, suspicion=None, rules=quorum_rules(rules))
        if step.step == quorum.Step.DECIDE:
            decide(case=case, confirmed=step.outcome == quorum.VIOLATES, now=now)
        elif step.step == quorum.Step.ESCALATE:
            CounterfeitCase.objects.filter(pk=case.pk).update(
                status=CounterfeitCase.Status.ESCALATED, escalated_at=now, updated_at=now
            )
    return vote


def decide(
    *, case: CounterfeitCase, confirmed: bool, staff: User | None = None, now: datetime | None = None
) -> CounterfeitCase:
    """Confirm or clear a claim and make it take effect at once; its reporters are told.

    Staff (``staff`` given) may decide any claim, and are the only ones who clear a confirmed one; the
    managers' votes decide an open one. A confirmed claim holds the product off the lists: its category's
    list is rebuilt by a re-score after commit, and its cached pages are dropped. Refused if another live
    claim about the same product and store stands (the database allows one). Runs inside the caller's
    transaction or its own; harmless to repeat (the reporters' message is updated, never doubled). Staff linked
    to the product's brand or store are refused (``stakes.BrandStakeRefused``).
    """
    now = now or timezone.now()
    if staff is not None:
        stakes.refuse_if_stake(user_id=staff.pk, product_ids=[case.product_id], message=STAKE_JUDGE_MESSAGE)
    status = CounterfeitCase.Status.CONFIRMED if confirmed else CounterfeitCase.Status.CLEARED
    by = CounterfeitCase.DecidedBy.STAFF if staff is not None else CounterfeitCase.DecidedBy.MANAGERS
    try:
        with transaction.atomic():
            CounterfeitCase.objects.filter(pk=case.pk).update(
                status=status, decided_by=by, decided_by_staff=staff, decided_at=now, updated_at=now
            )
            _reporters_tell(case=case, status=status, by=by, now=now)
            _lists_refresh(product_id=case.product_id)
    except IntegrityError:
        raise ModerationError(_("Another claim about this product and store is open or confirmed.")) from None
    case.refresh_from_db()
    return case


def _reporters_tell(*, case: CounterfeitCase, status: str, by: str, now: datetime) -> None:
    """One message per reporter and claim, brought up to date (and unread again) by a later decision."""
    reporter_ids = list(CounterfeitReport.objects.filter(case=case).values_list("reporter_id", flat=True))
    url = Product.objects.get(pk=case.product_id).get_absolute_url()
    context = {"status": status, "by": by}
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=user_id, kind=Notification.Kind.COUNTERFEIT, subject_id=case.pk, url=url, context=context
            )
            for user_id in reporter_ids
        ],
        ignore_conflicts=True,
    )
    Notification.objects.filter(kind=Notification.Kind.COUNTERFEIT, subject_id=case.pk).exclude(context=context).update(
        context=context, read_at=None, updated_at=now
    )
    header_forget(reporter_ids)


def _lists_refresh(*, product_id: int) -> None:
    """After a decision: re-score the product (its category's list is rebuilt with the claim in force) and
    drop its cached pages. A product never scored is on no list: only its page changes."""
    campaign_id = (
        ProductResult.objects.filter(product_id=product_id, is_latest=True)
        .values_list("campaign_id", flat=True)
        .first()
    )
    if campaign_id is not None:
        rescore_soon(campaign_id=campaign_id)
    transaction.on_commit(lambda: page_cache.forget([product_id]))


def claims_escalate_stale(*, now: datetime | None = None) -> int:
    """Open claims older than the policy's ``counterfeit_stale_days`` go to staff (hourly); harmless to repeat."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=policy_get().counterfeit_stale_days)
    return CounterfeitCase.objects.filter(status=CounterfeitCase.Status.OPEN, created_at__lt=cutoff).update(
        status=CounterfeitCase.Status.ESCALATED, escalated_at=now, updated_at=now
    )
