"""The project's Celery app for a worker started by the fault tests: everything it sends stays on its queue.

Jobs already send their follow-up steps to the queue they came from; re-scores and screenings asked
for after a commit go to the default queue, which here is the test's own (``FAULTS_QUEUE``), so a
worker on a unique queue finishes every job it starts and takes nothing from anyone else.
"""

import os

from xhs.celery import app

app.conf.task_default_queue = os.environ["FAULTS_QUEUE"]

__all__ = ["app"]
