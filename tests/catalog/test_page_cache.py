"""Anonymous product pages are served from a cache that re-scores and moderation decisions replace."""

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import kept_pages
from catalog import page_cache
from moderation import services as moderation_services
from ratings import scoring
from ratings import services as rating_services
from ratings.models import RatingPolicy, ReviewHelpful
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import manager, note_case
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _rated_product(comment: str = "") -> Any:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 1, "prior_strength": 0})
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[3] * 5], comment=comment)
    return campaign


def test_an_anonymous_visitor_gets_the_cached_page_without_a_query(
    client: Client, django_assert_num_queries: Any
) -> None:
    product = ProductFactory()
    first = client.get(product.get_absolute_url())

    with django_assert_num_queries(0):
        second = client.get(product.get_absolute_url())

    assert second.status_code == 200 and second.content == first.content
    assert "csrfmiddlewaretoken" not in first.content.decode()
    assert "csrftoken" not in first.cookies


def test_a_cached_page_is_one_cache_round_trip(client: Client, cache_calls: list[str]) -> None:
    product = ProductFactory()
    client.get(product.get_absolute_url())
    cache_calls.clear()

    assert client.get(product.get_absolute_url()).status_code == 200

    assert cache_calls == ["get_many"], "the generation and the page come together"


def test_each_language_and_comment_page_is_cached_apart(client: Client) -> None:
    product = ProductFactory(name_zh="丝滑洗发露", name_en="Silky Shampoo")

    chinese = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "丝滑洗发露" in chinese and "Silky Shampoo" in english


def test_signed_in_people_get_a_page_of_their_own(client: Client) -> None:
    product = ProductFactory()
    client.get(product.get_absolute_url())
    client.force_login(UserFactory())

    page = client.get(product.get_absolute_url())

    assert "csrfmiddlewaretoken" in page.content.decode()  # their language form carries the token


