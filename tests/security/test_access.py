"""Nothing lost, no one let in: who may open every page and send every form of the site.

The matrix below is the access contract. Each URL of our apps has a GET row and a POST row, and
each row says what each persona gets back:

    200    the page               302    a redirect (the form was taken, or answered with a message)
    login  sent to sign in        403    refused (a moderation page for a non-manager)
    404    as if it did not exist (somebody else's invitation, attempt or decision)
    405    method not allowed

A refusal (login, 403, 404, 405) must also leave every row of the database as it was. A new URL is
one more entry in URLS; test_every_url_of_our_apps_is_in_the_matrix fails until it is there.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Notification, User
from catalog.models import Note, Product
from moderation import counterfeits
from moderation.models import (
    Appeal,
    AuditDispute,
    Case,
    Choice,
    CounterfeitCase,
    CounterfeitReport,
    CounterfeitVote,
    ManagerTerm,
    ManagerVote,
    ModerationPolicy,
    Question,
    Report,
    Rule,
    TestAttempt,
)
from ratings.forms import form_token
from ratings.models import Campaign, FactorScore, Invitation, ReviewHelpful, Vote
from tests.factories import (
    NoteFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
    brand_account,
    rating_ready_category,
)
from tests.moderation.factories import RuleFactory, manager, note_case, question_bank
from tests.ratings.factories import InvitationFactory, accepted_invitation, campaign_for, vote_for, votes_cast

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "shopper", "buyer", "pending", "accepted", "manager", "suspended", "staff", "brand")

# --- The world every row is checked against ------------------------------------------------------------


@dataclass
class World:
    people: dict[str, User | None]
    product: Product
    rule: Rule
    questions: list[Question]
    #: the "pending" persona's invitation (bought the product, not yet answered)
    pending_invitation: Invitation
    #: the "accepted" persona's invitation (a verified purchaser who has not rated yet)
    accepted_invitation: Invitation
    #: the "accepted" persona's invitation in a later campaign of a product they rated before
    reinvitation: Invitation
    #: a stranger's note and a stranger's rating comment, both reportable
    note: Note
    rated: Vote
    #: an open case about the stranger's note, in the manager's queue
    case: Case
    #: the manager's vote on an audit case, marked wrong: theirs to dispute
    audit_vote: ManagerVote
    #: the suspended manager's open rules test (they are sitting it again)
    attempt: TestAttempt
    #: a decision against the buyer's note: theirs to read and appeal
    decided: Case
    #: an open case the manager voted on a moment ago: theirs to undo
    voted: Case
    #: an open counterfeit claim about the product, reported by a stranger who bought it
    claim: CounterfeitCase


def build_world() -> World:
    now = timezone.now()
    rule = RuleFactory(name_en="No advertising")
    questions = question_bank(15, rule=rule)
    buyer = UserFactory(display_name="Buyer")
    OrderLineFactory(buyer=buyer)
    pending = InvitationFactory(user=UserFactory(display_name="Pending"))
    # Old enough and verified: the one persona who may start the rules test.
    accepted = accepted_invitation(user=UserFactory(display_name="Accepted", date_joined=now - timedelta(days=400)))
    judge = manager(display_name="Manager")
    suspended = UserFactory(display_name="Suspended")
    ManagerTerm.objects.create(
        user=suspended,
        status=ManagerTerm.Status.SUSPENDED,
        starts_at=now - timedelta(days=30),
        ends_at=now + timedelta(days=300),
        ended_at=now - timedelta(days=1),
        reason="audit accuracy",
    )
    earlier = campaign_for(ProductFactory(category=rating_ready_category()), status=Campaign.Status.CLOSED)
    vote_for(accepted_invitation(campaign=earlier, user=accepted.user))
    reinvitation = accepted_invitation(campaign=campaign_for(earlier.product), user=accepted.user)
    campaign = accepted.campaign
    [rated] = votes_cast(campaign, [[4] * campaign.factors.count()], comment="加我微信买便宜货")
    note = NoteFactory(title="Stranger's note", mentions=[campaign.product])
    audit = note_case(rule=rule, is_audit=True, audit_answer=Case.Outcome.COMPLIES)
    hidden = NoteFactory(author=buyer, visibility=Note.Visibility.HIDDEN)
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"undo_seconds": 3600})  # a slow machine undoes too
    voted = note_case(rule=rule)
    ManagerVote.objects.create(case=voted, manager=judge, choice="complies")
    return World(
        people={
            "anonymous": None,
            "shopper": UserFactory(display_name="Shopper"),
            "buyer": buyer,
            "pending": pending.user,
            "accepted": accepted.user,
            "manager": judge,
            "suspended": suspended,
            "staff": UserFactory(display_name="Staff", is_staff=True, is_superuser=True),
            # linked to the brand of the product everybody else may rate, report and mark helpful
            "brand": brand_account(brand=campaign.product.brand),
        },
        product=campaign.product,
        rule=rule,
        questions=questions,
        pending_invitation=pending,
        accepted_invitation=accepted,
        reinvitation=reinvitation,
        note=note,
        rated=rated,
        case=note_case(note=note, rule=rule),
        audit_vote=ManagerVote.objects.create(case=audit, manager=judge, choice="violates", audit_correct=False),
        attempt=TestAttempt.objects.create(user=suspended, question_ids=[q.pk for q in questions]),
        decided=note_case(
            note=hidden,
            rule=rule,
            status=Case.Status.DECIDED,
            outcome=Case.Outcome.VIOLATES,
            decided_at=now,
            decided_by=Case.DecidedBy.MANAGERS,
        ),
        voted=voted,
        claim=counterfeits.report_submit(
            reporter=OrderLineFactory(product=campaign.product).buyer,
            product=campaign.product,
            store_id=campaign.product.store_id,
            description="The batch code does not exist.",
        ),
    )


def snapshot(client: Client | None = None) -> dict[str, Any]:
    """Everything a request could store or change, to compare before and after it."""
    state: dict[str, Any] = {
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "status", "responded_at")),
        "votes": list(Vote.objects.order_by("pk").values_list("pk", "comment", "revision_count", "verdict")),
        "factor scores": list(FactorScore.objects.order_by("pk").values_list("pk", "score")),
        "case votes": list(ManagerVote.objects.order_by("pk").values_list("pk", "case_id", "manager_id", "choice")),
        "cases": list(Case.objects.order_by("pk").values_list("pk", "status", "priority", "reports_count")),
        "counterfeit claims": list(
            CounterfeitCase.objects.order_by("pk").values_list("pk", "status", "reports_count", "updated_at")
        ),
        "counterfeit reports": list(CounterfeitReport.objects.order_by("pk").values_list("pk", "reporter_id")),
        "counterfeit votes": list(CounterfeitVote.objects.order_by("pk").values_list("pk", "manager_id", "choice")),
        "reports": list(Report.objects.order_by("pk").values_list("pk", "case_id", "reporter_id")),
        "appeals": list(Appeal.objects.order_by("pk").values_list("pk", "status")),
        "disputes": list(AuditDispute.objects.order_by("pk").values_list("pk", "status")),
        "attempts": list(TestAttempt.objects.order_by("pk").values_list("pk", "submitted_at", "passed")),
        "terms": list(ManagerTerm.objects.order_by("pk").values_list("pk", "status")),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        "notes": list(Note.objects.order_by("pk").values_list("pk", "visibility")),
        "helpful marks": list(ReviewHelpful.objects.order_by("pk").values_list("pk", "vote_id", "user_id")),
        "users": list(User.objects.order_by("pk").values_list("pk", "is_active", "is_banned", "is_staff")),
    }
    if client is not None:
        cookie = client.cookies.get(settings.LANGUAGE_COOKIE_NAME)
        state["language cookie"] = cookie.value if cookie is not None else None
    return state


def client_for(world: World, persona: str, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    user = world.people[persona]
    if user is not None:
        client.force_login(user)
    return client


# --- The matrix ----------------------------------------------------------------------------------------


def outcome(response: Any) -> str:
    """The response in the matrix's words."""
    if response.status_code == 302:
        return "login" if response["Location"].startswith(f"{settings.LOGIN_URL}?next=") else "302"
    return str(response.status_code)


