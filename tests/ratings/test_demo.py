"""The demo data gives the purchaser's journey something to show."""

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from accounts.models import Notification, User
from catalog.models import Product
from ratings import demo
from ratings.models import Campaign, Invitation, ProductResult, Vote

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_seed_leaves_the_buyer_pending_invitations_and_votes_with_every_factor_scored() -> None:
    call_command("seed", "--scale", "demo", "--as-of", "2026-11-01", verbosity=0)

    buyer_invitations = Invitation.objects.filter(user__email="buyer@demo.xhs")
    assert buyer_invitations.filter(status=Invitation.Status.PENDING).count() >= 1
    assert buyer_invitations.filter(status=Invitation.Status.VOTED).count() >= 1
    assert Notification.objects.filter(user__email="buyer@demo.xhs", read_at__isnull=True).exists()

    assert Campaign.objects.filter(status=Campaign.Status.OPEN).count() >= 50
    votes = Vote.objects.annotate(
        scored=Count("scores", distinct=True), frozen=Count("campaign__factors", distinct=True)
    )
    assert votes.count() >= 500
    assert all(vote.scored == vote.frozen for vote in votes[:200])
    # Comments agree with their own scores: they name one of the vote's factors (the moderation demo rewrites a
    # few into adverts and paid templates), and several wordings and both languages show.
    commented = list(Vote.objects.exclude(comment="").prefetch_related("campaign__factors")[:300])
    naming = [
        v
        for v in commented
        if any(f.name_zh in v.comment or f.name_en.lower() in v.comment.lower() for f in v.campaign.factors.all())
    ]
    assert len(naming) >= 0.9 * len(commented)
    assert len({vote.comment for vote in commented}) >= 50
    # Every vote came from an invitation its voter accepted.
    assert not Vote.objects.exclude(invitation__status=Invitation.Status.VOTED).exists()
    # The demo shows published scores, products still gathering votes, and a list.
    results = ProductResult.objects.filter(is_latest=True)
    assert results.filter(published=True).count() >= 20
    assert results.filter(published=False).count() >= 20
    assert Product.objects.filter(heart_rank__isnull=False).count() >= 10


def test_demo_seed_shows_a_score_carried_over_from_a_closed_campaign_and_a_reinvitation() -> None:
    call_command("seed", "--scale", "demo", "--as-of", "2026-11-01", verbosity=0)

    closed = Campaign.objects.get(status__in=[Campaign.Status.CLOSED, Campaign.Status.SCORED])
    latest = ProductResult.objects.get(product_id=closed.product_id, is_latest=True)
    assert latest.campaign_id != closed.pk, "shown on the product's new campaign"
    assert latest.published and latest.counted >= 10, "with the closed campaign's votes"
    assert latest.counted == Vote.objects.filter(product_id=closed.product_id, verdict="counted").count()
    reinvited = Invitation.objects.get(
        user__email="buyer@demo.xhs", campaign__product_id=closed.product_id, status=Invitation.Status.PENDING
    )
    assert Vote.objects.filter(user=reinvited.user, product_id=closed.product_id).count() == 1
    assert not Vote.objects.filter(created_at__gt=timezone.now()).exists(), "no vote comes from the future"


def test_demo_seed_gives_the_demo_manager_a_queue_with_reports_and_audits() -> None:
    from moderation.models import Case, Question
    from moderation.selectors import queue
    from moderation.services import current_term

    call_command("seed", "--scale", "demo", "--as-of", "2026-11-01", verbosity=0)

    demo_manager = User.objects.get(email="manager@demo.xhs")
    cases = queue(manager=demo_manager)
    assert current_term(user=demo_manager) is not None
    assert len(cases) >= 8
    assert any(case.reports_count >= 2 for case in cases) and any(case.vote_id for case in cases)
    assert any(case.is_audit for case in cases)
    assert Case.objects.filter(is_audit=True, status=Case.Status.OPEN).count() == 3
    assert Case.objects.filter(source=Case.Source.SCREENING).exists()  # the fraud ring and templates
    # managers' decisions; screening's exclusions are decisions too, each told to its author
    assert Case.objects.filter(status=Case.Status.DECIDED, decided_by=Case.DecidedBy.MANAGERS).count() == 2
    assert (
        Case.objects.filter(decided_by=Case.DecidedBy.SCREENING).count()
        == Vote.objects.filter(exclusion_reason="screening").count()
    )
    assert Question.objects.filter(active=True).count() >= 15


@pytest.mark.parametrize(("score", "stance"), [(5, "positive"), (3, "mixed"), (1, "critical")])
def test_a_demo_comment_takes_its_stance_from_the_votes_own_scores(score: int, stance: str) -> None:
    names = {1: {"zh": "清洁力", "en": "cleaning"}, 2: {"zh": "香味", "en": "aroma"}}
    rng = np.random.default_rng(7)

    comments = [demo.review_comment(scores={1: score, 2: score}, names=names, rng=rng) for _ in range(200)]

    # then about a quarter say nothing, and every other one is a sentence of the vote's stance
    written = [comment for comment in comments if comment]
    assert 0.6 * len(comments) <= len(written) < len(comments)
    of_the_stance = {
        template.format(best=names[best][language], worst=names[worst][language])
        for language, stances in demo._COMMENTS.items()
        for template in stances[stance]
        for best, worst in ((1, 2), (2, 1))
    }
    assert set(written) <= of_the_stance
    assert any("香味" in comment or "清洁力" in comment for comment in written)
    assert any("aroma" in comment or "cleaning" in comment for comment in written)


def test_a_demo_comment_avoids_what_the_products_other_reviews_say_already() -> None:
    names = {1: {"zh": "清洁力", "en": "cleaning"}, 2: {"zh": "香味", "en": "aroma"}}
    rng = np.random.default_rng(11)
    wordings = {
        template.format(best=names[1][language], worst=names[2][language])
        for language, stances in demo._COMMENTS.items()
        for template in stances["positive"]
    }
    # given a product whose reviews say every positive wording but one, in Chinese
    left = min(wording for wording in wordings if not wording.isascii())
    taken = wordings - {left}

    # when more positive reviews are written for it
    comments = {demo.review_comment(scores={1: 5, 2: 4}, names=names, rng=rng, taken=taken) for _ in range(60)}

    # then the Chinese ones all take the wording left (the English ones, all taken, may repeat)
    assert {comment for comment in comments if comment and not comment.isascii()} == {left}
