"""The eligibility job against real services: two runs at once, and a real Celery worker on Redis."""

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Notification
from catalog.models import OrderLine
from ratings import eligibility
from ratings.models import Campaign, EligibilityRun, Invitation
from ratings.tasks import run_eligibility
from tests.ratings.eligibility_factories import (
    CampaignFactory,
    active_buyer,
    category_with_products,
    purchase,
    set_policy,
)

CAP = 3


def _buyers_of_every_product(categories: int = 2, products: int = 3, buyers: int = 12) -> None:
    """Each buyer bought every product: 6 campaigns would invite each of them 6 times without the cap."""
    set_policy(max_open_invitations=CAP, products_per_category=products)
    all_products = [p for _ in range(categories) for p in category_with_products(products)[1]]
    for _ in range(buyers):
        user = active_buyer()
        for product in all_products:
            purchase(user, product)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_create_every_campaign_and_invitation_exactly_once() -> None:
    # given
    _buyers_of_every_product()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            run_eligibility.apply(("race",), throw=True)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert errors == []
    assert Campaign.objects.count() == 6
    per_user = Invitation.objects.values("user").annotate(n=Count("id"))
    assert {row["n"] for row in per_user} == {CAP}
    assert Invitation.objects.count() == 12 * CAP
    assert Notification.objects.count() == Invitation.objects.count()
    assert len(mail.outbox) == Invitation.objects.count()
    assert sorted(EligibilityRun.objects.values_list("status", flat=True)) == ["finished", "finished"]
    assert sum(EligibilityRun.objects.values_list("invitations_created", flat=True)) == 12 * CAP


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_runs_the_job_through_redis(celery_worker: Any) -> None:
    _buyers_of_every_product(buyers=4)

    run_eligibility.delay("worker")

    deadline = time.monotonic() + 60
    run = None
    while time.monotonic() < deadline:
        run = EligibilityRun.objects.filter(status="finished").first()
        if run and Notification.objects.count() == 4 * CAP:
            break
        time.sleep(0.2)
    assert run is not None, "the run did not finish"
    assert (run.campaigns_opened, run.invitations_created) == (6, 4 * CAP)
    assert run.categories.filter(finished_at__isnull=False, error="").count() == 2
    assert Notification.objects.count() == 4 * CAP


def _invitation_insert_unchecked(*, campaign_id: int, user_id: int, purchase_id: int, run_id: int | None) -> None:
    """An invitation row as the job writes it: in replica mode, no per-row foreign-key check."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO ratings_invitation (campaign_id, user_id, purchase_id, status, expires_at, run_id,"
            " created_at, updated_at) VALUES (%s, %s, %s, 'pending', %s, %s, %s, %s)",
            [campaign_id, user_id, purchase_id, now + timedelta(days=14), run_id, now, now],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_run_whose_new_invitations_reference_a_missing_purchase_fails_and_keeps_none() -> None:
    # given: a run up to its invitation step, and one of its invitations pointing at no order line
    set_policy()
    _category, [product] = category_with_products()
    buyer = active_buyer()
    purchase(buyer, product)
    plan = eligibility.run_start(triggered_by="test")
    for category_id, selected in plan.selections.items():
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
    campaign = Campaign.objects.get(product=product)
    stranger = active_buyer()
    _invitation_insert_unchecked(campaign_id=campaign.pk, user_id=stranger.pk, purchase_id=10**12, run_id=plan.run.pk)

    # when
    outcome = eligibility.run_invite(run_id=plan.run.pk)

    # then: the one-for-all check caught it, as the per-row checks did
    plan.run.refresh_from_db()
    assert outcome is None
    assert plan.run.status == EligibilityRun.Status.FAILED
    assert "catalog_orderline.id = 1000000000000" in plan.run.categories.get().error
    assert not Invitation.objects.filter(user=buyer).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_purchase_deleted_while_invitations_are_inserted_waits_for_them_and_is_refused() -> None:
    # given: the job inserting an invitation for a purchase, its checks skipped, not yet committed
    set_policy()
    _category, [product] = category_with_products()
    buyer = active_buyer()
    line = purchase(buyer, product)
    campaign = CampaignFactory(product=product)
    inserted, deleting = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def job() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [eligibility._INVITATION_LOCK_KEY])
                _invitation_insert_unchecked(
                    campaign_id=campaign.pk, user_id=buyer.pk, purchase_id=line.pk, run_id=None
                )
                inserted.set()
                deleting.wait(timeout=10)
                time.sleep(0.5)  # the delete below is waiting meanwhile
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=job)
    thread.start()
    assert inserted.wait(timeout=10)

    # when: staff delete the purchase meanwhile
    started = time.monotonic()
    deleting.set()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).delete()
    waited = time.monotonic() - started
    thread.join(timeout=20)

    # then: the delete waited for the invitation and was refused; the invitation's purchase exists
    assert errors == []
    assert waited >= 0.4
    assert Invitation.objects.get().purchase_id == line.pk
    assert OrderLine.objects.filter(pk=line.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_insert_trigger_of_invitations_is_skipped_with_the_per_row_checks() -> None:
    """The job inserts invitations in replica mode (``eligibility._row_checks_skipped``), which skips every
    trigger not ``ENABLE ALWAYS``: besides the foreign keys' own, an INSERT trigger must be ``ALWAYS``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ratings_invitation'::regclass AND NOT tgisinternal"
            " AND tgtype & 4 <> 0 AND tgenabled <> 'A'"
        )
        skipped = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ratings_invitation'::regclass AND tgisinternal"
            " AND tgtype & 4 <> 0"
        )
        (foreign_key_checks,) = cursor.fetchone()

    assert skipped == []
    assert foreign_key_checks == len(eligibility.INVITATION_REFERENCES)  # what the job checks once instead


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_role_without_the_privilege_invites_the_same_people_with_per_row_checks() -> None:
    """Production's role may not set ``session_replication_role``: the job then runs the per-row checks."""
    set_policy()
    _category, [product] = category_with_products()
    buyers = [active_buyer() for _ in range(3)]
    for buyer in buyers:
        purchase(buyer, product)
    role = "lrh_test_no_replica"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:
        with connection.cursor() as cursor:
            assert not eligibility._row_checks_skipped(cursor)

        run_eligibility.apply(("no privilege",), throw=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")

    run = EligibilityRun.objects.get()
    assert run.status == EligibilityRun.Status.FINISHED
    assert set(Invitation.objects.values_list("user_id", flat=True)) == {buyer.pk for buyer in buyers}