REFUSALS = frozenset({"login", "403", "404", "405"})

Args = Callable[[World], list[Any]]
Data = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    expected: dict[str, str]
    args: Args
    data: Data
    #: the persona whose POST changes what is stored (for the GET-changes-nothing test)
    actor: str | None = None

    def url(self, world: World) -> str:
        return reverse(self.name, args=self.args(world))

    def send(self, client: Client, world: World, method: str | None = None) -> Any:
        method = method or self.method
        return getattr(client, method.lower())(self.url(world), self.data(world))


def _columns(spec: str) -> dict[str, str]:
    codes = spec.split()
    assert len(codes) == len(PERSONAS), spec
    return dict(zip(PERSONAS, codes, strict=True))


@dataclass(frozen=True)
class Url:
    """One URL's two rows: what GET and POST give each persona, in the order of PERSONAS."""

    name: str
    get: str
    post: str
    args: Args = field(default=lambda world: [])
    data: Data = field(default=lambda world: {})
    actor: str | None = None

    def rows(self) -> Iterator[Row]:
        yield Row(self.name, "GET", _columns(self.get), self.args, self.data)
        yield Row(self.name, "POST", _columns(self.post), self.args, self.data, self.actor)


# Persona columns:      anonymous shopper buyer pending accepted manager suspended staff brand
PUBLIC = "                200       200     200   200     200      200     200       200   200"
NO_POST = "               405       405     405   405     405      405     405       405   405"
SIGNED_IN = "             login     200     200   200     200      200     200       200   200"
SIGNED_IN_NO_POST = "     login     405     405   405     405      405     405       405   405"
ANYONE_REDIRECT = "       302       302     302   302     302      302     302       302   302"
SIGNED_IN_REDIRECT = "    login     302     302   302     302      302     302       302   302"
MANAGER_PAGE = "          login     403     403   403     403      200     403       403   403"
MANAGER_NO_POST = "       login     403     403   403     403      405     403       403   403"
MANAGER_FORM = "          login     403     403   403     403      302     403       403   403"
PENDING_ONLY = "          login     404     404   302     404      404     404       404   404"
ACCEPTED_ONLY = "         login     404     404   404     200      404     404       404   404"
ACCEPTED_FORM = "         login     404     404   404     302      404     404       404   404"
SUSPENDED_ONLY = "        login     404     404   404     404      404     200       404   404"
SUSPENDED_FORM = "        login     404     404   404     404      404     302       404   404"
BUYER_ONLY = "            login     404     200   404     404      404     404       404   404"
BUYER_FORM = "            login     404     302   404     404      404     404       404   404"
# The brand's account speaks for the product the note and the rating below are about: it may not touch them.
STAKE_PAGE = "            login     200     200   200     200      200     200       200   403"
STAKE_FORM = "            login     302     302   302     302      302     302       302   403"
# Only a buyer of the product from the store may report it counterfeit: the others' form comes back with its error.
COUNTERFEIT_FORM = "       login     200     200   200     302      200     200       200   403"
BRAND_PAGE = "            login     403     403   403     403      403     403       403   200"
NOT_FOUND = "             404       404     404   404     404      404     404       404   404"
SIGNED_IN_NOT_FOUND = "   login     404     404   404     404      404     404       404   404"


