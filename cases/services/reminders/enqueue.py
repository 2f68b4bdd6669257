"""Asking a worker for a dispatch round now, by the task's name.

The reminder services never import ``cases.tasks`` (which imports them): they look the task up
by its name in the Celery app's registry, so the import graph has no cycle
(tests/test_reminders_package.py).
"""

import logging

log = logging.getLogger(__name__)

DISPATCH_TASK = "cases.dispatch_due_reminders"


def dispatch_soon() -> None:
    """Ask a worker for a dispatch round now rather than at the next minute."""
    # Imported here: a web process loads Celery only when it first sends a task.
    from advocacy.celery import app

    try:
        app.tasks[DISPATCH_TASK].delay()
    except Exception:
        # Only a shortcut: the every-minute dispatch sends the row anyway.
        log.warning("Could not enqueue a reminder dispatch; beat will send it.", exc_info=True)
