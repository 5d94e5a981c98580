"""The queues: reports, manager votes, quorum and majority, escalation, audits, conflicts, effects."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Note
from moderation import services
from moderation.models import Appeal, Case, ManagerTerm, ManagerVote, ModerationPolicy, Report
from moderation.reasons import reasons_text
from ratings import scoring
from ratings.models import ProductResult, Vote
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, vote_case
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _votes(case: Case, *choices: str) -> None:
    for choice in choices:
        services.vote_cast(manager=manager(), case_id=case.pk, choice=choice)


# --- reports -------------------------------------------------------------------------------------------


def test_repeat_reports_join_one_open_case_and_raise_its_priority() -> None:
    note, rule = NoteFactory(), RuleFactory()

    first = services.report_submit(reporter=UserFactory(), rule=rule, note=note)
    second = services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment="spam")

    assert first.pk == second.pk
    assert (second.reports_count, second.priority) == (2, 3)
    assert Case.objects.count() == 1 and Report.objects.count() == 2


def test_a_user_reports_an_item_once_and_never_their_own() -> None:
    note, rule, reporter = NoteFactory(), RuleFactory(), UserFactory()
    services.report_submit(reporter=reporter, rule=rule, note=note)

    with pytest.raises(services.ModerationError, match="already"):
        services.report_submit(reporter=reporter, rule=rule, note=note)
    with pytest.raises(services.ModerationError, match="own"):
        services.report_submit(reporter=note.author, rule=rule, note=note)


def test_a_signed_in_user_reports_a_rating_comment_from_the_product_page(client: Client) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [vote] = votes_cast(campaign, [[4] * 5], comment="加我微信买便宜货")
    rule = RuleFactory(name_en="No advertising")
    client.force_login(UserFactory())

    form = client.get(reverse("moderation:report", args=["rating", vote.pk]), HTTP_ACCEPT_LANGUAGE="en")
    bad = client.post(reverse("moderation:report", args=["rating", vote.pk]), {"rule": 999999})
    sent = client.post(reverse("moderation:report", args=["rating", vote.pk]), {"rule": rule.pk, "comment": "ad"})

    assert form.status_code == 200 and "No advertising" in form.content.decode()
    assert sent.status_code == 302 and Case.objects.get().vote_id == vote.pk
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


# --- votes, quorum, majority ------------------------------------------------------------------------------


def test_a_clear_majority_of_a_quorum_decides_and_hides_the_note() -> None:
    case = note_case()

    _votes(case, "violates", "violates", "skip", "complies", "violates")
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN  # a skip is not a vote: 4 of 5 needed
    _votes(case, "violates")

    case.refresh_from_db()
    assert (case.status, case.outcome) == (Case.Status.DECIDED, Case.Outcome.VIOLATES)
    assert Note.objects.get(pk=case.note_id).visibility == Note.Visibility.HIDDEN


def test_a_split_quorum_calls_more_managers_then_escalates_to_staff() -> None:
    case = note_case()

    _votes(case, "violates", "complies", "violates", "complies", "violates")
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN  # 3 to 2: two more managers are called
    _votes(case, "complies")

    case.refresh_from_db()
    # 3 to 3: a seventh vote makes at most 4 of 7, short of two thirds
    assert case.status == Case.Status.ESCALATED and case.outcome == ""
    assert Note.objects.get(pk=case.note_id).visibility == Note.Visibility.VISIBLE


def test_a_stale_case_escalates() -> None:
    stale, fresh = note_case(), note_case()
    Case.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=73))

    assert services.cases_escalate_stale() == 1

    assert Case.objects.get(pk=stale.pk).status == Case.Status.ESCALATED
    assert Case.objects.get(pk=fresh.pk).status == Case.Status.OPEN


def test_a_manager_votes_once_per_case() -> None:
    case, judge = note_case(), manager()
    services.vote_cast(manager=judge, case_id=case.pk, choice="violates")

    with pytest.raises(services.ModerationError, match="already"):
        services.vote_cast(manager=judge, case_id=case.pk, choice="complies")
    assert ManagerVote.objects.count() == 1


def test_a_manager_never_sees_or_judges_their_own_content_or_vote() -> None:
    judge = manager()
    own_note = note_case(note=NoteFactory(author=judge))
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [own_vote] = votes_cast(campaign, [[5] * 5], comment="mine")
    Vote.objects.filter(pk=own_vote.pk).update(user=judge)
    own_rating = vote_case(Vote.objects.get(pk=own_vote.pk))
    other = note_case()

    assert [case.pk for case in services_queue(judge)] == [other.pk]
    with pytest.raises(services.ModerationError, match="own"):
        services.vote_cast(manager=judge, case_id=own_note.pk, choice="complies")
    with pytest.raises(services.ModerationError, match="own"):
        services.vote_cast(manager=judge, case_id=own_rating.pk, choice="complies")


def services_queue(user: Any) -> list[Case]:
    from moderation.selectors import queue

    return queue(manager=user)


def test_the_queue_is_highest_priority_first_and_drops_cases_already_voted() -> None:
    judge = manager()
    low, high = note_case(priority=1), note_case(priority=5)
    voted = note_case(priority=9)
    services.vote_cast(manager=judge, case_id=voted.pk, choice="skip")

    assert [case.pk for case in services_queue(judge)] == [high.pk, low.pk]


def test_the_daily_cap_keeps_votes_considered() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 2})
    judge = manager()
    cases = [note_case() for _ in range(3)]
    for case in cases[:2]:
        services.vote_cast(manager=judge, case_id=case.pk, choice="skip")

    with pytest.raises(services.ModerationError, match="limit"):
        services.vote_cast(manager=judge, case_id=cases[2].pk, choice="skip")


# --- audits -----------------------------------------------------------------------------------------------


def test_audit_accuracy_below_the_threshold_suspends_the_manager() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"audit_window": 5, "audit_min_accuracy": 0.8})
    judge = manager()
    audits = [note_case(is_audit=True, audit_answer="violates") for _ in range(5)]
    for case in audits[:3]:
        services.vote_cast(manager=judge, case_id=case.pk, choice="violates")
    services.vote_cast(manager=judge, case_id=audits[3].pk, choice="complies")
    assert services.current_term(user=judge) is not None  # 3 of 4 scored: the window is not full yet

    services.vote_cast(manager=judge, case_id=audits[4].pk, choice="complies")

    assert services.current_term(user=judge) is None
    assert ManagerTerm.objects.get(user=judge).status == ManagerTerm.Status.SUSPENDED
    assert all(Case.objects.get(pk=case.pk).status == Case.Status.OPEN for case in audits)  # audits never decide


def test_a_manager_disputes_a_wrong_audit_once_and_staff_may_accept_it() -> None:
    judge = manager()
    audit = note_case(is_audit=True, audit_answer="violates")
    vote = services.vote_cast(manager=judge, case_id=audit.pk, choice="complies")

    dispute = services.dispute_submit(
        manager=judge, vote_id=vote.pk, reason="The note quotes the rule, it does not break it."
    )
    with pytest.raises(services.ModerationError, match="already"):
        services.dispute_submit(manager=judge, vote_id=vote.pk, reason="again")
    services.dispute_resolve(dispute=dispute, accept=True)

    assert ManagerVote.objects.get(pk=vote.pk).audit_correct is True


# --- effects --------------------------------------------------------------------------------------------------


def test_a_violating_rating_stops_counting_and_an_overturned_appeal_restores_it(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 2)
    [bad] = votes_cast(campaign, [[1] * 5], comment="差评专业户，收钱办事")
    scoring.run_all(triggered_by="test")
    case = vote_case(bad)

    with django_capture_on_commit_callbacks(execute=True):
        _votes(case, *["violates"] * 5)
    bad.refresh_from_db()
    assert (bad.verdict, bad.exclusion_reason) == (Vote.Verdict.EXCLUDED, Vote.ExclusionReason.MODERATION)
    result = ProductResult.objects.get(product=campaign.product, is_latest=True)
    assert (result.counted, result.excluded_moderation, result.comprehensive) == (2, 1, 4.0)
    assert bad.user.notifications.filter(kind="decision").exists()

    appeal = services.appeal_submit(author=bad.user, case_id=case.pk, reason="I really used it.")
    with pytest.raises(services.ModerationError, match="already"):
        services.appeal_submit(author=bad.user, case_id=case.pk, reason="again")
    with django_capture_on_commit_callbacks(execute=True):
        services.appeal_resolve(appeal=appeal, staff=staff, overturn=True)

    bad.refresh_from_db()
    assert bad.verdict == Vote.Verdict.COUNTED
    assert Appeal.objects.get().status == Appeal.Status.OVERTURNED
    assert ProductResult.objects.get(product=campaign.product, is_latest=True).counted == 3


def test_screening_holds_a_vote_for_review_until_managers_decide() -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [vote] = votes_cast(campaign, [[5] * 5], comment="好好好好好")

    case = services.case_open_for_review(
        vote=vote,
        rule=RuleFactory(),
        evidence={"reasons": [{"code": "shared_device", "params": {"accounts": 12, "hours": 2}}]},
    )

    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.REVIEW
    assert case.source == Case.Source.SCREENING
    assert reasons_text(case.evidence["reasons"]) == ["12 accounts on one device rated this product within 2 hours"]
    _votes(case, *["complies"] * 5)
    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.COUNTED


# --- pages and access ---------------------------------------------------------------------------------------------


MANAGER_URLS = [
    ("GET", "moderation:dashboard", []),
    ("GET", "moderation:audits", []),
    ("POST", "moderation:case_vote", [1]),
    ("POST", "moderation:audit_dispute", [1]),
]


@pytest.mark.parametrize(("method", "name", "args"), MANAGER_URLS)
@pytest.mark.parametrize("who", ["shopper", "suspended"])
def test_non_managers_and_suspended_managers_get_403_everywhere(
    client: Client, shopper: Any, method: str, name: str, args: list[int], who: str
) -> None:
    user = shopper
    if who == "suspended":
        user = manager()
        services.term_end(term=ManagerTerm.objects.get(user=user), status=ManagerTerm.Status.SUSPENDED, reason="x")
    note_case()
    client.force_login(user)

    response = getattr(client, method.lower())(reverse(name, args=args), {"choice": "violates"})

    assert response.status_code == 403
    assert not ManagerVote.objects.exists()


def test_anonymous_visitors_are_asked_to_sign_in(client: Client) -> None:
    for _method, name, args in MANAGER_URLS:
        assert client.get(reverse(name, args=args)).status_code in (302, 405)


def test_voting_from_the_page_answers_json_for_the_script_and_redirects_without_it(client: Client) -> None:
    judge = manager()
    first, second = note_case(), note_case()
    client.force_login(judge)

    scripted = client.post(
        reverse("moderation:case_vote", args=[first.pk]), {"choice": "violates"}, HTTP_ACCEPT="application/json"
    )
    plain = client.post(reverse("moderation:case_vote", args=[second.pk]), {"choice": "skip"})
    again = client.post(
        reverse("moderation:case_vote", args=[first.pk]), {"choice": "skip"}, HTTP_ACCEPT="application/json"
    )

    assert scripted.status_code == 200 and scripted.json()["ok"] is True
    assert plain.status_code == 302 and plain["Location"] == reverse("moderation:dashboard")
    assert again.status_code == 409 and again.json()["ok"] is False
    assert ManagerVote.objects.count() == 2


def test_the_dashboard_runs_the_same_queries_however_many_cases(client: Client, django_assert_num_queries: Any) -> None:
    judge = manager()
    client.force_login(judge)
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    note_case()
    vote_case(votes_cast(campaign, [[3] * 5], comment="meh")[0])
    client.get(reverse("moderation:dashboard"))
    cache.clear()  # every card rendered from the database: the most queries a page makes
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("moderation:dashboard"))
    for vote in votes_cast(campaign, [[3] * 5] * 10, comment="hmm"):
        vote_case(vote)
    for _ in range(10):
        note_case()
    cache.clear()

    with django_assert_num_queries(len(few)):
        response = client.get(reverse("moderation:dashboard"))

    assert len(response.context["cards"]) == 20


def test_the_author_reads_why_and_appeals_from_the_inbox_link(client: Client) -> None:
    case = note_case()
    _votes(case, *["violates"] * 5)
    author = Note.objects.get(pk=case.note_id).author
    client.force_login(author)

    inbox = client.get(reverse("accounts:inbox")).content.decode()
    page = client.get(reverse("moderation:decision", args=[case.pk]))
    sent = client.post(reverse("moderation:decision", args=[case.pk]), {"reason": "It was a joke."}, follow=True)
    stranger = Client()
    stranger.force_login(UserFactory())

    assert f"/moderation/decisions/{case.pk}/" in inbox
    assert page.status_code == 200 and case.rule.name_zh in page.content.decode()
    assert sent.status_code == 200 and Appeal.objects.filter(case=case).exists()
    assert stranger.get(reverse("moderation:decision", args=[case.pk])).status_code == 404


# --- two managers at the same moment -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deciding_votes_make_exactly_one_decision() -> None:
    case = note_case()
    _votes(case, "violates", "violates", "violates")
    judges = [manager(), manager()]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def vote(judge: Any) -> None:
        try:
            barrier.wait()
            services.vote_cast(manager=judge, case_id=case.pk, choice="violates")
        except BaseException as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=vote, args=(judge,)) for judge in judges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    case.refresh_from_db()
    assert case.status == Case.Status.DECIDED
    assert ManagerVote.objects.filter(case=case).count() == 5
    assert Note.objects.get(pk=case.note_id).visibility == Note.Visibility.HIDDEN