def vote_form_data(world: World) -> dict[str, Any]:
    invitation = world.accepted_invitation
    scores = {f"factor_{factor.pk}": "4" for factor in invitation.campaign.factors.all()}
    return {"started": form_token(invitation_id=invitation.pk, amends_revision=None), "comment": "Soft.", **scores}


def right_answers(world: World) -> dict[str, Any]:
    correct = Choice.objects.filter(question__in=world.questions, is_correct=True)
    return {f"q{choice.question_id}": choice.pk for choice in correct} | {"confirm": "on"}


URLS = [
    Url("catalog:home", PUBLIC, NO_POST),
    Url("catalog:categories", PUBLIC, NO_POST),
    Url("catalog:category", PUBLIC, NO_POST, args=lambda w: [w.product.category.slug]),
    Url("catalog:product", PUBLIC, NO_POST, args=lambda w: [w.product.slug]),
    Url("catalog:product_image", PUBLIC, NO_POST, args=lambda w: [w.product.slug]),
    Url("catalog:search", PUBLIC, NO_POST, data=lambda w: {"q": "Product"}),
    Url("healthz", PUBLIC, NO_POST),
    # The public API (api/): read-only, for everyone; its root only anchors the version's URLs.
    Url("api-v1:list", PUBLIC, NO_POST),
    Url("api-v1:category", PUBLIC, NO_POST, args=lambda w: [w.product.category.slug]),
    Url("api-v1:product", PUBLIC, NO_POST, args=lambda w: [w.product.slug]),
    Url("api-v1:methodology", PUBLIC, NO_POST),
    Url("api-v1:openapi-json", PUBLIC, NO_POST),
    Url("api-v1:openapi-view", PUBLIC, NO_POST),
    Url("api-v1:api-root", NOT_FOUND, NOT_FOUND),
    Url("readyz", PUBLIC, NO_POST),
    # Anonymous visitors switch too: the choice is a display preference kept in their own browser.
    Url("set_language", NO_POST, ANYONE_REDIRECT, data=lambda w: {"language": "en"}, actor="shopper"),
    Url("ratings:invitations", SIGNED_IN, SIGNED_IN_NO_POST),
    Url("ratings:invitation", ACCEPTED_ONLY, SIGNED_IN_NO_POST, args=lambda w: [w.accepted_invitation.pk]),
    Url(
        "ratings:invitation_accept",
        SIGNED_IN_NO_POST,
        PENDING_ONLY,
        args=lambda w: [w.pending_invitation.pk],
        actor="pending",
    ),
    Url(
        "ratings:invitation_decline",
        SIGNED_IN_NO_POST,
        PENDING_ONLY,
        args=lambda w: [w.pending_invitation.pk],
        actor="pending",
    ),
    Url(
        "ratings:vote",
        ACCEPTED_ONLY,
        ACCEPTED_FORM,
        args=lambda w: [w.accepted_invitation.pk],
        data=vote_form_data,
        actor="accepted",
    ),
    Url(
        "ratings:vote_confirm",
        SIGNED_IN_NO_POST,
        ACCEPTED_FORM,
        args=lambda w: [w.reinvitation.pk],
        actor="accepted",
    ),
    Url(
        "ratings:review_helpful",
        SIGNED_IN_NO_POST,
        STAKE_FORM,
        args=lambda w: [w.rated.pk],
        actor="shopper",
    ),
    Url("ratings:heart_list", PUBLIC, NO_POST),
    Url("ratings:methodology", PUBLIC, NO_POST),
    # The page signs its visitor in itself, after the method check (accounts.kept_pages): a POST is 405 for all.
    Url("ratings:brand", BRAND_PAGE, NO_POST),
    Url("ratings:brand_export", BRAND_PAGE, SIGNED_IN_NO_POST),
    Url("ratings:open_data", PUBLIC, NO_POST),
    # A survey none of them is invited to (tests/ratings/test_surveys.py answers one as its invited buyer).
    Url("ratings:survey", SIGNED_IN_NOT_FOUND, SIGNED_IN_NOT_FOUND, args=lambda w: [987654]),
    # A month never released (tests/ratings/test_open_data.py downloads one that was, anonymously).
    Url("ratings:open_data_download", NOT_FOUND, NO_POST, args=lambda w: ["2000-01"]),
    Url("accounts:inbox", SIGNED_IN, SIGNED_IN_NO_POST),
    Url("accounts:profile", SIGNED_IN, SIGNED_IN_NO_POST),
    Url("moderation:dashboard", MANAGER_PAGE, MANAGER_NO_POST),
    Url(
        "moderation:case_vote",
        MANAGER_NO_POST,
        MANAGER_FORM,
        args=lambda w: [w.case.pk],
        data=lambda w: {"choice": "violates"},
        actor="manager",
    ),
    Url("moderation:case", MANAGER_PAGE, MANAGER_NO_POST, args=lambda w: [w.case.pk]),
    Url(
        "moderation:case_undo",
        MANAGER_NO_POST,
        MANAGER_FORM,
        args=lambda w: [w.voted.pk],
        actor="manager",
    ),
    Url("moderation:audits", MANAGER_PAGE, MANAGER_NO_POST),
    Url(
        "moderation:audit_dispute",
        MANAGER_NO_POST,
        MANAGER_FORM,
        args=lambda w: [w.audit_vote.pk],
        data=lambda w: {"reason": "The note only quoted the advert."},
        actor="manager",
    ),
    Url("moderation:test", SIGNED_IN, SIGNED_IN_NO_POST),
    Url("moderation:test_start", SIGNED_IN_NO_POST, SIGNED_IN_REDIRECT, actor="accepted"),
    Url(
        "moderation:attempt",
        SUSPENDED_ONLY,
        SUSPENDED_FORM,
        args=lambda w: [w.attempt.pk],
        data=right_answers,
        actor="suspended",
    ),
    Url(
        "moderation:report",
        STAKE_PAGE,
        STAKE_FORM,
        args=lambda w: ["note", w.note.pk],
        data=lambda w: {"rule": w.rule.pk, "comment": "an advert"},
        actor="shopper",
    ),
    Url(
        "moderation:report",
        STAKE_PAGE,
        STAKE_FORM,
        args=lambda w: ["rating", w.rated.pk],
        data=lambda w: {"rule": w.rule.pk, "comment": "an advert"},
    ),
    Url("moderation:counterfeit_claims", MANAGER_PAGE, MANAGER_NO_POST),
    Url(
        "moderation:counterfeit_vote",
        MANAGER_NO_POST,
        MANAGER_FORM,
        args=lambda w: [w.claim.pk],
        data=lambda w: {"choice": "genuine"},
        actor="manager",
    ),
    Url(
        "moderation:counterfeit_report",
        STAKE_PAGE,
        COUNTERFEIT_FORM,
        args=lambda w: [w.product.slug],
        data=lambda w: {"store": w.product.store_id, "description": "The cap is loose."},
        actor="accepted",
    ),
    Url(
        "moderation:decision",
        BUYER_ONLY,
        BUYER_FORM,
        args=lambda w: [w.decided.pk],
        data=lambda w: {"reason": "It was a review, not an advert."},
        actor="buyer",
    ),
]
ROWS = [row for url in URLS for row in url.rows()]


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.name}-{row.method}" for row in ROWS])
def test_each_persona_gets_exactly_what_the_matrix_says(row: Row) -> None:
    world = build_world()
    got: dict[str, str] = {}
    changed: dict[str, dict[str, Any]] = {}
    for persona in PERSONAS:
        cache.clear()
        # Each persona tries on the same world: what one of them stores is rolled back for the next.
        with transaction.atomic():
            client = client_for(world, persona)
            before = snapshot(client)
            got[persona] = outcome(row.send(client, world))
            after = snapshot(client)
            if row.expected[persona] in REFUSALS and after != before:
                changed[persona] = {key: after[key] for key in after if after[key] != before[key]}
            transaction.set_rollback(True)

    assert got == row.expected
    assert changed == {}, "a refused request changed what is stored"


