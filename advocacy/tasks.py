"""The project's own task: the beat heartbeat that /healthz reads (advocacy/health.py).

Kept out of advocacy/health.py so that the web process, which serves /healthz, does not
import Celery at start-up (see advocacy/__init__.py).
"""

from celery import shared_task

import advocacy.celery  # noqa: F401 (the configured app, before any task is defined or sent)
from advocacy.health import heartbeat_record


@shared_task(name="advocacy.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Sent by beat, run by a worker: the time it runs is the heartbeat."""
    heartbeat_record()
