"""The eligibility job: selection, campaigns with frozen factors, invitations, notifications, runs."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from catalog.models import Category, Engagement, Factor, OrderLine
from ratings import eligibility
from ratings.models import Campaign, CampaignFactor, EligibilityRun, EligibilityRunCategory, Invitation
from ratings.tasks import run_eligibility, send_invitation_emails
from tests.factories import EngagementFactory, NoteFactory, ProductFactory, UserFactory
from tests.ratings.eligibility_factories import (
    CampaignFactory,
    InvitationFactory,
    active_buyer,
    category_with_products,
    purchase,
    set_policy,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_job(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the whole job inline, as eager Celery does, including what it enqueues after commit."""

    def run() -> EligibilityRun:
        with django_capture_on_commit_callbacks(execute=True):
            run_id = run_eligibility.delay("test").get()
        return EligibilityRun.objects.get(pk=run_id)

    return run


def invited_user_ids(product: Any) -> set[int]:
    return set(Invitation.objects.filter(campaign__product=product).values_list("user_id", flat=True))


# --- Who is invited ---------------------------------------------------------------------------------


def test_a_buyer_who_purchased_364_days_ago_is_invited_and_366_days_ago_is_not(run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    recent, old = active_buyer(), active_buyer()
    purchase(recent, product, days_ago=364)
    purchase(old, product, days_ago=366)

    run_job()

    assert invited_user_ids(product) == {recent.pk}


def test_refunded_and_cancelled_purchases_earn_no_invitation(run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    genuine, refunded, cancelled = active_buyer(), active_buyer(), active_buyer()
    purchase(genuine, product)
    purchase(refunded, product, status=OrderLine.Status.REFUNDED, status_changed_at=timezone.now())
    purchase(cancelled, product, status=OrderLine.Status.CANCELLED, status_changed_at=timezone.now())

    run_job()

    assert invited_user_ids(product) == {genuine.pk}


def test_several_purchases_make_one_invitation_that_remembers_the_latest_recorded(run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    user = active_buyer()
    purchase(user, product, days_ago=200)
    latest = purchase(user, product, days_ago=20)

    run_job()

    invitation = Invitation.objects.get(user=user)
    assert invitation.purchase_id == latest.pk
    assert invitation.status == Invitation.Status.PENDING


def test_buyers_are_invited_only_after_the_use_period_so_they_have_tried_the_product(run_job: Any) -> None:
    set_policy(use_days=14)
    _category, [product] = category_with_products()
    just_bought, tried = active_buyer(), active_buyer()
    purchase(just_bought, product, days_ago=3)
    purchase(tried, product, days_ago=15)

    run_job()

    assert set(Invitation.objects.values_list("user_id", flat=True)) == {tried.pk}


def test_only_experienced_accounts_are_invited(run_job: Any) -> None:
    set_policy(min_account_days=30)
    _category, [product] = category_with_products()
    newcomer = active_buyer(date_joined=timezone.now() - timedelta(days=12))
    regular = active_buyer(date_joined=timezone.now() - timedelta(days=31))
    purchase(newcomer, product, days_ago=20)
    purchase(regular, product, days_ago=20)

    run_job()

    assert set(Invitation.objects.values_list("user_id", flat=True)) == {regular.pk}


def test_inactive_banned_and_long_unseen_users_are_left_out(run_job: Any) -> None:
    set_policy(active_days=90)
    _category, [product] = category_with_products()
    active = active_buyer()
    deactivated = active_buyer(is_active=False)
    banned = active_buyer(is_banned=True)
    unseen = active_buyer(last_seen_at=timezone.now() - timedelta(days=91))
    never_seen = active_buyer(last_seen_at=None)
    for user in (active, deactivated, banned, unseen, never_seen):
        purchase(user, product)

    run_job()

    assert invited_user_ids(product) == {active.pk}


def test_a_user_at_the_cap_of_open_invitations_is_left_out(run_job: Any) -> None:
    set_policy(max_open_invitations=2)
    _category, [product] = category_with_products()
    busy, free = active_buyer(), active_buyer()
    InvitationFactory.create_batch(2, user=busy)
    # Expired or answered invitations do not count toward the cap.
    InvitationFactory(
        user=free, created_at=timezone.now() - timedelta(days=20), expires_at=timezone.now() - timedelta(days=1)
    )
    InvitationFactory(user=free, status=Invitation.Status.VOTED)
    purchase(busy, product)
    purchase(free, product)

    run_job()

    assert invited_user_ids(product) == {free.pk}


def test_the_cap_holds_within_one_run_keeping_the_oldest_campaigns(run_job: Any) -> None:
    set_policy(max_open_invitations=2, products_per_category=5)
    _category, products = category_with_products(3)
    user = active_buyer()
    InvitationFactory(user=user)  # one open already: room for one more
    for product in products:
        purchase(user, product)

    run_job()

    new = Invitation.objects.filter(user=user, campaign__product__in=products)
    assert new.count() == 1
    assert new.get().campaign_id == min(Campaign.objects.filter(product__in=products).values_list("pk", flat=True))


def test_invitations_expire_after_the_policy_lifetime(run_job: Any) -> None:
    set_policy(invitation_days=14)
    _category, [product] = category_with_products()
    purchase(active_buyer(), product)

    run_job()

    invitation = Invitation.objects.get()
    assert not invitation.is_expired()
    assert invitation.is_expired(now=invitation.created_at + timedelta(days=14, seconds=1))


# --- Which products open ---------------------------------------------------------------------------


def test_the_top_products_by_popularity_and_sales_open_with_their_figures(run_job: Any) -> None:
    set_policy(products_per_category=2, popularity_weight="0.5", min_units_sold=2)
    category, (popular, best_seller, ordinary, too_few_sales) = category_with_products(4)
    buyers = [active_buyer() for _ in range(5)]
    for buyer in buyers[:4]:
        purchase(buyer, best_seller)
    for buyer in buyers[:2]:
        purchase(buyer, popular)
        purchase(buyer, ordinary)
    purchase(buyers[4], too_few_sales)
    note = NoteFactory(mentions=[popular])
    EngagementFactory.create_batch(3, note=note)
    EngagementFactory(note=note, kind=Engagement.Kind.SAVE)
    old = EngagementFactory(note=NoteFactory(mentions=[ordinary]))
    Engagement.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=200))
    ProductFactory(category=category, is_active=False)

    run = run_job()

    opened = {c.product_id: c for c in Campaign.objects.all()}
    assert set(opened) == {popular.pk, best_seller.pk}
    assert (opened[popular.pk].engagement_count, opened[popular.pk].units_sold) == (4, 2)
    assert (opened[best_seller.pk].engagement_count, opened[best_seller.pk].units_sold) == (0, 4)
    assert {c.selection_rank for c in opened.values()} == {1, 2}
    row = run.categories.get()
    assert (row.products_considered, row.campaigns_opened) == (3, 2)


def test_a_campaign_freezes_the_factors_and_staff_edits_do_not_change_it(run_job: Any) -> None:
    set_policy()
    category, [product] = category_with_products(factors=6)
    purchase(active_buyer(), product)
    Factor.objects.filter(pk=Factor.objects.filter(category=category).order_by("pk").last().pk).update(active=False)  # type: ignore[union-attr]

    run_job()
    campaign = Campaign.objects.get()
    frozen = list(campaign.factors.values_list("name_en", "weight", "position"))
    Factor.objects.filter(category=category).update(name_en="Renamed", weight=3)

    campaign.refresh_from_db()
    assert list(campaign.factors.values_list("name_en", "weight", "position")) == frozen
    assert len(frozen) == 5
    assert "Renamed" not in {name for name, _w, _p in frozen}
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.closes_at - campaign.opens_at == timedelta(days=30)


def test_a_product_with_an_open_campaign_keeps_it_and_its_slot(run_job: Any) -> None:
    set_policy(products_per_category=1, min_units_sold=1)
    _category, (first, second) = category_with_products(2)
    for _ in range(3):
        purchase(active_buyer(), first)
    purchase(active_buyer(), second)
    existing = CampaignFactory(product=first)

    run_job()

    assert list(Campaign.objects.values_list("pk", flat=True)) == [existing.pk]
    assert Invitation.objects.filter(campaign=existing).count() == 3


def test_campaigns_past_their_closing_time_are_closed(run_job: Any) -> None:
    set_policy()
    ended = CampaignFactory(opens_at=timezone.now() - timedelta(days=31), closes_at=timezone.now() - timedelta(days=1))
    running = CampaignFactory()

    run_job()

    ended.refresh_from_db()
    running.refresh_from_db()
    assert (ended.status, running.status) == (Campaign.Status.CLOSED, Campaign.Status.OPEN)


# --- Idempotency, telling the invited ---------------------------------------------------------------


def test_the_invited_get_an_inbox_notification_and_one_bilingual_email(run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    user = active_buyer()
    purchase(user, product)

    run_job()

    invitation = Invitation.objects.get()
    notification = Notification.objects.get()
    assert (notification.user_id, notification.kind, notification.subject_id) == (
        user.pk,
        Notification.Kind.INVITATION,
        invitation.pk,
    )
    assert notification.url == reverse("ratings:invitation", kwargs={"pk": invitation.pk})
    assert notification.context == {"product_zh": product.name_zh, "product_en": product.name_en}
    [email] = mail.outbox
    assert email.to == [user.email]
    assert product.name_zh in email.subject and product.name_en in email.subject
    assert f"/invitations/{invitation.pk}/" in email.body
    assert "邀请" in email.body or "评分" in email.body
    assert "invited to rate" in email.body


def test_a_second_run_the_same_day_changes_nothing_and_tells_nobody_twice(run_job: Any) -> None:
    set_policy()
    _category, products = category_with_products(2)
    for product in products:
        purchase(active_buyer(), product)
    first = run_job()
    before = (Campaign.objects.count(), Invitation.objects.count(), Notification.objects.count(), len(mail.outbox))

    second = run_job()

    assert before == (2, 2, 2, 2)
    assert (
        Campaign.objects.count(),
        Invitation.objects.count(),
        Notification.objects.count(),
        len(mail.outbox),
    ) == before
    assert (first.status, first.campaigns_opened, first.invitations_created) == (EligibilityRun.Status.FINISHED, 2, 2)
    assert (second.status, second.campaigns_opened, second.invitations_created) == (
        EligibilityRun.Status.FINISHED,
        0,
        0,
    )


def test_an_email_chunk_delivered_twice_emails_each_buyer_once(run_job: Any) -> None:
    set_policy()
    _category, products = category_with_products(2)
    for product in products:
        purchase(active_buyer(), product)
    run_job()
    notification_ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    assert len(mail.outbox) == 2

    # the broker hands the same chunk over again, e.g. after a worker was lost
    sent_again = send_invitation_emails.apply(args=(notification_ids,)).get()

    assert sent_again == 0
    assert len(mail.outbox) == 2
    assert not Notification.objects.filter(emailed_at=None).exists()


def test_a_new_buyer_of_a_running_campaign_is_invited_by_the_next_run(run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    purchase(active_buyer(), product)
    run_job()
    newcomer = active_buyer()
    purchase(newcomer, product)

    run_job()

    assert Campaign.objects.count() == 1
    assert newcomer.pk in invited_user_ids(product)
    assert len(mail.outbox) == 2


def test_a_category_that_fails_is_recorded_and_the_others_finish(run_job: Any, monkeypatch: Any) -> None:
    set_policy()
    broken, [broken_product] = category_with_products()
    _fine, [fine_product] = category_with_products()
    purchase(active_buyer(), broken_product)
    purchase(active_buyer(), fine_product)
    real = eligibility.campaigns_open

    def failing(*, category_id: int, **kwargs: Any) -> Any:
        if category_id == broken.pk:
            raise RuntimeError("disk on fire")
        return real(category_id=category_id, **kwargs)

    monkeypatch.setattr(eligibility, "campaigns_open", failing)

    run = run_job()

    assert run.status == EligibilityRun.Status.FAILED
    rows = {row.category_id: row for row in run.categories.all()}
    assert "disk on fire" in rows[broken.pk].error
    assert rows[broken.pk].finished_at is not None
    assert not Campaign.objects.filter(product=broken_product).exists()
    assert (rows[fine_product.category_id].error, rows[fine_product.category_id].invitations_created) == ("", 1)
    assert (run.campaigns_opened, run.invitations_created) == (1, 1)
    assert invited_user_ids(fine_product)


def test_a_failure_while_inviting_is_recorded_and_nothing_half_done_stays(run_job: Any, monkeypatch: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    purchase(active_buyer(), product)

    def failing(**kwargs: Any) -> Any:
        raise RuntimeError("lost the database")

    monkeypatch.setattr(eligibility, "invitations_create", failing)

    run = run_job()

    assert run.status == EligibilityRun.Status.FAILED
    assert "lost the database" in run.categories.get().error
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_a_repeated_category_task_does_nothing(run_job: Any) -> None:
    set_policy()
    category, [product] = category_with_products()
    purchase(active_buyer(), product)
    run = run_job()

    assert eligibility.run_category(run_id=run.pk, category_id=category.pk, selected=[]) is None
    assert eligibility.run_invite(run_id=run.pk) is None
    assert Invitation.objects.count() == 1


def test_a_run_without_rating_ready_categories_finishes_at_once(run_job: Any) -> None:
    run = run_job()

    assert run.status == EligibilityRun.Status.FINISHED
    assert not EligibilityRunCategory.objects.exists()


def test_the_job_runs_the_same_number_of_queries_for_5_or_50_buyers(
    django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    set_policy(max_open_invitations=100)

    def queries_for(buyers: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        category, [product] = category_with_products()
        for _ in range(buyers):
            purchase(active_buyer(), product)
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            run_eligibility.delay("test").get()
        assert Invitation.objects.filter(campaign__product=product).count() == buyers
        Category.objects.filter(pk=category.pk).update(rating_ready=False)
        return len(captured)

    assert queries_for(5) == queries_for(50)


# --- Admin ------------------------------------------------------------------------------------------


def test_staff_run_the_job_from_the_admin_button(staff: Any, django_capture_on_commit_callbacks: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    purchase(active_buyer(), product)
    client = Client(enforce_csrf_checks=False)
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:ratings_eligibilityrun_run_now"), follow=True)

    assert response.status_code == 200
    assert "enqueued" in response.content.decode() or "已加入" in response.content.decode()
    run = EligibilityRun.objects.get()
    assert run.triggered_by == f"staff:{staff.email}"[:60]
    assert run.status == EligibilityRun.Status.FINISHED
    assert Invitation.objects.count() == 1


def test_people_who_are_not_staff_cannot_press_the_button(shopper: Any) -> None:
    client = Client()
    client.force_login(shopper)

    response = client.post(reverse("admin:ratings_eligibilityrun_run_now"))

    assert response.status_code == 302
    assert not EligibilityRun.objects.exists()


def test_admin_pages_of_the_job_render(staff: Any, run_job: Any) -> None:
    set_policy()
    _category, [product] = category_with_products()
    purchase(active_buyer(), product)
    run = run_job()
    campaign = Campaign.objects.get()
    invitation = Invitation.objects.get()
    client = Client()
    client.force_login(staff)

    pages = [
        reverse("admin:ratings_eligibilityrun_changelist"),
        reverse("admin:ratings_eligibilityrun_change", args=[run.pk]),
        reverse("admin:ratings_campaign_changelist"),
        reverse("admin:ratings_campaign_change", args=[campaign.pk]),
        reverse("admin:ratings_invitation_changelist"),
        reverse("admin:ratings_invitation_change", args=[invitation.pk]),
        reverse("admin:ratings_ratingpolicy_changelist"),
        reverse("admin:ratings_vote_changelist"),
        reverse("admin:ratings_factorscore_changelist"),
        reverse("admin:ratings_voterevision_changelist"),
    ]
    for url in pages:
        assert client.get(url, follow=True).status_code == 200, url
    assert CampaignFactor.objects.filter(campaign=campaign).count() == 5
    assert UserFactory._meta.model.objects.filter(is_staff=True).count() == 1