# --- The matrix covers every URL ----------------------------------------------------------------------

#: Not ours (allauth, the admin: tested below) or not Django's to answer (static files).
NOT_IN_MATRIX = ("admin/", "accounts/", settings.STATIC_URL.lstrip("/"))


def _our_urls(patterns: list[Any], route: str = "", namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        here = route + str(entry.pattern)
        if here.startswith(NOT_IN_MATRIX):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _our_urls(entry.url_patterns, here, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else f"unnamed /{here}"


def test_every_url_of_our_apps_is_in_the_matrix() -> None:
    ours = set(_our_urls(get_resolver().url_patterns))
    tabled = {(row.name, row.method) for row in ROWS}

    missing = sorted(f"{name} {method}" for name in ours for method in ("GET", "POST") if (name, method) not in tabled)

    assert missing == [], "add these URLs to URLS, with what each persona gets"
    assert {name for name, _method in tabled} == ours, "the matrix names a URL the urlconfs no longer have"


def test_every_form_endpoint_names_the_persona_whose_post_changes_something() -> None:
    taken = {row.name for row in ROWS if row.method == "POST" and set(row.expected.values()) - REFUSALS}
    with_actor = {row.name for row in ROWS if row.method == "POST" and row.actor}

    assert taken - with_actor == set()


# --- Forms refuse GET ------------------------------------------------------------------------------------

FORM_ROWS = [row for row in ROWS if row.method == "POST" and row.actor]


@pytest.mark.parametrize("row", FORM_ROWS, ids=[row.name for row in FORM_ROWS])
def test_a_form_endpoint_answered_to_get_changes_nothing(row: Row) -> None:
    # given the persona whose POST would change something
    world = build_world()
    client = client_for(world, row.actor or "")
    before = snapshot(client)

    # when the same request arrives as a GET (a link, a prefetch, a crawler), the form's fields in the query
    response = row.send(client, world, "GET")

    # then
    assert response.status_code in (200, 405)
    assert snapshot(client) == before
    # and the POST does change something, so the comparison above would have seen a change
    assert row.send(client, world, "POST").status_code == 302
    assert snapshot(client) != before


# --- Admin ----------------------------------------------------------------------------------------------

#: The admin's own sign-in and sign-out pages: open to anybody by design.
ADMIN_SIGN_IN_OUT = ("login", "logout")


def _fixed_pages(patterns: list[Any]) -> list[str]:
    """The named pages among these that take no argument from the path."""
    return [
        reverse(f"admin:{entry.name}")
        for entry in patterns
        if isinstance(entry, URLPattern)
        and entry.name not in (None, *ADMIN_SIGN_IN_OUT)
        and not entry.pattern.regex.groups
    ]


def _admin_pages(world: World) -> list[str]:
    """Every admin page that needs no object (the site's and each model's), each app's index, and some
    objects' change pages."""
    pages = _fixed_pages(admin.site.get_urls())
    for model_admin in admin.site._registry.values():
        pages += _fixed_pages(model_admin.urls)
    pages += [reverse("admin:app_list", args=[model._meta.app_label]) for model in admin.site._registry]
    shopper = world.people["shopper"]
    assert shopper is not None
    pages += [
        reverse("admin:accounts_user_change", args=[shopper.pk]),
        reverse("admin:moderation_case_change", args=[world.case.pk]),
        reverse("admin:ratings_vote_change", args=[world.rated.pk]),
        reverse("admin:ratings_invitation_change", args=[world.accepted_invitation.pk]),
    ]
    return sorted(set(pages))


def test_staff_open_every_admin_page() -> None:
    world = build_world()
    client = client_for(world, "staff")
    pages = _admin_pages(world)
    login = reverse("admin:login")

    answers = {page: client.get(page, follow=True) for page in pages}

    landed = {page: f"{r.status_code} {r.request['PATH_INFO']}" for page, r in answers.items()}
    # The policies' lists open their one row; nothing sends staff to sign in or fails.
    assert [page for page, where in landed.items() if where.split()[1].startswith(login)] == []
    lists = [page for page in pages if page == reverse("admin:index") or page.count("/") == 4]
    assert len(lists) > len(admin.site._registry)  # the index and every model's list
    assert {page: landed[page].split()[0] for page in lists} == dict.fromkeys(lists, "200")
    # Read-only models refuse adding (403); "run now" takes POST only (405).
    assert {page: where for page, where in landed.items() if where.split()[0] not in ("200", "403", "405")} == {}


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "staff"])
def test_everybody_else_is_sent_to_the_admin_login_and_changes_nothing(
    persona: str, django_capture_on_commit_callbacks: Any
) -> None:
    world = build_world()
    client = client_for(world, persona)
    login = reverse("admin:login")
    before = snapshot()
    sent_elsewhere: dict[str, str] = {}

    with django_capture_on_commit_callbacks() as enqueued:
        for page in _admin_pages(world):
            for method in ("get", "post"):
                response = getattr(client, method)(page, {"name_en": "Planted", "code": "planted", "_save": "Save"})
                if response.status_code != 302 or not response["Location"].startswith(f"{login}?next="):
                    sent_elsewhere[f"{method.upper()} {page}"] = f"{response.status_code} {response.get('Location')}"

    assert sent_elsewhere == {}
    assert snapshot() == before
    assert not Rule.objects.filter(code="planted").exists()
    assert enqueued == []  # no "run now" job was queued


