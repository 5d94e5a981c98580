"""The nightly jobs have a queue of their own, so a long run never delays a vote's screening."""

import pytest

from xhs.celery import app


@pytest.mark.parametrize(
    "task",
    [
        "ratings.tasks.run_eligibility",
        "ratings.tasks.run_category",
        "ratings.tasks.invite_run",
        "ratings.tasks.notify_invitations",
        "ratings.tasks.run_scoring",
        "ratings.tasks.score_category",
        "moderation.tasks.retrain_screener",
        "moderation.tasks.screen_all_votes",
        "moderation.tasks.screen_category",
    ],
)
def test_a_nightly_job_and_its_steps_are_sent_to_the_batch_queue(task: str) -> None:
    assert app.amqp.router.route({}, task)["queue"].name == "batch"


@pytest.mark.parametrize(
    "task",
    [
        "moderation.tasks.screen_vote",
        "ratings.tasks.rescore_campaign",
        "moderation.tasks.sweep_unscreened",
    ],
)
def test_a_votes_own_work_and_the_sweeps_stay_on_the_default_queue(task: str) -> None:
    assert app.amqp.router.route({}, task)["queue"].name == "celery"


def test_a_step_sent_to_the_queue_its_job_came_from_goes_there() -> None:
    """ratings.tasks._same_queue: a job's steps (and its invitation emails) follow the job's queue."""
    assert app.amqp.router.route({"queue": "celery"}, "ratings.tasks.score_category")["queue"].name == "celery"
