"""The manager's desk: each case with its rule and the reporters' words, neutral choices, an undo while the
case is undecided, the votes left today, and a page per case."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from moderation import selectors, services
from moderation.models import Case, ManagerTerm, ManagerVote, ModerationPolicy
from tests.factories import NoteFactory, UserFactory
from tests.moderation.factories import RuleFactory, manager, note_case

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _cold_cards() -> None:
    cache.clear()  # cards are cached across tests otherwise (same ids in a fresh database)


def _signed_in(client: Client, judge: Any) -> Client:
    client.force_login(judge)
    return client


def _page(client: Client, url: str) -> str:
    response = client.get(url, **ENGLISH)
    assert response.status_code == 200
    return response.content.decode()


def test_each_case_shows_the_rules_text_and_what_the_reporters_wrote(client: Client) -> None:
    rule = RuleFactory(name_en="No advertising", description_en="No selling, no contact details, no referral links.")
    note = NoteFactory(title="Cheap cream here")
    services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment="It gives a WeChat id to buy from")
    services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment="")
    reporter = UserFactory(display_name="Quiet reporter")
    services.report_submit(reporter=reporter, rule=rule, note=note, comment="pure advert")

    page = _page(_signed_in(client, manager()), reverse("moderation:dashboard"))

    assert "No selling, no contact details, no referral links." in page
    assert "It gives a WeChat id to buy from" in page and "pure advert" in page
    assert "3 reports" in page
    assert "Quiet reporter" not in page  # the reporters' words, never who they are


def test_the_three_choices_look_alike_and_keep_one_order_on_every_case(client: Client) -> None:
    for priority in (3, 2, 1):
        note_case(priority=priority)

    page = _page(_signed_in(client, manager()), reverse("moderation:dashboard"))

    forms = re.findall(r'<form[^>]*class="case-vote".*?</form>', page, flags=re.S)
    assert len(forms) == 3
    for form in forms:
        buttons = re.findall(r'<button type="submit" name="choice" value="(\w+)" class="([^"]+)"', form)
        assert [value for value, _ in buttons] == ["complies", "violates", "skip"]
        assert {classes for _, classes in buttons} == {"secondary vote-choice"}  # one style, no nudge


def test_a_manager_takes_back_a_vote_within_the_window_and_the_case_comes_back(client: Client) -> None:
    judge = manager()
    case = note_case()
    _signed_in(client, judge)
    voted = client.post(
        reverse("moderation:case_vote", args=[case.pk]), {"choice": "violates"}, headers={"Accept": "application/json"}
    )
    assert voted.json()["ok"] and f'data-case="{case.pk}"' not in _page(client, reverse("moderation:dashboard"))

    undone = client.post(reverse("moderation:case_undo", args=[case.pk]), headers={"Accept": "application/json"})

    assert undone.status_code == 200 and undone.json()["ok"]
    assert not ManagerVote.objects.filter(case=case).exists()
    assert f'data-case="{case.pk}"' in _page(client, reverse("moderation:dashboard"))
    assert undone.json()["left"] == voted.json()["left"] + 1


def test_an_undo_after_the_window_is_refused_and_the_vote_stands() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"undo_seconds": 30})
    judge, case = manager(), note_case()
    services.vote_cast(manager=judge, case_id=case.pk, choice="complies")

    with pytest.raises(services.ModerationError, match="time to undo"):
        services.vote_undo(manager=judge, case_id=case.pk, now=timezone.now() + timedelta(seconds=31))

    assert ManagerVote.objects.filter(case=case, manager=judge).exists()


def test_a_vote_that_decided_its_case_cannot_be_taken_back() -> None:
    case = note_case()
    judges = [manager() for _ in range(5)]
    for judge in judges:
        services.vote_cast(manager=judge, case_id=case.pk, choice="violates")
    case.refresh_from_db()
    assert case.status == Case.Status.DECIDED

    with pytest.raises(services.ModerationError, match="decided"):
        services.vote_undo(manager=judges[-1], case_id=case.pk)

    assert ManagerVote.objects.filter(case=case).count() == 5


def test_a_manager_cannot_undo_a_vote_they_did_not_cast() -> None:
    case = note_case()
    services.vote_cast(manager=manager(), case_id=case.pk, choice="violates")

    with pytest.raises(services.ModerationError, match="no vote"):
        services.vote_undo(manager=manager(), case_id=case.pk)

    assert ManagerVote.objects.filter(case=case).count() == 1


def test_without_javascript_the_queue_offers_the_undo_of_the_vote_just_cast(client: Client) -> None:
    judge, case = manager(), note_case()
    _signed_in(client, judge)

    response = client.post(reverse("moderation:case_vote", args=[case.pk]), {"choice": "skip"}, follow=True, **ENGLISH)

    page = response.content.decode()
    assert f"Your vote on case {case.pk}: Skip." in page
    assert reverse("moderation:case_undo", args=[case.pk]) in page
    client.post(reverse("moderation:case_undo", args=[case.pk]))
    assert not ManagerVote.objects.filter(case=case).exists()


def test_without_javascript_the_desk_names_a_vote_once_beside_its_undo(client: Client) -> None:
    judge, case = manager(), note_case()
    _signed_in(client, judge)

    queue_page = client.post(
        reverse("moderation:case_vote", args=[case.pk]), {"choice": "skip"}, follow=True, **ENGLISH
    ).content.decode()
    case_page = _page(client, reverse("moderation:case", args=[case.pk]))

    # the vote is named by its choice after a colon: "Your vote on case 7: Skip.", "You voted: Skip."
    assert queue_page.count(": Skip.") == 1 and f"case {case.pk}: Skip." in queue_page
    assert queue_page.count(reverse("moderation:case_undo", args=[case.pk])) == 1
    # on the case's own page: beside the case, and not in the desk's list as well
    assert case_page.count(": Skip.") == 1 and "You voted: Skip." in case_page
    assert case_page.count(reverse("moderation:case_undo", args=[case.pk])) == 1


def test_without_javascript_a_vote_that_decided_its_case_is_named_once_with_no_undo(client: Client) -> None:
    case = note_case()
    for _ in range(4):
        services.vote_cast(manager=manager(), case_id=case.pk, choice="violates")
    _signed_in(client, manager())

    page = client.post(
        reverse("moderation:case_vote", args=[case.pk]), {"choice": "violates"}, follow=True, **ENGLISH
    ).content.decode()

    assert Case.objects.get(pk=case.pk).status == Case.Status.DECIDED
    assert page.count(": Violates.") == 1 and f"case {case.pk}: Violates." in page
    assert reverse("moderation:case_undo", args=[case.pk]) not in page


def test_the_desk_counts_the_votes_left_today_against_the_daily_cap(client: Client) -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 5})
    judge = manager()
    for case in (note_case(), note_case()):
        services.vote_cast(manager=judge, case_id=case.pk, choice="complies")
    yesterday = note_case()
    services.vote_cast(manager=judge, case_id=yesterday.pk, choice="complies", now=timezone.now() - timedelta(days=1))

    page = _page(_signed_in(client, judge), reverse("moderation:dashboard"))

    assert "3 votes left today (of 5)" in page


def test_a_case_has_its_own_page_for_a_manager_without_a_stake(client: Client) -> None:
    rule = RuleFactory(description_en="Say only what you tried yourself.")
    case = note_case(rule=rule, note=NoteFactory(title="My friend says it works"))
    _signed_in(client, manager())

    page = _page(client, reverse("moderation:case", args=[case.pk]))

    assert "My friend says it works" in page and "Say only what you tried yourself." in page
    assert reverse("moderation:case_vote", args=[case.pk]) in page


def test_a_case_page_is_not_found_for_a_reporter_the_author_or_once_decided(client: Client) -> None:
    rule, note = RuleFactory(), NoteFactory()
    reporter = manager()
    case = services.report_submit(reporter=reporter, rule=rule, note=note)
    author = note.author
    ManagerTerm.objects.create(user=author, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=9))
    decided = note_case(status=Case.Status.DECIDED, outcome="complies", decided_at=timezone.now(), decided_by="staff")
    url = reverse("moderation:case", args=[case.pk])

    assert _signed_in(Client(), reporter).get(url).status_code == 404
    assert _signed_in(Client(), author).get(url).status_code == 404
    assert _signed_in(Client(), manager()).get(reverse("moderation:case", args=[decided.pk])).status_code == 404
    assert _signed_in(Client(), UserFactory()).get(url).status_code == 403  # not a manager: the desk is closed
    assert _signed_in(Client(), manager()).get(url).status_code == 200


def test_a_case_page_shows_the_managers_own_vote_and_never_the_others(client: Client) -> None:
    case = note_case()
    for _ in range(3):
        services.vote_cast(manager=manager(), case_id=case.pk, choice="violates")
    judge = manager()
    before = _page(_signed_in(client, judge), reverse("moderation:case", args=[case.pk]))
    services.vote_cast(manager=judge, case_id=case.pk, choice="complies")

    after = _page(client, reverse("moderation:case", args=[case.pk]))

    assert "Violates" in before  # the button, not a tally: nothing else differs by the votes cast
    assert "You voted: Does not violate." in after
    assert not re.search(r"\b[34] (votes|managers)", before + after)


def test_a_cached_card_shows_a_new_report_at_once(client: Client) -> None:
    rule, note = RuleFactory(), NoteFactory()
    services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment="first words")
    _signed_in(client, manager())
    assert "first words" in _page(client, reverse("moderation:dashboard"))

    services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment="second words")

    page = _page(client, reverse("moderation:dashboard"))
    assert "second words" in page and "2 reports" in page


def test_a_warm_dashboard_runs_the_same_few_queries_for_one_case_or_twenty(
    client: Client, django_assert_num_queries: Any
) -> None:
    judge = manager()
    note_case()
    _signed_in(client, judge)
    client.get(reverse("moderation:dashboard"))
    client.get(reverse("moderation:dashboard"))  # the card is cached now
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("moderation:dashboard"))
    warm = len(one)  # now: the log is reset by the next request
    assert warm > 0
    for _ in range(25):
        note_case()
    client.get(reverse("moderation:dashboard"))  # renders and caches the new cards

    with django_assert_num_queries(warm):
        response = client.get(reverse("moderation:dashboard"))

    assert len(response.context["cards"]) == 20


def test_a_warm_dashboard_runs_the_same_few_queries_however_many_votes_the_manager_cast(
    client: Client, django_assert_num_queries: Any
) -> None:
    judge = manager()
    cases = [note_case() for _ in range(25)]
    _signed_in(client, judge)
    client.get(reverse("moderation:dashboard"))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("moderation:dashboard"))
    warm = len(before)  # now: the log is reset by the next request
    # the manager passes the head of the queue: votes they may still undo, and cases the queue now skips
    for case in cases[:5]:
        services.vote_cast(manager=judge, case_id=case.pk, choice="skip")
    client.get(reverse("moderation:dashboard"))  # renders and caches the cards that moved up

    with django_assert_num_queries(warm):
        response = client.get(reverse("moderation:dashboard"))

    assert len(response.context["cards"]) == 20
    assert len(response.context["undoable"]) == 5


def test_the_queue_with_its_conflict_filter_is_one_query_however_many_cases(django_assert_num_queries: Any) -> None:
    judge = manager()
    note_case()
    with django_assert_num_queries(1):
        assert len(selectors.queue_entries(manager=judge)) == 1
    for _ in range(30):
        note_case()

    with django_assert_num_queries(1):
        assert len(selectors.queue_entries(manager=judge)) == 20