# --- Ids in forms are never trusted -----------------------------------------------------------------------


def _vote_url(world: World) -> str:
    return reverse("ratings:vote", args=[world.accepted_invitation.pk])


def _form_error_codes(response: Any) -> set[str]:
    return {error.code for error in response.context["form"].non_field_errors().as_data()}


def test_a_vote_naming_a_factor_of_another_campaign_is_refused_and_stores_nothing() -> None:
    world = build_world()
    client = client_for(world, "accepted")
    foreign = world.pending_invitation.campaign.factors.first()
    assert foreign is not None
    before = snapshot()

    response = client.post(_vote_url(world), {**vote_form_data(world), f"factor_{foreign.pk}": "1"})

    assert response.status_code == 200 and "foreign_factor" in _form_error_codes(response)
    assert snapshot() == before


def test_a_vote_form_signed_for_another_invitation_is_refused_and_stores_nothing() -> None:
    world = build_world()
    client = client_for(world, "accepted")
    elsewhere = form_token(invitation_id=world.pending_invitation.pk, amends_revision=None)
    before = snapshot()

    response = client.post(_vote_url(world), {**vote_form_data(world), "started": elsewhere})

    assert response.status_code == 200 and "bad_token" in _form_error_codes(response)
    assert snapshot() == before


def test_a_case_vote_counts_for_the_case_in_the_url_whatever_the_body_names() -> None:
    world = build_world()
    other = note_case(rule=world.rule)
    judge, staff = world.people["manager"], world.people["staff"]
    assert judge is not None and staff is not None
    planted = {"case": other.pk, "case_id": other.pk, "pk": other.pk, "manager": staff.pk, "manager_id": staff.pk}

    response = client_for(world, "manager").post(
        reverse("moderation:case_vote", args=[world.case.pk]), {"choice": "complies", **planted}
    )

    assert response.status_code == 302
    assert list(ManagerVote.objects.filter(case__in=[world.case, other]).values_list("case", "manager", "choice")) == [
        (world.case.pk, judge.pk, "complies")
    ]


