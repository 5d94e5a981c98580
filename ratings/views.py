import io
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.kept_pages import Gate, kept_page
from accounts.models import Notification, User
from accounts.services import notifications_mark_read
from catalog.stakes import BrandStakeRefused, brand_link_cached, link_key
from catalog.views import stake_refused
from ratings import brand_dashboard, selectors, services, surveys
from ratings.forms import RatingForm
from ratings.models import Invitation, Vote
from ratings.survey_forms import SurveyForm
from xhs.client_address import client_address, client_user_agent


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _vote_refusal(invitation: Invitation) -> str | None:
    """Why this invitation cannot be used to rate right now, or None when it can."""
    now = timezone.now()
    if invitation.status == Invitation.Status.DECLINED:
        return _("You declined this invitation.")
    if invitation.status == Invitation.Status.REVOKED:
        return str(services.REVOKED_MESSAGE)
    if invitation.status == Invitation.Status.PENDING:
        if invitation.is_expired(now):
            return _("This invitation has expired.")
        return _("Accept the invitation before rating.")
    if not invitation.campaign.accepts_votes(now):
        return _("Rating of this product has closed; votes can no longer be added or changed.")
    return None


def _rating_form(invitation: Invitation, vote: Vote | None, data: Any = None) -> RatingForm:
    """The form for this invitation's campaign, showing the user's vote if they have one: from an earlier
    campaign, each score appears under the same factor of this one."""
    factors = list(invitation.campaign.factors.all())
    initial: dict[str, Any] = {}
    if vote is not None:
        by_factor = {row.factor.factor_id or -row.factor_id: row.score for row in vote.scores.all()}
        initial = {
            f"factor_{factor.pk}": by_factor[key]
            for factor in factors
            if (key := factor.factor_id or -factor.pk) in by_factor
        }
        initial["comment"] = vote.comment
    return RatingForm(
        data,
        initial=initial,
        factors=factors,
        invitation_id=invitation.pk,
        amends_revision=vote.revision_count if vote is not None else None,
    )


@login_required
@require_GET
def invitation_list(request: HttpRequest) -> HttpResponse:
    sections = selectors.user_invitations(user=_user(request))
    open_surveys = surveys.user_open_surveys(user=_user(request))
    return render(request, "ratings/invitations.html", {"sections": sections, "open_surveys": open_surveys})


@login_required
@require_GET
def invitation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(selectors.user_invitation(user=_user(request), pk=pk))
    try:
        services.rating_stake_check(user=_user(request), product_id=invitation.campaign.product_id)
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    # Opening an invitation is reading the inbox message about it.
    notifications_mark_read(user_id=invitation.user_id, about=(Notification.Kind.INVITATION, invitation.pk))
    vote = selectors.invitation_vote(invitation) if invitation.status != Invitation.Status.PENDING else None
    refusal = _vote_refusal(invitation)
    form = _rating_form(invitation, vote) if refusal is None and vote is None else None
    context = {
        "invitation": invitation,
        "product": invitation.campaign.product,
        "factors": invitation.campaign.factors.all(),
        "vote": vote,
        "earlier_vote": vote is not None and vote.campaign_id != invitation.campaign_id,
        "form": form,
        "can_amend": vote is not None and refusal is None,
        "expired": invitation.is_expired(),
        "campaign_open": invitation.campaign.accepts_votes(),
        "show_badge": invitation.status in (Invitation.Status.ACCEPTED, Invitation.Status.VOTED),
    }
    return render(request, "ratings/invitation.html", context)


@login_required
@require_POST
def invitation_accept(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.filter(user=_user(request)), pk=pk)
    try:
        services.invitation_accept(invitation=invitation, user=_user(request))
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    except services.RatingError as error:
        messages.error(request, str(error.message))
    else:
        rated_before = selectors.invitation_vote(invitation) is not None
        messages.success(
            request,
            _("Thank you! You rated this product before: confirm or amend your vote below.")
            if rated_before
            else _("Thank you! You are now a verified purchaser of this product. Rate it below."),
        )
    return redirect(invitation)


