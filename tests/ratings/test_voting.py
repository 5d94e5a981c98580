"""The verified purchaser's journey: accept or decline an invitation, then one vote, amendable until close."""

import hashlib
import hmac
import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from ratings import services
from ratings.forms import form_token
from ratings.models import Campaign, FactorScore, Invitation, Vote, VoteRevision
from tests.factories import UserFactory
from tests.ratings.factories import CampaignFactory, InvitationFactory, accepted_invitation, vote_for

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"
UA = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


@pytest.fixture
def invitation() -> Invitation:
    return InvitationFactory()


@pytest.fixture
def accepted() -> Invitation:
    return accepted_invitation()


def signed_in(user: Any, **kwargs: Any) -> Client:
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA, **kwargs)
    client.force_login(user)
    return client


def form_data(invitation: Invitation, score: Any = 4, *, revision: int | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"started": form_token(invitation_id=invitation.pk, amends_revision=revision), "comment": ""}
    for factor in invitation.campaign.factors.all():
        data[f"factor_{factor.pk}"] = str(score)
    data.update(extra)
    return data


def vote_url(invitation: Invitation) -> str:
    return reverse("ratings:vote", kwargs={"pk": invitation.pk})


def nothing_stored() -> bool:
    return not Vote.objects.exists() and not FactorScore.objects.exists() and not VoteRevision.objects.exists()


# Accepting and declining


def test_accepting_a_pending_invitation_makes_the_user_a_verified_purchaser(invitation: Invitation) -> None:
    client = signed_in(invitation.user)

    response = client.post(reverse("ratings:invitation_accept", kwargs={"pk": invitation.pk}), follow=True)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.responded_at is not None
    page = response.content.decode()
    assert 'class="verified-badge"' in page
    assert 'name="started"' in page, "the rating form is shown once accepted"
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert invitation.campaign.product.name_zh in profile
    assert 'class="verified-badge"' in profile


def test_accepting_twice_changes_nothing(invitation: Invitation) -> None:
    first = services.invitation_accept(invitation=invitation, user=invitation.user)
    second = services.invitation_accept(invitation=invitation, user=invitation.user)
    assert first.status == second.status == Invitation.Status.ACCEPTED
    assert first.responded_at == second.responded_at


def test_an_expired_invitation_cannot_be_accepted() -> None:
    past = timezone.now() - timedelta(days=20)
    expired = InvitationFactory(created_at=past, expires_at=past + timedelta(days=14))
    client = signed_in(expired.user)

    response = client.post(reverse("ratings:invitation_accept", kwargs={"pk": expired.pk}), follow=True)

    expired.refresh_from_db()
    assert expired.status == Invitation.Status.PENDING
    assert response.status_code == 200
    assert "expired" in response.content.decode()
    with pytest.raises(services.RatingError):
        services.invitation_accept(invitation=expired, user=expired.user)


def test_declining_hides_the_invitation_and_it_cannot_be_used_after(invitation: Invitation) -> None:
    client = signed_in(invitation.user)

    response = client.post(reverse("ratings:invitation_decline", kwargs={"pk": invitation.pk}))

    assert response.status_code == 302
    assert response.url == reverse("ratings:invitations")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    with pytest.raises(services.RatingError):
        services.invitation_accept(invitation=invitation, user=invitation.user)
    client.post(vote_url(invitation), form_data(invitation))
    assert nothing_stored()


def test_an_accepted_invitation_cannot_be_declined(accepted: Invitation) -> None:
    with pytest.raises(services.RatingError):
        services.invitation_decline(invitation=accepted, user=accepted.user)


def test_someone_elses_invitation_is_not_found(invitation: Invitation) -> None:
    intruder = signed_in(UserFactory())
    pk = {"pk": invitation.pk}

    assert intruder.get(reverse("ratings:invitation", kwargs=pk)).status_code == 404
    assert intruder.post(reverse("ratings:invitation_accept", kwargs=pk)).status_code == 404
    assert intruder.post(reverse("ratings:invitation_decline", kwargs=pk)).status_code == 404
    assert intruder.get(vote_url(invitation)).status_code == 404
    assert intruder.post(vote_url(invitation), form_data(invitation)).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert nothing_stored()