@pytest.mark.parametrize("kind", ["note", "rating"])
def test_nobody_reports_their_own_note_or_rating(kind: str) -> None:
    world = build_world()
    content = world.note if kind == "note" else world.rated
    author = world.note.author if kind == "note" else world.rated.user
    client = Client()
    client.force_login(author)
    before = snapshot()

    response = client.post(
        reverse("moderation:report", args=[kind, content.pk]), {"rule": world.rule.pk, "comment": "mine, actually"}
    )

    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert snapshot() == before


def test_a_report_must_cite_a_current_rule() -> None:
    world = build_world()
    retired = RuleFactory(active=False)
    before = snapshot()

    response = client_for(world, "shopper").post(
        reverse("moderation:report", args=["note", world.note.pk]), {"rule": retired.pk}
    )

    assert response.status_code == 200 and "rule" in response.context["form"].errors
    assert snapshot() == before


@pytest.mark.parametrize("what", ["hidden note", "rating without a comment", "unknown kind"])
def test_content_that_cannot_be_reported_is_not_found(what: str) -> None:
    world = build_world()
    args = {
        "hidden note": lambda: ["note", world.decided.note_id],
        "rating without a comment": lambda: ["rating", vote_for(accepted_invitation()).pk],
        "unknown kind": lambda: ["user", world.note.pk],
    }[what]()
    client = client_for(world, "shopper")
    before = snapshot()

    page = client.get(reverse("moderation:report", args=args))
    sent = client.post(reverse("moderation:report", args=args), {"rule": world.rule.pk})

    assert (page.status_code, sent.status_code) == (404, 404)
    assert snapshot() == before


