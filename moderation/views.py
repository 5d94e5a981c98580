from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from catalog import stakes
from catalog.models import Note, Product
from catalog.stakes import BrandStakeRefused
from catalog.views import stake_refused
from moderation import counterfeits, selectors, services
from moderation.cards import case_card, case_cards
from moderation.forms import AttemptForm, CounterfeitReportForm, ReasonForm, ReportForm
from moderation.models import Case, CounterfeitVote, ManagerTerm, ManagerVote, TestAttempt
from moderation.reasons import reasons_text
from ratings.models import Vote
from xhs.client_address import client_address, client_user_agent

View = Callable[..., HttpResponse]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def manager_required(view: View) -> View:
    """Signed in and holding a manager term in force, else 403 (a suspended manager too)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        term = services.current_term(user=_user(request))
        if term is None:
            raise PermissionDenied("ecosystem managers only")
        request.manager_term = term  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


# --- The rules test --------------------------------------------------------------------------------


@login_required
@require_GET
def test_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context = {
        "term": services.current_term(user=user),
        "past_terms": ManagerTerm.objects.filter(user=user).exclude(status=ManagerTerm.Status.ACTIVE)[:5],
        "shortfalls": services.entry_shortfalls(user=user),
        "retake_at": services.retake_at(user=user),
        "open_attempt": TestAttempt.objects.filter(user=user, submitted_at__isnull=True).first(),
        "last_attempt": TestAttempt.objects.filter(user=user, submitted_at__isnull=False).first(),
        "policy": services.policy_get(),
        "rules": selectors.active_rules(),
    }
    return render(request, "moderation/test_home.html", context)


@login_required
@require_POST
def test_start(request: HttpRequest) -> HttpResponse:
    try:
        attempt = services.test_start(user=_user(request))
    except services.ModerationError as error:
        messages.error(request, str(error.message))
        return redirect("moderation:test")
    return redirect("moderation:attempt", pk=attempt.pk)


@login_required
@require_http_methods(["GET", "POST"])
def test_attempt(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = get_object_or_404(TestAttempt, pk=pk, user=_user(request))
    if attempt.submitted_at is not None:
        context = {"attempt": attempt, "policy": services.policy_get(), "missed": selectors.attempt_missed(attempt)}
        return render(request, "moderation/test_result.html", context)
    form = AttemptForm(request.POST or None, questions=selectors.attempt_questions(attempt))
    if request.method == "POST" and form.is_valid():
        services.test_submit(user=_user(request), attempt_id=attempt.pk, answers=form.answers())
        return redirect("moderation:attempt", pk=attempt.pk)
    return render(request, "moderation/test_attempt.html", {"attempt": attempt, "form": form})


# --- The dashboard -----------------------------------------------------------------------------------


def _desk(request: HttpRequest) -> dict[str, Any]:
    """What every desk page shows beside its cases: votes left today, and votes the manager may still undo."""
    rules = services.policy_get()
    votes = selectors.desk_votes(manager=_user(request), window_seconds=rules.undo_seconds)
    return {
        "term": request.manager_term,  # type: ignore[attr-defined]
        "votes_left": max(0, rules.daily_cap - votes.today),
        "daily_cap": rules.daily_cap,
        "undo_seconds": rules.undo_seconds,
        "undoable": votes.undoable,
    }


@manager_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = case_cards(selectors.queue_entries(manager=_user(request)), request)
    return render(request, "moderation/dashboard.html", {"cards": cards, **_desk(request)})


@manager_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One case on its own page: an open case the manager has no stake in, else as if it did not exist."""
    case = selectors.case_for_manager(manager=_user(request), case_id=pk)
    if case is None:
        raise Http404("no open case for you here")
    mine = selectors.own_vote(manager=_user(request), case_id=case.pk)
    desk = _desk(request)
    # The vote is named once, beside the case (with its undo while it may be taken back), not in the list too.
    mine_undoable = any(vote.case_id == case.pk for vote in desk["undoable"])
    desk["undoable"] = [vote for vote in desk["undoable"] if vote.case_id != case.pk]
    context = {
        "card": case_card(case, request, voting=mine is None),
        "mine": mine,
        "mine_undoable": mine_undoable,
        **desk,
    }
    return render(request, "moderation/case.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _answer(request: HttpRequest, *, ok: bool, message: str, status: int = 200, on_desk: bool = False) -> HttpResponse:
    """A JSON answer for the page's script, or a message and a redirect to the queue without JavaScript;
    no message when the desk names it already (``on_desk``): once is enough."""
    if _wants_json(request):
        rules = services.policy_get()
        votes = selectors.desk_votes(manager=_user(request), window_seconds=rules.undo_seconds)
        left = max(0, rules.daily_cap - votes.today)
        return JsonResponse({"ok": ok, "message": message, "left": left}, status=status)
    if not on_desk:
        (messages.success if ok else messages.error)(request, message)
    return redirect("moderation:dashboard")


@manager_required
@require_POST
def case_vote(request: HttpRequest, pk: int) -> HttpResponse:
    """One click or key: a JSON answer for the page's script, a redirect without JavaScript."""
    choice = request.POST.get("choice", "")
    try:
        services.vote_cast(
            manager=_user(request),
            case_id=pk,
            choice=choice,
            ip_address=client_address(request),
            user_agent=client_user_agent(request),
        )
    except BrandStakeRefused as error:
        if _wants_json(request):
            return _answer(request, ok=False, message=str(error.message), status=403)
        return stake_refused(request, error)
    except services.ModerationError as error:
        return _answer(request, ok=False, message=str(error.message), status=409)
    # Without JavaScript the desk lists a vote that may be taken back beside its undo (``_desk_status.html``);
    # one that closed its case is not there, and the message names it instead.
    on_desk = not _wants_json(request) and any(
        vote.case_id == pk
        for vote in selectors.desk_votes(
            manager=_user(request), window_seconds=services.policy_get().undo_seconds
        ).undoable
    )
    return _answer(
        request,
        ok=True,
        message=_("Your vote on case %(number)s: %(choice)s.")
        % {"number": pk, "choice": ManagerVote.Choice(choice).label},
        on_desk=on_desk,
    )


@manager_required
@require_POST
def case_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back one's own vote within the policy's seconds, while the case is undecided."""
    try:
        services.vote_undo(manager=_user(request), case_id=pk)
    except services.ModerationError as error:
        return _answer(request, ok=False, message=str(error.message), status=409)
    return _answer(request, ok=True, message=_("Vote taken back: the case is in your queue again."))


@manager_required
@require_GET
def audits(request: HttpRequest) -> HttpResponse:
    record = selectors.audit_record(manager=_user(request))
    rules = services.policy_get()
    scored = [vote for vote in record if vote.audit_correct is not None]
    context = {
        "record": record,
        "correct": sum(1 for vote in scored if vote.audit_correct),
        "scored": len(scored),
        "policy": rules,
        "form": ReasonForm(),
    }
    return render(request, "moderation/audits.html", context)


@manager_required
@require_POST
def audit_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ManagerVote, pk=pk, manager=_user(request))  # someone else's vote: as if it did not exist
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.dispute_submit(manager=_user(request), vote_id=pk, reason=form.cleaned_data["reason"])
            messages.success(request, _("Your dispute is with staff."))
        except services.ModerationError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _("Say why your answer was right."))
    return redirect("moderation:audits")


# --- Reports and appeals -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    note = vote = None
    if kind == "note":
        note = get_object_or_404(Note.objects.select_related("author"), pk=pk, visibility=Note.Visibility.VISIBLE)
    elif kind == "rating":
        # a held or excluded rating is nobody's to read here: not its words, author or product
        vote = get_object_or_404(Vote.objects.select_related("user", "product"), pk=pk, verdict=Vote.Verdict.COUNTED)
        if not vote.comment:
            raise Http404("only ratings with a comment can be reported")
    else:
        raise Http404("unknown content")
    try:  # a brand's account is not offered the form at all
        services.content_stake_check(user=_user(request), message=services.STAKE_REPORT_MESSAGE, note=note, vote=vote)
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.report_submit(
                reporter=_user(request),
                rule=form.cleaned_data["rule"],
                note=note,
                vote=vote,
                comment=form.cleaned_data["comment"],
            )
        except services.ModerationError as error:
            form.add_error(None, str(error.message))
        else:
            if case.status == Case.Status.DECIDED:
                messages.info(
                    request,
                    _(
                        "Thank you. This content was already decided; your report is added to its record. "
                        "A decision is not judged again on a report: only its author can appeal, to staff."
                    ),
                )
            else:
                messages.success(request, _("Thank you. Ecosystem managers will look at it."))
            product = vote.product if vote is not None else note.products.first()  # type: ignore[union-attr]
            return redirect(product.get_absolute_url() if product else "catalog:home")
    return render(request, "moderation/report.html", {"form": form, "note": note, "vote": vote})


@login_required
@require_http_methods(["GET", "POST"])
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_for_author(user=_user(request), case_id=pk)
    if case is None:
        raise Http404("no such decision about your content")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.appeal_submit(author=_user(request), case_id=case.pk, reason=form.cleaned_data["reason"])
        except BrandStakeRefused as error:
            return stake_refused(request, error)
        except services.ModerationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Your appeal is with staff. You will be told their answer."))
            return redirect("moderation:decision", pk=case.pk)
    context = {
        "case": case,
        "form": form,
        "appeal": getattr(case, "appeal", None),
        "reasons": reasons_text(case.evidence.get("reasons", [])) if isinstance(case.evidence, dict) else [],
    }
    return render(request, "moderation/decision.html", context)


# --- Counterfeit claims --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def counterfeit_report(request: HttpRequest, slug: str) -> HttpResponse:
    """A buyer reports a suspected counterfeit, naming the store it came from (one of their purchases)."""
    product = get_object_or_404(Product.objects.select_related("brand", "store"), slug=slug, is_active=True)
    try:  # a brand's account is not offered the form at all
        stakes.refuse_if_stake(
            user_id=_user(request).pk, product_ids=[product.pk], message=services.STAKE_REPORT_MESSAGE
        )
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    purchases = counterfeits.buyer_purchases(user=_user(request), product=product)
    stores = [
        (line.store_id, f"{line.store.name} ({line.store.get_kind_display()}) · {line.paid_at:%Y-%m-%d}")
        for line in purchases
    ]
    form = CounterfeitReportForm(request.POST or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        try:
            counterfeits.report_submit(
                reporter=_user(request),
                product=product,
                store_id=form.cleaned_data["store"],
                description=form.cleaned_data["description"],
            )
        except BrandStakeRefused as error:
            return stake_refused(request, error)
        except services.ModerationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request, _("Thank you. Ecosystem managers will look at your report; you will be told their decision.")
            )
            return redirect(product.get_absolute_url())
    return render(
        request, "moderation/counterfeit_report.html", {"product": product, "form": form, "is_buyer": bool(purchases)}
    )


@manager_required
@require_GET
def counterfeit_claims(request: HttpRequest) -> HttpResponse:
    """The managers' page of counterfeit claims: the oldest open ones they have no part in."""
    context = {"claims": selectors.counterfeit_queue(manager=_user(request)), "choices": CounterfeitVote.Choice}
    return render(request, "moderation/counterfeit_claims.html", context)


@manager_required
@require_POST
def counterfeit_vote(request: HttpRequest, pk: int) -> HttpResponse:
    choice = request.POST.get("choice", "")
    try:
        counterfeits.vote_cast(manager=_user(request), case_id=pk, choice=choice)
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    except services.ModerationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Your vote on claim %(number)s: %(choice)s.")
            % {"number": pk, "choice": CounterfeitVote.Choice(choice).label},
        )
    return redirect("moderation:counterfeit_claims")