def test_someone_elses_accepted_invitation_cannot_be_voted_on(accepted: Invitation) -> None:
    intruder = signed_in(UserFactory())
    assert intruder.post(vote_url(accepted), form_data(accepted)).status_code == 404
    with pytest.raises(services.RatingError):
        services.vote_submit(invitation=accepted, user=UserFactory(), scores={})
    assert nothing_stored()


def test_state_changes_are_post_only(invitation: Invitation) -> None:
    client = signed_in(invitation.user)
    assert client.get(reverse("ratings:invitation_accept", kwargs={"pk": invitation.pk})).status_code == 405
    assert client.get(reverse("ratings:invitation_decline", kwargs={"pk": invitation.pk})).status_code == 405
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_accepting_needs_the_csrf_token(invitation: Invitation) -> None:
    client = signed_in(invitation.user, enforce_csrf_checks=True)
    response = client.post(reverse("ratings:invitation_accept", kwargs={"pk": invitation.pk}))
    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_voting_needs_the_csrf_token(accepted: Invitation) -> None:
    client = signed_in(accepted.user, enforce_csrf_checks=True)
    assert client.post(vote_url(accepted), form_data(accepted)).status_code == 403
    assert nothing_stored()


def test_signed_out_visitors_are_sent_to_sign_in(invitation: Invitation) -> None:
    response = Client().get(reverse("ratings:invitations"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# The form


def test_the_form_shows_every_frozen_factor_with_its_description_and_the_score_legend(accepted: Invitation) -> None:
    # given the category's factors are edited after the campaign opened
    frozen = list(accepted.campaign.factors.all())
    accepted.campaign.category.factors.update(name_zh="改了", name_en="Changed")

    page = signed_in(accepted.user).get(vote_url(accepted)).content.decode()

    for factor in frozen:
        assert factor.name_zh in page
        assert factor.description_zh in page
        for value in range(1, 6):
            assert f'name="factor_{factor.pk}" value="{value}"' in page
    assert "Changed" not in page and "改了" not in page
    assert 'id="score-legend"' in page
    assert reverse("catalog:product_image", kwargs={"slug": accepted.campaign.product.slug}) in page


def test_showing_the_form_stores_nothing(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    assert client.get(vote_url(accepted)).status_code == 200
    assert client.get(reverse("ratings:invitation", kwargs={"pk": accepted.pk})).status_code == 200
    accepted.refresh_from_db()
    assert accepted.status == Invitation.Status.ACCEPTED
    assert nothing_stored()


# One vote


def test_a_first_vote_stores_one_vote_with_a_score_per_factor(accepted: Invitation) -> None:
    client = signed_in(accepted.user)

    response = client.post(vote_url(accepted), form_data(accepted, 5, comment="  Smells lovely.  "), follow=True)

    vote = Vote.objects.get()
    assert vote.user == accepted.user and vote.invitation == accepted and vote.product == accepted.campaign.product
    assert vote.comment == "Smells lovely."
    assert sorted(vote.scores.values_list("score", flat=True)) == [5] * accepted.campaign.factors.count()
    accepted.refresh_from_db()
    assert accepted.status == Invitation.Status.VOTED
    # the confirmation shows the recorded scores and the badge
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("ratings:invitation", kwargs={"pk": accepted.pk})
    assert page.count('data-score="5"') == accepted.campaign.factors.count()
    assert 'class="verified-badge"' in page
    assert "Smells lovely." in page


def test_seconds_to_fill_is_measured_from_when_the_form_was_shown(accepted: Invitation) -> None:
    shown = timezone.now() - timedelta(seconds=95)
    data = form_data(accepted, started=form_token(invitation_id=accepted.pk, amends_revision=None, now=shown))

    signed_in(accepted.user).post(vote_url(accepted), data)

    assert 95 <= Vote.objects.get().seconds_to_fill <= 100


def test_fingerprints_are_keyed_hashes_and_no_raw_ip_or_user_agent_is_stored(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted))
    client.post(vote_url(accepted), form_data(accepted, 2, revision=0))

    vote = Vote.objects.get()
    key = settings.SECRET_KEY.encode()
    assert vote.ip_hash == hmac.new(key, IP.encode(), hashlib.sha256).hexdigest()
    assert vote.user_agent_hash == hmac.new(key, UA.encode(), hashlib.sha256).hexdigest()
    assert vote.ip_hash != hashlib.sha256(IP.encode()).hexdigest(), "a bare hash of an IPv4 address is reversible"
    stored = [str(value) for value in Vote.objects.values().get().values()]
    stored += [str(value) for row in VoteRevision.objects.values() for value in row.values()]
    assert not any(IP in value or "TestBrowser" in value for value in stored)


def test_submitting_the_same_form_twice_stores_one_vote(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    data = form_data(accepted)

    first = client.post(vote_url(accepted), data)
    second = client.post(vote_url(accepted), data, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert first.status_code == 302
    assert second.status_code == 200
    assert "already rated" in second.content.decode()
    assert Vote.objects.count() == 1
    assert FactorScore.objects.count() == accepted.campaign.factors.count()
    assert not VoteRevision.objects.exists()


def test_a_racing_insert_is_reported_as_already_rated(accepted: Invitation) -> None:
    # given another request stored the vote after this one looked
    vote_for(accepted, score=3)
    Invitation.objects.filter(pk=accepted.pk).update(status=Invitation.Status.ACCEPTED)
    scores = {factor.pk: 5 for factor in accepted.campaign.factors.all()}

    outcome = services.vote_submit(invitation=accepted, user=accepted.user, scores=scores)

    assert outcome.status == services.VoteStatus.ALREADY_RATED
    assert Vote.objects.count() == 1
    assert set(FactorScore.objects.values_list("score", flat=True)) == {3}


def test_amending_keeps_the_previous_vote_as_a_revision(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted, 4, comment="First thoughts"))
    factors = list(accepted.campaign.factors.all())

    # the amend form is prefilled with the vote
    page = client.get(vote_url(accepted)).content.decode()
    assert re.search(rf'name="factor_{factors[0].pk}" value="4"[^>]*checked', page)
    assert "First thoughts" in page

    data = form_data(accepted, 2, revision=0, comment="After a month")
    data[f"factor_{factors[0].pk}"] = "5"
    response = client.post(vote_url(accepted), data, follow=True)

    vote = Vote.objects.get()
    assert vote.revision_count == 1
    assert vote.comment == "After a month"
    assert dict(vote.scores.values_list("factor_id", "score")) == {f.pk: 5 if f == factors[0] else 2 for f in factors}
    revision = VoteRevision.objects.get()
    assert revision.scores == {str(f.pk): 4 for f in factors}
    assert revision.comment == "First thoughts"
    assert "After a month" in response.content.decode()

    # a second amendment is kept too
    client.post(vote_url(accepted), form_data(accepted, 3, revision=1))
    assert Vote.objects.get().revision_count == VoteRevision.objects.count() == 2


def test_a_double_clicked_amendment_is_stored_once(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted, 4))
    amendment = form_data(accepted, 1, revision=0)

    client.post(vote_url(accepted), amendment)
    client.post(vote_url(accepted), amendment)

    assert Vote.objects.get().revision_count == 1
    assert VoteRevision.objects.count() == 1


# Bad input: a clear message, nothing stored, never a 500


@pytest.mark.parametrize("bad", ["0", "6", "-1", "abc", "٣", "3.0", " ", "", "99999999999999999999"])
def test_a_score_out_of_range_or_not_a_number_is_refused(accepted: Invitation, bad: str) -> None:
    data = form_data(accepted)
    first = accepted.campaign.factors.first()
    assert first is not None
    data[f"factor_{first.pk}"] = bad

    response = signed_in(accepted.user).post(vote_url(accepted), data)

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert nothing_stored()


def test_a_missing_factor_is_refused(accepted: Invitation) -> None:
    data = form_data(accepted)
    last = accepted.campaign.factors.last()
    assert last is not None
    del data[f"factor_{last.pk}"]

    response = signed_in(accepted.user).post(vote_url(accepted), data)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert nothing_stored()


def test_a_factor_of_another_campaign_is_refused(accepted: Invitation) -> None:
    other = CampaignFactory()
    foreign = other.factors.first()
    assert foreign is not None

    response = signed_in(accepted.user).post(vote_url(accepted), form_data(accepted, **{f"factor_{foreign.pk}": "5"}))

    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert nothing_stored()


def test_the_service_refuses_scores_that_do_not_match_the_campaign(accepted: Invitation) -> None:
    factors = [f.pk for f in accepted.campaign.factors.all()]
    foreign = CampaignFactory().factors.first()
    assert foreign is not None
    bad_inputs: list[dict[int, Any]] = [
        {pk: 4 for pk in factors[:-1]},
        {**{pk: 4 for pk in factors}, foreign.pk: 4},
        {**{pk: 4 for pk in factors[:-1]}, foreign.pk: 4},
        {**{pk: 4 for pk in factors}, factors[0]: 6},
        {**{pk: 4 for pk in factors}, factors[0]: 0},
        {**{pk: 4 for pk in factors}, factors[0]: True},
        {**{pk: 4 for pk in factors}, factors[0]: "4"},
    ]
    for scores in bad_inputs:
        with pytest.raises(services.RatingError):
            services.vote_submit(invitation=accepted, user=accepted.user, scores=scores)
    assert nothing_stored()


@pytest.mark.parametrize("token", ["", "garbage", "eyJpIjoxfQ:1abc:def"])
def test_a_missing_or_tampered_form_token_is_refused(accepted: Invitation, token: str) -> None:
    response = signed_in(accepted.user).post(vote_url(accepted), form_data(accepted, started=token))
    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert nothing_stored()


def test_a_form_token_of_another_invitation_is_refused(accepted: Invitation) -> None:
    other = accepted_invitation(user=accepted.user)
    data = form_data(accepted, started=form_token(invitation_id=other.pk, amends_revision=None))
    response = signed_in(accepted.user).post(vote_url(accepted), data)
    assert response.status_code == 200
    assert nothing_stored()


def test_a_tampered_invitation_id_in_the_url_is_not_found(accepted: Invitation) -> None:
    response = signed_in(accepted.user).post(
        reverse("ratings:vote", kwargs={"pk": accepted.pk + 1000}), form_data(accepted)
    )
    assert response.status_code == 404
    assert nothing_stored()


def test_a_comment_over_1000_characters_is_refused(accepted: Invitation) -> None:
    response = signed_in(accepted.user).post(vote_url(accepted), form_data(accepted, comment="好" * 1001))
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.CLOSED},
        {"status": Campaign.Status.CANCELLED},
        {"closes_at": timezone.now() - timedelta(minutes=1), "opens_at": timezone.now() - timedelta(days=30)},
    ],
)
def test_a_closed_campaign_refuses_votes_with_a_message(accepted: Invitation, change: dict[str, Any]) -> None:
    Campaign.objects.filter(pk=accepted.campaign_id).update(**change)

    response = signed_in(accepted.user).post(vote_url(accepted), form_data(accepted), follow=True)

    assert response.status_code == 200
    assert "closed" in response.content.decode()
    assert nothing_stored()