def _own_content_case(judge: User, kind: str) -> Case:
    if kind == "note":
        return note_case(note=NoteFactory(author=judge))
    vote = vote_for(accepted_invitation(user=judge), comment="My own honest review.")
    return Case.objects.create(vote=vote, rule=RuleFactory(), source=Case.Source.REPORT)


@pytest.mark.parametrize("kind", ["note", "rating"])
@pytest.mark.parametrize("answer", ["redirect", "json"])
def test_a_manager_cannot_judge_a_case_about_their_own_content(kind: str, answer: str) -> None:
    world = build_world()
    judge = world.people["manager"]
    assert judge is not None
    case = _own_content_case(judge, kind)
    headers = {"Accept": "application/json"} if answer == "json" else {}
    before = snapshot()

    response = client_for(world, "manager").post(
        reverse("moderation:case_vote", args=[case.pk]), {"choice": "complies"}, headers=headers
    )

    if answer == "json":
        assert response.status_code == 409 and response.json()["ok"] is False
    else:
        assert response.status_code == 302 and response["Location"] == reverse("moderation:dashboard")
    assert snapshot() == before


def test_a_manager_cannot_dispute_another_managers_audit() -> None:
    # given another manager's audit vote, marked wrong
    world = build_world()
    colleague = manager()
    theirs = ManagerVote.objects.create(
        case=world.audit_vote.case, manager=colleague, choice="violates", audit_correct=False
    )
    client = client_for(world, "manager")
    before = snapshot()

    # when our manager disputes it, and a vote that does not exist
    def dispute(pk: int) -> Any:
        return client.post(reverse("moderation:audit_dispute", args=[pk]), {"reason": "I know better."})

    foreign, missing = dispute(theirs.pk), dispute(theirs.pk + 1000)

    # then nothing is stored, and both are answered as not found
    assert snapshot() == before
    assert (foreign.status_code, missing.status_code) == (404, 404)


