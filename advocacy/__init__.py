"""The project package. The Celery app (advocacy/celery.py) is not imported here: importing
Celery costs a web process about a second of start-up, and a web process needs it only to
enqueue a task. Whatever enqueues imports its task from cases.tasks (or advocacy.tasks), and
those modules import advocacy.celery first, so the configured app is always the one a task
is sent with. ``celery -A advocacy`` finds advocacy.celery.app on its own.
"""


def __getattr__(name: str):
    # ``advocacy.celery_app``, as Celery's Django guide names it, still works, loaded on use.
    if name == "celery_app":
        from .celery import app

        return app
    raise AttributeError(f"module 'advocacy' has no attribute {name!r}")