def test_a_closed_campaign_refuses_amendments(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted, 4))
    Campaign.objects.filter(pk=accepted.campaign_id).update(status=Campaign.Status.CLOSED)

    client.post(vote_url(accepted), form_data(accepted, 1, revision=0))

    assert not VoteRevision.objects.exists()
    assert set(FactorScore.objects.values_list("score", flat=True)) == {4}


def test_an_expired_invitation_cannot_be_used_to_vote() -> None:
    past = timezone.now() - timedelta(days=20)
    expired = InvitationFactory(created_at=past, expires_at=past + timedelta(days=14))

    response = signed_in(expired.user).post(vote_url(expired), form_data(expired), follow=True)

    assert response.status_code == 200
    assert "expired" in response.content.decode()
    assert nothing_stored()


def test_a_pending_invitation_must_be_accepted_before_voting(invitation: Invitation) -> None:
    response = signed_in(invitation.user).post(
        vote_url(invitation), form_data(invitation), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Accept the invitation before rating." in response.content.decode()
    assert nothing_stored()


def test_the_comment_is_shown_as_text_not_markup(accepted: Invitation) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted, comment='<script>alert("x")</script>'))

    page = client.get(reverse("ratings:invitation", kwargs={"pk": accepted.pk})).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    amend = client.get(vote_url(accepted)).content.decode()
    assert "<script>alert" not in amend


