"""Factor surveys: who is invited, one answer per person (also under a race), the ranking, and adoption."""

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, User
from catalog.models import Category, Factor, OrderLine
from ratings import surveys, tasks
from ratings.models import FactorSurvey, SurveyCandidate, SurveyInvitation, SurveyRank, SurveyResponse
from ratings.survey_ranking import borda_ranking
from tests import concurrency
from tests.factories import ProductFactory, brand_account, rating_ready_category
from tests.ratings.eligibility_factories import active_buyer, purchase
from tests.ratings.factories import campaign_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Services' messages are read in English here (the site's default language is Chinese)."""
    with translation.override("en"):
        yield


def candidate_specs(count: int = 8) -> list[surveys.CandidateSpec]:
    return [
        surveys.CandidateSpec(name_zh=f"候选{i}", name_en=f"Candidate {i}", description_en=f"What candidate {i} means.")
        for i in range(1, count + 1)
    ]


def draft_survey(category: Category | None = None, *, count: int = 8, **kwargs: Any) -> FactorSurvey:
    now = timezone.now()
    kwargs.setdefault("opens_at", now - timedelta(hours=1))
    kwargs.setdefault("closes_at", now + timedelta(days=14))
    return surveys.survey_create(
        category=category or rating_ready_category(), candidates=candidate_specs(count), **kwargs
    )


def eligible_buyer_of(category: Category) -> User:
    buyer = active_buyer()
    purchase(buyer, ProductFactory(category=category), days_ago=30)
    return buyer


def open_survey_with(buyers: int = 1) -> tuple[FactorSurvey, list[User]]:
    category = rating_ready_category()
    people = [eligible_buyer_of(category) for _ in range(buyers)]
    survey = draft_survey(category)
    surveys.survey_open(survey=survey)
    return survey, people


def ids(survey: FactorSurvey) -> list[int]:
    return list(survey.candidates.order_by("position").values_list("pk", flat=True))


def answer(survey: FactorSurvey, user: User, order: Sequence[int], suggestion: str = "") -> surveys.ResponseOutcome:
    invitation = SurveyInvitation.objects.select_related("survey").get(survey=survey, user=user)
    return surveys.response_submit(invitation=invitation, user=user, ranking=order, suggestion=suggestion)


# --- The ranking ----------------------------------------------------------------------------------


def test_the_borda_ranking_and_kendalls_w_equal_the_hand_computed_reference() -> None:
    # given three respondents ranking four candidates; by hand: rank sums 4, 6, 8, 12 → points 8, 6, 4, 0;
    # mean rank sum 7.5, squared deviations 12.25 + 2.25 + 0.25 + 20.25 = 35, W = 12·35 / (9·60) = 7/9
    rankings = [[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4]]

    result = borda_ranking([1, 2, 3, 4], rankings)

    assert [(t.candidate, t.points, t.firsts, t.top_three) for t in result.tallies] == [
        (1, 8, 2, 3),
        (2, 6, 1, 3),
        (3, 4, 0, 3),
        (4, 0, 0, 0),
    ]
    assert result.tallies[0].mean_rank == pytest.approx(4 / 3)
    assert result.respondents == 3
    assert result.agreement == pytest.approx(7 / 9)


def test_identical_rankings_agree_fully_and_reversed_pairs_not_at_all() -> None:
    assert borda_ranking([1, 2, 3], [[3, 1, 2]] * 4).agreement == pytest.approx(1.0)
    assert borda_ranking([1, 2, 3], [[1, 2, 3], [3, 2, 1]]).agreement == pytest.approx(0.0)
    assert borda_ranking([1, 2, 3], [[1, 2, 3]]).agreement is None


def test_a_ranking_that_leaves_out_a_candidate_is_refused() -> None:
    with pytest.raises(ValueError, match="every candidate"):
        borda_ranking([1, 2, 3], [[1, 2]])


def test_the_survey_results_rank_the_stored_answers_as_the_reference_does() -> None:
    survey, people = open_survey_with(buyers=3)
    c = ids(survey)
    orders = [c, [c[1], c[0], *c[2:]], [c[0], c[2], c[1], *c[3:]]]
    for person, order in zip(people, orders, strict=True):
        answer(survey, person, order)

    results = surveys.survey_results(survey)

    reference = borda_ranking(c, orders)
    assert [row.candidate.pk for row in results.ranked] == [t.candidate for t in reference.tallies]
    assert [row.points for row in results.ranked] == [t.points for t in reference.tallies]
    assert results.agreement == pytest.approx(reference.agreement)
    assert results.respondents == 3
    assert results.invited == 3
    assert "Borda" in results.method
    assert "Kendall" in results.method


# --- Creating and opening -------------------------------------------------------------------------


@pytest.mark.parametrize("count", [7, 16])
def test_a_survey_needs_eight_to_fifteen_candidates(count: int) -> None:
    with pytest.raises(surveys.SurveyError, match="8 to 15"):
        draft_survey(count=count)
    assert not FactorSurvey.objects.exists()


def test_a_category_is_surveyed_again_only_after_the_policys_interval() -> None:
    # given a survey that opened 200 days ago and was adopted
    category = rating_ready_category()
    first = draft_survey(category, opens_at=timezone.now() - timedelta(days=200))
    FactorSurvey.objects.filter(pk=first.pk).update(status=FactorSurvey.Status.CLOSED)

    with pytest.raises(surveys.SurveyError, match="less than 365 days"):
        draft_survey(category)

    again = draft_survey(
        category, opens_at=timezone.now() + timedelta(days=170), closes_at=timezone.now() + timedelta(days=200)
    )
    assert again.category == category


def test_only_verified_purchasers_of_the_category_in_the_window_are_invited() -> None:
    category = rating_ready_category()
    product = ProductFactory(category=category)
    invited = eligible_buyer_of(category)
    purchase(other_shop := active_buyer(), ProductFactory(), days_ago=30)  # another category
    purchase(old := active_buyer(), product, days_ago=400)  # outside the purchase window
    purchase(fresh := active_buyer(), product, days_ago=2)  # not yet tried (use period)
    purchase(
        refunded := active_buyer(),
        product,
        days_ago=30,
        status=OrderLine.Status.REFUNDED,
        status_changed_at=timezone.now(),
    )
    purchase(newcomer := active_buyer(date_joined=timezone.now() - timedelta(days=3)), product, days_ago=30)
    purchase(away := active_buyer(last_seen_at=timezone.now() - timedelta(days=200)), product, days_ago=30)
    purchase(banned := active_buyer(is_banned=True), product, days_ago=30)
    purchase(invited, product, days_ago=60)  # a second purchase: still one invitation
    survey = draft_survey(category)

    count = surveys.survey_open(survey=survey)

    assert count == 1
    assert list(SurveyInvitation.objects.values_list("user_id", flat=True)) == [invited.pk]
    assert {other_shop, old, fresh, refunded, newcomer, away, banned}.isdisjoint({invited})
    assert surveys.survey_invite(survey=survey) == 0, "a re-run invites no one twice"


# --- Answering ------------------------------------------------------------------------------------


def test_an_account_that_speaks_for_a_brand_helps_choose_no_factors() -> None:
    # given a buyer of the category linked to a brand before the survey opens, and one linked after its invitation
    category = rating_ready_category()
    product = ProductFactory(category=category)
    brand_team = brand_account(user=eligible_buyer_of(category), brand=product.brand)
    survey = draft_survey(category)
    late = eligible_buyer_of(category)

    surveys.survey_open(survey=survey)
    brand_account(user=late, store=product.store)

    # then the first is not invited, and the second's answer is refused and nothing stored
    assert not SurveyInvitation.objects.filter(user=brand_team).exists()
    with pytest.raises(surveys.SurveyError, match="speaks for a brand"):
        answer(survey, late, ids(survey))
    assert not SurveyResponse.objects.exists()


def test_each_invited_buyer_finds_the_survey_in_their_inbox_once(client: Client) -> None:
    # given a survey opened to two buyers, then invited again (a later eligible buyer joins)
    survey, [first, second] = open_survey_with(buyers=2)
    later = eligible_buyer_of(survey.category)
    surveys.survey_invite(survey=survey)

    # then each has one message, linking to the survey, and the inbox says what it is about
    messages = Notification.objects.filter(kind=Notification.Kind.SURVEY)
    assert sorted(messages.values_list("user_id", flat=True)) == sorted([first.pk, second.pk, later.pk])
    assert set(messages.values_list("url", flat=True)) == {reverse("ratings:survey", args=[survey.pk])}
    client.force_login(first)
    page = client.get(reverse("accounts:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Help choose what {survey.category.name_en} is rated on" in page
    assert reverse("ratings:survey", args=[survey.pk]) in page


def test_an_invited_buyer_answers_once_with_a_suggestion() -> None:
    survey, [buyer] = open_survey_with()
    order = list(reversed(ids(survey)))

    outcome = answer(survey, buyer, order, suggestion="  包装是否环保  ")
    again = answer(survey, buyer, ids(survey))

    assert outcome.status == surveys.ResponseStatus.CREATED
    assert again.status == surveys.ResponseStatus.ALREADY_ANSWERED
    response = SurveyResponse.objects.get()
    assert response.suggestion == "包装是否环保"
    assert list(response.ranks.order_by("rank").values_list("candidate_id", flat=True)) == order


def test_a_ranking_must_place_every_candidate_once() -> None:
    survey, [buyer] = open_survey_with()
    c = ids(survey)

    with pytest.raises(surveys.SurveyError, match="its own place"):
        answer(survey, buyer, [c[0], *c[:-1]])
    assert not SurveyResponse.objects.exists()


def test_someone_else_cannot_answer_with_an_invitation() -> None:
    survey, [buyer] = open_survey_with()
    invitation = SurveyInvitation.objects.get(user=buyer)

    with pytest.raises(surveys.SurveyError, match="not yours"):
        surveys.response_submit(invitation=invitation, user=active_buyer(), ranking=ids(survey))


def test_a_closed_survey_takes_no_answers() -> None:
    survey, [buyer] = open_survey_with()
    surveys.survey_close(survey=survey)

    with pytest.raises(surveys.SurveyError, match="not taking answers"):
        answer(survey, buyer, ids(survey))


def test_surveys_past_their_closing_time_close_by_themselves_once() -> None:
    due, [buyer] = open_survey_with()
    FactorSurvey.objects.filter(pk=due.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    running, _ = open_survey_with()
    draft = draft_survey(closes_at=timezone.now() - timedelta(minutes=1))  # never opened: stays a draft

    assert tasks.close_due_surveys() == 1
    assert tasks.close_due_surveys() == 0, "a repeat closes nothing"

    statuses = dict(FactorSurvey.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: FactorSurvey.Status.CLOSED,
        running.pk: FactorSurvey.Status.OPEN,
        draft.pk: FactorSurvey.Status.DRAFT,
    }
    due.refresh_from_db()
    assert surveys.survey_adoptable(due)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_simultaneous_answers_of_one_person_store_exactly_one() -> None:
    survey, [buyer] = open_survey_with()
    c = ids(survey)

    def submit(i: int) -> surveys.ResponseStatus:
        order = c[i % len(c) :] + c[: i % len(c)]
        return answer(survey, buyer, order).status

    statuses, errors = concurrency.run_at_once(submit, threads=16)

    assert errors == []
    assert statuses.count(surveys.ResponseStatus.CREATED) == 1
    assert statuses.count(surveys.ResponseStatus.ALREADY_ANSWERED) == 15
    assert SurveyResponse.objects.count() == 1
    assert SurveyRank.objects.count() == len(c)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_draft_opened_by_four_staff_at_once_invites_and_tells_each_buyer_once() -> None:
    category = rating_ready_category()
    buyers = [eligible_buyer_of(category) for _ in range(3)]
    survey = draft_survey(category)

    def open_it(_i: int) -> int:
        return surveys.survey_open(survey=FactorSurvey.objects.get(pk=survey.pk))

    invited, errors = concurrency.run_at_once(open_it, threads=4)

    assert invited == [3]
    assert [type(error) for error in errors] == [surveys.SurveyError] * 3  # "only a draft can be opened"
    invitations = SurveyInvitation.objects.filter(survey=survey)
    assert sorted(invitations.values_list("user_id", flat=True)) == sorted(buyer.pk for buyer in buyers)
    told = Notification.objects.filter(kind=Notification.Kind.SURVEY, subject_id__in=invitations.values("pk"))
    assert sorted(told.values_list("user_id", flat=True)) == sorted(buyer.pk for buyer in buyers)


# --- Adoption -------------------------------------------------------------------------------------


def closed_answered_survey() -> tuple[FactorSurvey, list[int]]:
    survey, people = open_survey_with(buyers=2)
    c = ids(survey)
    answer(survey, people[0], c)
    answer(survey, people[1], c)
    surveys.survey_close(survey=survey)
    return survey, c


def test_adoption_makes_the_picks_the_categorys_factors_and_records_the_survey() -> None:
    survey, c = closed_answered_survey()
    category = survey.category
    old_factor_ids = set(Factor.objects.filter(category=category).values_list("pk", flat=True))

    surveys.survey_adopt(survey=survey, candidate_ids=c[:6])

    category.refresh_from_db()
    survey.refresh_from_db()
    assert category.factors_survey == survey
    assert survey.status == FactorSurvey.Status.ADOPTED
    assert survey.respondent_count == 2
    active = list(Factor.objects.filter(category=category, active=True).order_by("position"))
    assert [f.name_en for f in active] == [f"Candidate {i}" for i in range(1, 7)]
    assert not Factor.objects.filter(pk__in=old_factor_ids, active=True).exists()
    assert set(SurveyCandidate.objects.filter(adopted=True).values_list("pk", flat=True)) == set(c[:6])


def test_a_running_campaigns_frozen_factors_stay_as_they_were() -> None:
    survey, c = closed_answered_survey()
    campaign = campaign_for(ProductFactory(category=survey.category))
    frozen = list(campaign.factors.order_by("pk").values_list("pk", "name_en", "factor_id", "weight"))

    surveys.survey_adopt(survey=survey, candidate_ids=c[:5])

    assert list(campaign.factors.order_by("pk").values_list("pk", "name_en", "factor_id", "weight")) == frozen


@pytest.mark.parametrize("picks", [4, 11])
def test_staff_pick_five_to_ten_factors(picks: int) -> None:
    survey, _c = closed_answered_survey()
    extra = [
        SurveyCandidate.objects.create(survey=survey, name_zh=f"多{i}", name_en=f"More {i}", position=20 + i).pk
        for i in range(3)
    ]

    with pytest.raises(surveys.SurveyError, match="5 to 10"):
        surveys.survey_adopt(survey=survey, candidate_ids=(ids(survey) + extra)[:picks])
    survey.refresh_from_db()
    assert survey.status == FactorSurvey.Status.CLOSED


def test_an_open_survey_cannot_be_adopted_before_it_closes() -> None:
    survey, _people = open_survey_with()

    with pytest.raises(surveys.SurveyError, match="closed survey"):
        surveys.survey_adopt(survey=survey, candidate_ids=ids(survey)[:5])


# --- The respondent's page ------------------------------------------------------------------------


def survey_url(survey: FactorSurvey) -> str:
    return reverse("ratings:survey", kwargs={"pk": survey.pk})


def places_for(survey: FactorSurvey, order: Sequence[int]) -> dict[str, str]:
    return {f"place_{candidate_id}": str(place) for place, candidate_id in enumerate(order, start=1)}


def test_an_invited_buyer_ranks_the_factors_on_the_page(client: Client) -> None:
    survey, [buyer] = open_survey_with()
    client.force_login(buyer)
    order = list(reversed(ids(survey)))

    page = client.get(survey_url(survey), HTTP_ACCEPT_LANGUAGE="en")
    sent = client.post(survey_url(survey), {**places_for(survey, order), "suggestion": "Gentle on dyed hair"})

    assert page.status_code == 200
    assert "Candidate 8" in page.content.decode()
    assert sent.status_code == 302
    response = SurveyResponse.objects.get()
    assert list(response.ranks.order_by("rank").values_list("candidate_id", flat=True)) == order
    assert response.suggestion == "Gentle on dyed hair"
    shown = client.get(survey_url(survey), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your answer" in shown
    assert "Gentle on dyed hair" in shown


def test_two_factors_in_one_place_are_shown_as_errors_on_the_page(client: Client) -> None:
    survey, [buyer] = open_survey_with()
    client.force_login(buyer)
    c = ids(survey)
    data = places_for(survey, c)
    data[f"place_{c[1]}"] = "1"

    page = client.post(survey_url(survey), data, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    body = page.content.decode()
    assert "Give every factor its own place" in body
    assert body.count("Another factor has this place too.") == 2
    assert not SurveyResponse.objects.exists()


def test_the_survey_page_is_only_for_the_invited(client: Client) -> None:
    survey, _people = open_survey_with()
    client.force_login(active_buyer())

    assert client.get(survey_url(survey)).status_code == 404
    assert client.post(survey_url(survey), places_for(survey, ids(survey))).status_code == 404
    assert not SurveyResponse.objects.exists()


def test_the_survey_page_runs_as_many_queries_for_fifteen_candidates_as_for_eight(
    client: Client,
) -> None:
    counts = []
    for size in (8, 15):
        category = rating_ready_category()
        buyer = eligible_buyer_of(category)
        survey = draft_survey(category, count=size)
        surveys.survey_open(survey=survey)
        client.force_login(buyer)
        with CaptureQueriesContext(connection) as before:
            assert client.get(survey_url(survey)).status_code == 200
        answer(survey, buyer, ids(survey))
        with CaptureQueriesContext(connection) as after:
            assert client.get(survey_url(survey)).status_code == 200
        counts.append((len(before), len(after)))

    assert counts[0] == counts[1]


def test_the_survey_page_speaks_chinese_with_the_chinese_names(client: Client) -> None:
    with translation.override("zh-hans"):
        if translation.gettext("Your answer") == "Your answer":
            pytest.skip("translations not compiled yet")
    survey, [buyer] = open_survey_with()
    client.force_login(buyer)

    body = client.get(survey_url(survey), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "候选8" in body
    assert "Candidate 8" not in body


# --- Admin ----------------------------------------------------------------------------------------


def test_staff_see_the_ranking_with_its_method_and_adopt_from_it(client: Client, staff: User) -> None:
    survey, c = closed_answered_survey()
    client.force_login(staff)
    url = reverse("admin:ratings_factorsurvey_results", args=[survey.pk])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    adopted = client.post(url, {"candidates": [str(pk) for pk in c[:7]]})

    body = page.content.decode()
    assert page.status_code == 200
    assert "Borda count" in body
    assert "Kendall" in body
    assert "2 of 2 invited buyers answered" in body
    assert adopted.status_code == 302
    survey.category.refresh_from_db()
    assert survey.category.factors_survey_id == survey.pk
    assert Factor.objects.filter(category=survey.category, active=True).count() == 7


def test_adopting_too_few_in_admin_shows_the_rule_and_changes_nothing(client: Client, staff: User) -> None:
    survey, c = closed_answered_survey()
    client.force_login(staff)

    page = client.post(
        reverse("admin:ratings_factorsurvey_results", args=[survey.pk]),
        {"candidates": [str(pk) for pk in c[:3]]},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert page.status_code == 200
    assert "Pick 5 to 10 factors" in page.content.decode()
    survey.category.refresh_from_db()
    assert survey.category.factors_survey_id is None


def test_the_admin_refuses_a_survey_with_seven_candidates(client: Client, staff: User) -> None:
    category = rating_ready_category()
    client.force_login(staff)
    now = timezone.now()
    data: dict[str, Any] = {
        "category": category.pk,
        "opens_at_0": now.strftime("%Y-%m-%d"),
        "opens_at_1": "00:00:00",
        "closes_at_0": (now + timedelta(days=14)).strftime("%Y-%m-%d"),
        "closes_at_1": "00:00:00",
        "candidates-TOTAL_FORMS": "7",
        "candidates-INITIAL_FORMS": "0",
        "candidates-MIN_NUM_FORMS": "0",
        "candidates-MAX_NUM_FORMS": "1000",
    }
    for i in range(7):
        data |= {
            f"candidates-{i}-position": str(i),
            f"candidates-{i}-name_zh": f"候{i}",
            f"candidates-{i}-name_en": f"C {i}",
        }

    page = client.post(reverse("admin:ratings_factorsurvey_add"), data, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert "8 to 15 candidate factors" in page.content.decode()
    assert not FactorSurvey.objects.exists()
    data["candidates-TOTAL_FORMS"] = "8"
    data |= {"candidates-7-position": "7", "candidates-7-name_zh": "候7", "candidates-7-name_en": "C 7"}
    assert client.post(reverse("admin:ratings_factorsurvey_add"), data).status_code == 302
    assert FactorSurvey.objects.get().candidates.count() == 8


# --- Where the factors came from, on the public pages ---------------------------------------------


def test_the_product_and_methodology_pages_say_how_many_buyers_chose_the_factors(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    survey, c = closed_answered_survey()
    product = ProductFactory(category=survey.category)
    before = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the cached page is forgotten after commit
        surveys.survey_adopt(survey=survey, candidate_ids=c[:5])

    assert "Factors chosen with" not in before
    page = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Factors chosen with 2 buyers" in page
    methodology = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "factors chosen with 2 buyers" in methodology


def test_a_category_whose_staff_chose_the_factors_says_nothing_of_buyers(client: Client) -> None:
    product = ProductFactory(category=rating_ready_category())

    page = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Factors chosen with" not in page


def test_my_invitations_lead_to_an_open_survey_until_it_is_answered(client: Client) -> None:
    survey, [buyer] = open_survey_with()
    client.force_login(buyer)

    listed = client.get(reverse("ratings:invitations")).content.decode()
    answer(survey, buyer, ids(survey))
    after = client.get(reverse("ratings:invitations")).content.decode()

    assert survey_url(survey) in listed
    assert survey_url(survey) not in after


# --- The demo -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_demo_has_an_adopted_survey_and_an_open_one_the_buyer_can_answer(client: Client) -> None:
    call_command("seed", "--scale", "demo", "--as-of", "2026-11-01", verbosity=0)

    adopted = FactorSurvey.objects.get(status=FactorSurvey.Status.ADOPTED)
    assert adopted.respondent_count >= 30
    assert Category.objects.get(factors_survey=adopted).rating_ready
    assert (
        Factor.objects.filter(category=adopted.category, active=True).count()
        == adopted.candidates.filter(adopted=True).count()
    )
    assert SurveyResponse.objects.filter(invitation__survey=adopted).count() == adopted.respondent_count
    buyer = User.objects.get(email="buyer@demo.xhs")
    current = FactorSurvey.objects.get(status=FactorSurvey.Status.OPEN)
    assert SurveyInvitation.objects.filter(survey=current, user=buyer, response__isnull=True).exists()
    assert SurveyResponse.objects.filter(invitation__survey=current).exists()
    client.force_login(buyer)
    assert client.get(survey_url(current)).status_code == 200


def test_an_open_surveys_ranking_offers_no_adoption_and_groups_the_suggestions(client: Client, staff: User) -> None:
    survey, people = open_survey_with(buyers=3)
    for person in people:
        answer(survey, person, ids(survey), suggestion="Gentle on dyed hair" if person != people[2] else "Smell")
    client.force_login(staff)

    body = client.get(reverse("admin:ratings_factorsurvey_results", args=[survey.pk])).content.decode()

    assert 'name="candidates"' not in body
    assert "Gentle on dyed hair <span" in body
    assert "× 2" in body


def test_the_category_admin_shows_which_survey_chose_its_factors(client: Client, staff: User) -> None:
    survey, c = closed_answered_survey()
    surveys.survey_adopt(survey=survey, candidate_ids=c[:5])
    client.force_login(staff)

    page = client.get(reverse("admin:catalog_category_change", args=[survey.category_id]), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert str(survey) in page.content.decode()
