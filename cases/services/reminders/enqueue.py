"""Asking a worker for a dispatch round now, by the task's name.

The reminder services never import ``cases.tasks`` (which imports them): they look the task up
by its name (``send_task``), so the import graph has no cycle (tests/test_reminders_package.py)
and a process that never imported ``cases.tasks`` (web, shell) still sends it
(tests/test_celery_worker.py).
"""

import logging

log = logging.getLogger(__name__)

DISPATCH_TASK = "cases.dispatch_due_reminders"


def send_task_soon(name: str) -> bool:
    """Send the task called ``name`` to the workers, by name: the sending process need not
    have imported (registered) it, and a web or shell process never imports ``cases.tasks``.
    Only a shortcut for work that a periodic task does anyway: a failure is logged, not raised.
    """
    # Imported here: a web process loads Celery only when it first sends a task.
    from advocacy.celery import app

    try:
        if app.conf.task_always_eager:
            # Tasks run in the sending process (some tests): send_task would ignore that, so
            # run the task here if this process has it; otherwise the periodic task does it.
            task = app.tasks.get(name)
            if task is None:
                return False
            task.delay()
        else:
            app.send_task(name)
    except Exception:
        log.warning(
            "Could not enqueue %s; the periodic task will do the work.", name, exc_info=True
        )
        return False
    return True


def dispatch_soon() -> None:
    """Ask a worker for a dispatch round now rather than at the next minute."""
    send_task_soon(DISPATCH_TASK)