def test_opening_an_invitation_marks_its_inbox_message_read(invitation: Invitation) -> None:
    message = Notification.objects.create(
        user=invitation.user, kind=Notification.Kind.INVITATION, subject_id=invitation.pk, url="/"
    )
    other = Notification.objects.create(user=invitation.user, kind=Notification.Kind.INVITATION, subject_id=0, url="/")

    signed_in(invitation.user).get(reverse("ratings:invitation", kwargs={"pk": invitation.pk}))

    message.refresh_from_db()
    other.refresh_from_db()
    assert message.read_at is not None
    assert other.read_at is None


# My invitations


def test_my_invitations_lists_each_invitation_in_its_section() -> None:
    user = UserFactory()
    pending = InvitationFactory(user=user)
    accepted = accepted_invitation(user=user)
    voted = accepted_invitation(user=user)
    vote_for(voted)
    declined = InvitationFactory(user=user, status=Invitation.Status.DECLINED)
    past = timezone.now() - timedelta(days=20)
    expired = InvitationFactory(user=user, created_at=past, expires_at=past + timedelta(days=14))
    InvitationFactory()  # someone else's

    page = signed_in(user).get(reverse("ratings:invitations")).content.decode()

    sections = {
        name: page.split(f'id="{name}"')[1].split("</section>")[0]
        for name in ("pending", "accepted", "voted", "closed")
    }
    assert pending.campaign.product.name_zh in sections["pending"]
    assert accepted.campaign.product.name_zh in sections["accepted"]
    assert voted.campaign.product.name_zh in sections["voted"]
    assert declined.campaign.product.name_zh in sections["closed"]
    assert expired.campaign.product.name_zh in sections["closed"]
    assert page.count('class="invite-row"') == 5


