"""The eligibility job against real services: two runs at once, and a real Celery worker on Redis."""

import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.db.models import Count

from accounts.models import Notification
from ratings.models import Campaign, EligibilityRun, Invitation
from ratings.tasks import run_eligibility
from tests.ratings.eligibility_factories import active_buyer, category_with_products, purchase, set_policy

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
