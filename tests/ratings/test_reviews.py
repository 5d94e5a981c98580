"""Reviews people can use: sorted and filtered as the reader asks, each with its factor scores, an
"amended" marker, a helpful count (one mark per reader, never on one's own), and no report link on
one's own review."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ratings import services
from ratings.models import Campaign, ReviewHelpful, Vote
from tests.factories import UserFactory
from tests.ratings.factories import CampaignFactory, votes_cast

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}


@pytest.fixture
def campaign() -> Campaign:
    return CampaignFactory()


def _reviews(campaign: Campaign, rows: list[list[int]], *, days_ago: list[int]) -> list[Vote]:
    votes = []
    for row, days in zip(rows, days_ago, strict=True):
        when = timezone.now() - timedelta(days=days)
        [vote] = votes_cast(campaign, [row], comment=f"review scored {row}", created_at=when, submitted_at=when)
        votes.append(vote)
    return votes


def _review(page: str, vote: Vote) -> str:
    """The HTML of one review on the page."""
    start = page.index(f'id="review-{vote.pk}"')
    ends = [page.find(marker, start + 1) for marker in ('<li class="comment"', "</section>")]
    return page[start : min(end for end in ends if end != -1)]


def _order(client: Client, campaign: Campaign, query: str = "") -> list[int]:
    page = client.get(f"{campaign.product.get_absolute_url()}{query}", headers=EN).content.decode()
    return [int(pk) for pk in re.findall(r'id="review-(\d+)"', page)]


def test_reviews_come_newest_first_and_in_the_order_the_reader_picks(client: Client, campaign: Campaign) -> None:
    low, high, middle = _reviews(campaign, [[1] * 5, [5] * 5, [3] * 5], days_ago=[3, 2, 1])
    helpful = UserFactory()
    services.review_helpful_toggle(user=helpful, vote_id=low.pk)

    assert _order(client, campaign) == [middle.pk, high.pk, low.pk]
    assert _order(client, campaign, "?sort=highest") == [high.pk, middle.pk, low.pk]
    assert _order(client, campaign, "?sort=lowest") == [low.pk, middle.pk, high.pk]
    assert _order(client, campaign, "?sort=helpful") == [low.pk, middle.pk, high.pk]


def test_a_reader_filters_reviews_by_the_score_given_to_one_factor(client: Client, campaign: Campaign) -> None:
    first_factor = campaign.factors.order_by("position", "id").first()
    assert first_factor is not None
    loved, hated = _reviews(campaign, [[5, 3, 3, 3, 3], [1, 3, 3, 3, 3]], days_ago=[2, 1])

    shown = _order(client, campaign, f"?factor={first_factor.factor_id}&score=5")

    assert shown == [loved.pk]
    assert _order(client, campaign, f"?factor={first_factor.factor_id}&score=4") == []
    assert hated.pk in _order(client, campaign, f"?factor={first_factor.factor_id}&score=1")


def test_a_stale_or_crafted_query_is_ignored_not_an_error(client: Client, campaign: Campaign) -> None:
    older, newer = _reviews(campaign, [[2] * 5, [4] * 5], days_ago=[2, 1])
    for query in ("?sort=bogus", "?factor=999999&score=5", "?factor=x&score=9", "?sort=highest&factor=abc"):
        response = client.get(campaign.product.get_absolute_url() + query)
        assert response.status_code == 200, query
    # a control character is refused before any view (xhs/query_hygiene.py): a clear 400, never a 500
    assert client.get(campaign.product.get_absolute_url() + "?sort=%00").status_code == 400
    assert _order(client, campaign, "?sort=highest&factor=abc") == [newer.pk, older.pk]


def test_each_review_shows_its_factor_scores_and_an_amended_review_says_so(client: Client, campaign: Campaign) -> None:
    [vote] = _reviews(campaign, [[5, 4, 3, 2, 1]], days_ago=[1])
    names = list(campaign.factors.order_by("position", "id").values_list("name_en", flat=True))
    page = client.get(campaign.product.get_absolute_url(), headers=EN).content.decode()
    review = _review(page, vote)
    for name, score in zip(names, [5, 4, 3, 2, 1], strict=True):
        assert f"<li>{name} <strong>{score}</strong></li>" in review
    assert "Amended" not in review

    # when the author amends it through their invitation
    factors = {f.pk: 3 for f in campaign.factors.all()}
    services.vote_submit(
        invitation=vote.invitation, user=vote.user, scores=factors, comment="changed my mind", amends_revision=0
    )
    client.force_login(UserFactory())  # a reader signed in, as anyone: the amendment dropped the kept copies
    page = client.get(campaign.product.get_absolute_url(), headers=EN).content.decode()
    assert f"Amended {timezone.localdate():%Y-%m-%d}" in page
    assert "changed my mind" in page


def test_a_reader_marks_a_review_helpful_once_and_can_take_it_back(client: Client, campaign: Campaign) -> None:
    [vote] = _reviews(campaign, [[4] * 5], days_ago=[1])
    reader = UserFactory()
    client.force_login(reader)
    url = f"/reviews/{vote.pk}/helpful/"

    client.post(url, {"next": campaign.product.get_absolute_url()})
    client.post(url)  # a second click takes the mark back
    client.post(url)
    page = client.get(campaign.product.get_absolute_url(), headers=EN).content.decode()

    assert ReviewHelpful.objects.filter(vote=vote).count() == 1
    assert 'aria-pressed="true"' in page and "Helpful · 1" in page
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewHelpful.objects.create(vote=vote, user=reader, author=vote.user)


def test_nobody_can_mark_their_own_review_helpful_or_report_it(client: Client, campaign: Campaign) -> None:
    [own, other] = _reviews(campaign, [[4] * 5, [2] * 5], days_ago=[2, 1])
    client.force_login(own.user)

    response = client.post(f"/reviews/{own.pk}/helpful/", follow=True, headers=EN)
    page = client.get(campaign.product.get_absolute_url(), headers=EN).content.decode()

    assert "You cannot mark your own review as helpful." in response.content.decode()
    assert not ReviewHelpful.objects.exists()
    mine, theirs = _review(page, own), _review(page, other)
    assert "Your review" in mine and "/moderation/report/" not in mine and "/helpful/" not in mine
    assert f"/moderation/report/rating/{other.pk}/" in theirs
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewHelpful.objects.create(vote=own, user=own.user, author=own.user)


def test_an_anonymous_reader_is_sent_to_sign_in_and_their_page_holds_no_form_token(
    client: Client, campaign: Campaign
) -> None:
    [vote] = _reviews(campaign, [[4] * 5], days_ago=[1])
    page = client.get(campaign.product.get_absolute_url(), headers=EN).content.decode()
    review = _review(page, vote)
    assert "/accounts/login/?next=" in review and "csrfmiddlewaretoken" not in page


def test_an_excluded_vote_cannot_be_marked_helpful(client: Client, campaign: Campaign) -> None:
    [vote] = _reviews(campaign, [[4] * 5], days_ago=[1])
    Vote.objects.filter(pk=vote.pk).update(verdict=Vote.Verdict.EXCLUDED, exclusion_reason="screening")
    client.force_login(UserFactory())
    client.post(f"/reviews/{vote.pk}/helpful/")
    assert not ReviewHelpful.objects.exists()


def test_the_product_page_runs_the_same_queries_for_3_or_12_reviews(client: Client, campaign: Campaign) -> None:
    client.force_login(UserFactory())
    _reviews(campaign, [[4] * 5] * 3, days_ago=[1] * 3)
    url = campaign.product.get_absolute_url() + "?sort=helpful"
    client.get(url)  # warm the per-process caches (policy, rating)

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _reviews(campaign, [[3] * 5] * 9, days_ago=[2] * 9)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