def test_my_invitations_runs_the_same_queries_for_few_or_many(django_assert_max_num_queries: Any) -> None:
    user = UserFactory()
    InvitationFactory(user=user)
    client = signed_in(user)
    with django_assert_max_num_queries(6) as few:
        client.get(reverse("ratings:invitations"))
    for _ in range(12):
        InvitationFactory(user=user)
    vote_for(accepted_invitation(user=user))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("ratings:invitations"))
    assert response.content.decode().count('class="invite-row"') == 14


def test_the_profile_runs_the_same_queries_for_few_or_many(django_assert_max_num_queries: Any) -> None:
    user = UserFactory()
    accepted_invitation(user=user)
    client = signed_in(user)
    with django_assert_max_num_queries(6) as few:
        client.get(reverse("accounts:profile"))
    for _ in range(8):
        accepted_invitation(user=user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("accounts:profile"))
    assert response.content.decode().count('class="verified-badge"') == 9


def test_the_profile_lists_accepted_and_voted_purchases_newest_first_in_the_readers_language() -> None:
    user = UserFactory()
    now = timezone.now()
    older = accepted_invitation(user=user, responded_at=now - timedelta(days=2))
    newer = accepted_invitation(user=user, responded_at=now - timedelta(days=1))
    vote_for(newer)
    pending = InvitationFactory(user=user)
    someone_elses = accepted_invitation()

    page = signed_in(user, HTTP_ACCEPT_LANGUAGE="en").get(reverse("accounts:profile")).content.decode()

    rows = page.split('class="invite-row"')[1:]
    assert len(rows) == 2
    for row, invitation, action in ((rows[0], newer, "View my vote"), (rows[1], older, "Rate now")):
        product = invitation.campaign.product
        assert f'href="{product.get_absolute_url()}"' in row
        assert f">{product.name_en}</a>" in row
        assert f">{product.brand.name_en}</span>" in row
        assert f'href="{reverse("ratings:invitation", kwargs={"pk": invitation.pk})}">{action}</a>' in row
    assert pending.campaign.product.name_en not in page
    assert someone_elses.campaign.product.name_en not in page


def test_the_invitation_page_runs_a_fixed_number_of_queries(
    accepted: Invitation, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(accepted.user)
    client.post(vote_url(accepted), form_data(accepted))
    with django_assert_max_num_queries(10):
        client.get(reverse("ratings:invitation", kwargs={"pk": accepted.pk}))
