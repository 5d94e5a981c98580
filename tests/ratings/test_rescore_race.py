"""The debounced re-score never overtakes a vote that is still being saved (PostgreSQL, real transactions)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from ratings import scoring
from ratings.models import ProductResult, RatingPolicy
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_on_a_lock(seconds: float) -> bool:
    """Whether another backend of this database waits on a lock, within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            (waiting,) = cursor.fetchone() or (0,)
        if waiting:
            return True
        time.sleep(0.05)
    return False


def test_a_rescore_that_starts_while_a_vote_is_being_saved_counts_that_vote() -> None:
    # given a product with 3 votes whose re-score is already requested (the debounce flag is set)
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 1, "prior_strength": 0})
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes_cast(campaign, [[4] * 5] * 3)
    assert scoring.rescore_request(campaign_id=campaign.pk)
    saved, release, errors = threading.Event(), threading.Event(), []

    def cast_a_vote() -> None:
        try:
            with transaction.atomic():
                votes_cast(campaign, [[4] * 5])
                # the flag is already set: this request rides on the queued re-score
                assert not scoring.rescore_request(campaign_id=campaign.pk)
                saved.set()
                release.wait(timeout=30)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def rescore() -> None:
        try:
            scoring.campaign_rescore(campaign_id=campaign.pk)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    voter = threading.Thread(target=cast_a_vote)
    voter.start()
    assert saved.wait(timeout=30)

    # when the queued re-score runs before the vote's transaction commits
    scorer = threading.Thread(target=rescore)
    scorer.start()
    blocked = _waiting_on_a_lock(seconds=5)
    release.set()
    voter.join(timeout=30)
    scorer.join(timeout=30)

    # then it waited for the vote and counted it: no change is left unscored
    assert errors == []
    assert blocked, "the re-score did not wait for the vote being saved"
    result = ProductResult.objects.get(product_id=campaign.product_id, is_latest=True)
    assert result.counted == 4