def test_the_parts_a_signed_in_page_keeps_carry_nothing_of_its_visitor() -> None:
    # given: a buyer who reviewed the product reads its page first, so its shared parts are kept from their visit
    campaign = _rated_product(comment="Gentle on my scalp.")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    scoring.run_all(triggered_by="test")
    author = campaign.votes.get().user
    author.display_name = "Reviewer Wu"
    author.save()
    client.force_login(author)
    own = client.get(campaign.product.get_absolute_url()).content.decode()
    assert "Sign out" in own and "Your review" in own

    # when: someone else, and then an anonymous visitor, read it
    client.force_login(UserFactory())
    other = client.get(campaign.product.get_absolute_url()).content.decode()
    client.logout()
    anonymous = client.get(campaign.product.get_absolute_url()).content.decode()

    # then: neither page shows the first visitor's header or "your review"
    assert "Your review" not in other and "Your review" not in anonymous
    assert "Sign out" not in anonymous and "csrfmiddlewaretoken" not in anonymous
    assert other.count("Reviewer Wu") == anonymous.count("Reviewer Wu") == 1  # the review's author line only


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_rescore_replaces_the_cached_page(
    client: Client, django_capture_on_commit_callbacks: Any, signed_in: bool
) -> None:
    if signed_in:
        client.force_login(UserFactory())
    campaign = _rated_product()
    scoring.run_all(triggered_by="test")
    url = campaign.product.get_absolute_url()
    assert "<strong>3.0</strong>" in client.get(url).content.decode()
    votes_cast(campaign, [[5] * 5])

    scoring.rescore_request(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        scoring.campaign_rescore(campaign_id=campaign.pk)

    assert "<strong>4.0</strong>" in client.get(url).content.decode()


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_note_hidden_by_managers_leaves_the_cached_page(
    client: Client, django_capture_on_commit_callbacks: Any, signed_in: bool
) -> None:
    if signed_in:
        client.force_login(UserFactory())
    product = ProductFactory()
    note = NoteFactory(mentions=[product], title="Buy cheap on my site")
    assert "Buy cheap on my site" in client.get(product.get_absolute_url()).content.decode()
    case = note_case(note=note)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            moderation_services.vote_cast(manager=manager(), case_id=case.pk, choice="violates")

    assert "Buy cheap on my site" not in client.get(product.get_absolute_url()).content.decode()


def test_anonymous_visitors_switch_language_without_a_token_and_signed_in_people_need_one() -> None:
    anonymous = Client(enforce_csrf_checks=True)
    switched = anonymous.post(reverse("set_language"), {"language": "en", "next": "/"})
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(UserFactory())
    refused = signed_in.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert switched.status_code == 302 and switched.cookies["django_language"].value == "en"
    assert refused.status_code == 403


# --- The comments section, kept for signed-in readers with each one's own buttons (catalog.kept_comments) ------


def _without_tokens(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)


def _buttons(page: str, vote: Any) -> str:
    start = page.index('class="review-actions', page.index(f'id="review-{vote.pk}"'))
    return page[start : page.index("</div>", start)]


def test_each_reader_gets_their_own_buttons_from_one_kept_comments_section() -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    votes_cast(campaign, [[4] * 5], comment="Smells of rain.")
    scoring.run_all(triggered_by="test")
    mine, theirs = campaign.votes.order_by("pk")
    fan, stranger = UserFactory(), UserFactory()
    rating_services.review_helpful_toggle(user=fan, vote_id=theirs.pk)
    url = campaign.product.get_absolute_url()

    pages = {}
    for name, user in (("author", mine.user), ("fan", fan), ("stranger", stranger)):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        cache.clear()
        fresh = client.get(url).content.decode()  # the section rendered, with this reader's buttons, and kept
        kept = client.get(url).content.decode()  # from the kept section
        assert _without_tokens(kept) == _without_tokens(fresh), name
        pages[name] = kept
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(stranger)
    client.get(url)  # kept from the stranger's visit, then read by everyone
    for name, user in (("author", mine.user), ("fan", fan)):
        client.force_login(user)
        assert _without_tokens(client.get(url).content.decode()) == _without_tokens(pages[name]), name

    assert "Your review" in _buttons(pages["author"], mine) and "/helpful/" not in _buttons(pages["author"], mine)
    assert 'aria-pressed="true"' in _buttons(pages["fan"], theirs)
    assert 'aria-pressed="false"' in _buttons(pages["stranger"], theirs)
    assert "Your review" not in pages["fan"] + pages["stranger"]
    assert f'value="{url}#review-{theirs.pk}"' in _buttons(pages["stranger"], theirs), "the request's own path"


def test_a_kept_sections_helpful_button_carries_a_token_the_middleware_accepts() -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    scoring.run_all(triggered_by="test")
    [vote] = campaign.votes.all()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    client.get(campaign.product.get_absolute_url())  # kept; sets the CSRF cookie
    buttons = _buttons(client.get(campaign.product.get_absolute_url()).content.decode(), vote)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', buttons)
    assert token

    response = client.post(reverse("ratings:review_helpful", args=[vote.pk]), {"csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302 and ReviewHelpful.objects.filter(vote=vote).count() == 1


def test_an_amended_review_shows_at_once_though_its_score_stays() -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    scoring.run_all(triggered_by="test")
    [vote] = campaign.votes.all()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    assert "Gentle on my scalp." in client.get(campaign.product.get_absolute_url()).content.decode()

    factors = {factor.pk: 3 for factor in campaign.factors.all()}  # the same scores: no re-score moves anything
    rating_services.vote_submit(
        invitation=vote.invitation, user=vote.user, scores=factors, comment="Dried my hair out.", amends_revision=0
    )

    page = client.get(campaign.product.get_absolute_url()).content.decode()
    assert "Dried my hair out." in page and "Gentle on my scalp." not in page


def test_a_comment_page_past_the_last_is_the_last_pages_kept_section(django_assert_num_queries: Any) -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    scoring.run_all(triggered_by="test")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    client.get("/")  # the header's figures kept
    first = client.get(campaign.product.get_absolute_url()).content.decode()

    with django_assert_num_queries(0):  # the reader's shell, the product's parts, the last page's section, the marks
        past = client.get(campaign.product.get_absolute_url(), {"page": "7"}).content.decode()

    assert "Gentle on my scalp." in past
    assert _without_tokens(past).replace("?page=7", "") == _without_tokens(first)


def test_a_readers_first_visit_of_a_product_is_one_cache_round_trip_and_no_query(
    cache_calls: list[str], django_assert_num_queries: Any
) -> None:
    """The reader's shell is kept per account, not per product: opening a product they never opened, kept from
    someone else's visit, reads nothing from PostgreSQL and is the page rendered afresh."""
    seen, new = _rated_product(comment="Gentle on my scalp."), _rated_product(comment="Smells of rain.")
    scoring.run_all(triggered_by="test")
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    visitor.force_login(UserFactory())
    visitor.get(new.product.get_absolute_url())  # its parts and comments kept, from another account's visit
    reader = Client(HTTP_ACCEPT_LANGUAGE="en")
    reader.force_login(UserFactory())
    for _ in range(2):  # rendered (its parts kept, the hint cookie set), then from what is kept: the shell kept
        reader.get(seen.product.get_absolute_url())
    cache_calls.clear()

    with django_assert_num_queries(0):
        page = reader.get(new.product.get_absolute_url()).content.decode()

    assert cache_calls == ["get_many"], "the session, the account, its shell and marks, the product's parts together"
    cache.clear()
    fresh = reader.get(new.product.get_absolute_url()).content.decode()
    assert "Smells of rain." in page and "Gentle on my scalp." not in page
    assert _without_tokens(page) == _without_tokens(fresh)


def test_a_review_the_reader_marks_helpful_shows_pressed_on_their_next_page_and_unpressed_once_taken_back() -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    scoring.run_all(triggered_by="test")
    [vote] = campaign.votes.all()
    url = campaign.product.get_absolute_url()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    client.get(url)
    assert 'aria-pressed="false"' in _buttons(client.get(url).content.decode(), vote)  # from what is kept

    after = client.post(reverse("ratings:review_helpful", args=[vote.pk]), {"next": url}, follow=True)

    assert "Marked as helpful." in after.content.decode()  # a message: the page rendered afresh shows it once
    assert 'aria-pressed="true"' in _buttons(after.content.decode(), vote)
    again = client.get(url).content.decode()
    assert 'aria-pressed="true"' in _buttons(again, vote) and "Marked as helpful." not in again
    client.post(reverse("ratings:review_helpful", args=[vote.pk]), {"next": url})
    client.get(url)  # the message "Mark taken back." shown and consumed
    assert 'aria-pressed="false"' in _buttons(client.get(url).content.decode(), vote)


def test_a_product_taken_off_sale_is_gone_for_a_reader_whose_pages_are_kept_too() -> None:
    campaign = _rated_product(comment="Gentle on my scalp.")
    scoring.run_all(triggered_by="test")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    url = campaign.product.get_absolute_url()
    assert client.get(url).status_code == client.get(url).status_code == 200

    type(campaign.product).objects.filter(pk=campaign.product.pk).update(is_active=False)
    page_cache.forget([campaign.product.pk])  # as the admin does when a product is saved

    assert client.get(url).status_code == 410


def test_a_name_or_a_review_written_like_a_slot_is_shown_as_written() -> None:
    """Slots start with a NUL, which no stored text holds: letters alone are text, wherever they stand."""
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 1, "prior_strength": 0})
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[3] * 5], comment="keptreviewACTIONSslot7f3c1; ACTIONS2; TITLE")
    scoring.run_all(triggered_by="test")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(display_name="keptpageTITLEslot7f3c"))
    url = campaign.product.get_absolute_url()
    client.get(url)

    kept = client.get(url).content.decode()

    assert 'class="who">keptpageTITLEslot7f3c</a>' in kept
    assert "keptreviewACTIONSslot7f3c1; ACTIONS2; TITLE" in kept and "\x00" not in kept


def test_postgresql_refuses_a_nul_in_text_so_no_stored_text_holds_a_slot() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own rule; SQLite stores a NUL (the forms refuse one there too)")
    with pytest.raises(ValueError, match="NUL"):
        UserFactory(display_name=kept_pages.slot("TITLE"))