@login_required
@require_POST
def invitation_decline(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.filter(user=_user(request)), pk=pk)
    try:
        services.invitation_decline(invitation=invitation, user=_user(request))
    except services.RatingError as error:
        messages.error(request, str(error.message))
        return redirect(invitation)
    messages.success(request, _("You declined the invitation. You will not be asked about this product again."))
    return redirect("ratings:invitations")


@login_required
@require_http_methods(["GET", "POST"])
def vote(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    invitation = get_object_or_404(selectors.user_invitation(user=user, pk=pk))
    try:
        services.rating_stake_check(user=user, product_id=invitation.campaign.product_id)
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    refusal = _vote_refusal(invitation)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect(invitation)
    current = selectors.invitation_vote(invitation)
    form = _rating_form(invitation, current, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            outcome = services.vote_submit(
                invitation=invitation,
                user=user,
                scores=form.scores(),
                comment=form.cleaned_data["comment"],
                seconds_to_fill=form.seconds_to_fill(),
                ip_address=client_address(request),
                user_agent=client_user_agent(request),
                amends_revision=form.submitted_revision,
            )
        except BrandStakeRefused as error:
            return stake_refused(request, error)
        except services.RatingError as error:
            form.add_error(None, str(error.message))
        else:
            notice = {
                services.VoteStatus.CREATED: _("Your vote is recorded. Thank you for rating!"),
                services.VoteStatus.AMENDED: _("Your vote is amended."),
                services.VoteStatus.CONFIRMED: _("Your vote is confirmed."),
                services.VoteStatus.ALREADY_RATED: _(
                    "You have already rated this product; your vote is shown below. You can amend it."
                ),
            }[outcome.status]
            if outcome.status == services.VoteStatus.ALREADY_RATED:
                messages.warning(request, notice)
            else:
                messages.success(request, notice)
            return redirect(invitation)
    context = {
        "invitation": invitation,
        "product": invitation.campaign.product,
        "form": form,
        "vote": current,
        "show_badge": True,
    }
    return render(request, "ratings/vote.html", context)


@login_required
@require_POST
def vote_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.filter(user=_user(request)), pk=pk)
    try:
        outcome = services.vote_confirm(invitation=invitation, user=_user(request))
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    except services.RatingError as error:
        messages.error(request, str(error.message))
    else:
        if outcome.status == services.VoteStatus.CONFIRMED:
            messages.success(request, _("Your vote is confirmed. Thank you: it counts for this product again."))
    return redirect(invitation)


@require_GET
def heart_list(request: HttpRequest) -> HttpResponse:
    groups = selectors.heart_list()
    context = {"heart_list": groups, "listed_total": sum(len(group.products) for group in groups)}
    return render(request, "ratings/heart_list.html", context)


@require_GET
def methodology(request: HttpRequest) -> HttpResponse:
    """How selection, invitation, screening and scoring work, with the live parameters."""
    return render(request, "ratings/methodology.html", selectors.methodology_figures())


@login_required
@require_POST
def review_helpful(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark or unmark a review as helpful, then back to where the reader was (their order and filter)."""
    vote = get_object_or_404(Vote.objects.select_related("product"), pk=pk)
    try:
        marked = services.review_helpful_toggle(user=_user(request), vote_id=vote.pk)
    except BrandStakeRefused as error:
        return stake_refused(request, error)
    except services.RatingError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Marked as helpful.") if marked else _("Mark taken back."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = f"{vote.product.get_absolute_url()}#review-{vote.pk}"
    return redirect(back)


#: A brand's page is read-only figures that change when products are re-scored: a minute old is fresh enough,
#: and a team refreshing it before a meeting costs a cache read.
BRAND_PAGE_SECONDS = 60
#: Products shown with their charts on one page (the table below lists them all).
BRAND_PRODUCTS_PER_PAGE = 10
BRAND_MOST_PAGES = 100


def _brand_csv(user: User, build: Callable[[], str | None]) -> str | None:
    """``build()`` (the CSV, None for an account that is not a brand's), kept a minute per account and language.
    The link is checked at every request (a cache read, forgotten when staff link or unlink), so an account staff
    unlinked sees nothing more at once."""
    if not brand_link_cached(user.pk):
        return None
    key = f"ratings:brand:{user.pk}:{get_language()}:csv"
    cached = cache.get(key)
    if cached is None:
        cached = build()
        if cached is not None:
            cache.set(key, cached, BRAND_PAGE_SECONDS)
    return cached if isinstance(cached, str) else None


def _not_a_brand(request: HttpRequest) -> HttpResponse:
    context = {
        "error_code": "403",
        "error_title": _("For brand accounts"),
        "error_text": _(
            "This page shows a brand or a store its products' ratings. Staff link a brand's account to it on "
            "request; ask us through the inbox."
        ),
    }
    return render(request, "errors/_page.html", context, status=403)


@require_GET
def brand_page(request: HttpRequest) -> HttpResponse:
    """A brand's or a store's own products, read-only: scores per factor against the category, the trend by
    month, recent comments, and where each product stands. For linked accounts only (``kept_page`` sends visitors
    to sign in). The page is built once a minute per account, language and page number (ten queries, whatever the
    account holds) and kept whole (``accounts.kept_pages``); in between, one cache round trip reads the session,
    the account, the link, the header's figures and the page's version (its body held by the process)."""
    try:  # a page number, within reason: the cache holds one page per number asked for
        number = max(1, min(int(request.GET.get("page", "1")), BRAND_MOST_PAGES))
    except ValueError:
        number = 1

    def context(user: User) -> dict[str, Any] | None:
        dashboard = brand_dashboard.brand_dashboard(user=user)
        if not dashboard.brands and not dashboard.stores:
            return None
        page = Paginator(dashboard.products, BRAND_PRODUCTS_PER_PAGE).get_page(number)
        standing = [(report, i // BRAND_PRODUCTS_PER_PAGE + 1) for i, report in enumerate(dashboard.products)]
        return {"dashboard": dashboard, "page": page, "standing": standing}

    response = kept_page(
        request,
        name=f"brand-{number}",
        seconds=BRAND_PAGE_SECONDS,
        template="ratings/brand.html",
        context=context,
        gate=Gate(link_key, brand_link_cached),
    )
    return response or _not_a_brand(request)


@login_required
@require_GET
def brand_export(request: HttpRequest) -> HttpResponse:
    """The page's figures as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese names):
    one row per product and factor."""
    user = _user(request)

    def build() -> str | None:
        dashboard = brand_dashboard.brand_dashboard(user=user)
        if not dashboard.brands and not dashboard.stores:
            return None
        out = io.StringIO()
        brand_dashboard.csv_write(dashboard, out)
        return out.getvalue()

    text = _brand_csv(user, build)
    if text is None:
        return _not_a_brand(request)
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="little-red-heart-brand.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, pk: int) -> HttpResponse:
    """An invited buyer ranks a survey's candidate factors and may suggest one of their own."""
    page = surveys.survey_page(user=_user(request), survey_id=pk)
    if page is None:
        raise Http404
    survey = page.invitation.survey
    accepts = surveys.survey_accepts_answers(survey)
    form = None
    if page.response is None and accepts:
        form = SurveyForm(request.POST if request.method == "POST" else None, candidates=page.candidates)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = surveys.response_submit(
                    invitation=page.invitation,
                    user=_user(request),
                    ranking=form.cleaned_data["ranking"],
                    suggestion=form.cleaned_data["suggestion"],
                )
            except surveys.SurveyError as error:
                form.add_error(None, str(error.message))
            else:
                if outcome.status == surveys.ResponseStatus.CREATED:
                    messages.success(request, _("Thank you: your ranking is counted."))
                else:
                    messages.info(request, _("You had already answered this survey; your first answer counts."))
                return redirect("ratings:survey", pk=pk)
    context = {"page": page, "survey": survey, "category": survey.category, "form": form, "accepts": accepts}
    return render(request, "ratings/survey.html", context)
