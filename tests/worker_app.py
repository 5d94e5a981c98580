"""The project's Celery app for a worker started by a test: everything it sends stays on the test's queues.

Jobs already send their follow-up steps to the queue they came from; re-scores and screenings asked
for after a commit, and jobs a sweep sends again, go where the routes say, which here are the test's own
(``TEST_QUEUE`` and its batch queue), so a worker on both finishes every job it starts and takes nothing
from anyone else.
"""

import os

from tests.processes import route_to_test_queues
from xhs.celery import app

route_to_test_queues(app, os.environ["TEST_QUEUE"])

__all__ = ["app"]