def test_answers_to_questions_not_drawn_for_the_attempt_are_not_counted() -> None:
    # given the suspended manager's attempt, and questions it did not draw
    world = build_world()
    undrawn = question_bank(15, rule=world.rule)
    correct = Choice.objects.filter(question__in=undrawn, is_correct=True)

    # when they post the right answers to the undrawn questions, confirmed
    response = client_for(world, "suspended").post(
        reverse("moderation:attempt", args=[world.attempt.pk]),
        {f"q{c.question_id}": c.pk for c in correct} | {"confirm": "on"},
    )

    # then the attempt's own questions are unanswered: it is sent back, not graded
    world.attempt.refresh_from_db()
    assert response.status_code == 200
    assert len(response.context["form"].errors) == len(world.questions) + 1  # each question, and the summary
    assert world.attempt.submitted_at is None
    assert not ManagerTerm.objects.filter(user=world.attempt.user, status=ManagerTerm.Status.ACTIVE).exists()


def test_an_answer_naming_a_choice_of_another_question_is_refused() -> None:
    world = build_world()
    first, second = world.questions[0], world.questions[1]
    answers = {**right_answers(world), f"q{first.pk}": second.choices.get(is_correct=True).pk}
    before = snapshot()

    response = client_for(world, "suspended").post(reverse("moderation:attempt", args=[world.attempt.pk]), answers)

    assert response.status_code == 200 and f"q{first.pk}" in response.context["form"].errors
    assert snapshot() == before
