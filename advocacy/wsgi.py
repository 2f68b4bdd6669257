"""WSGI entry point (gunicorn advocacy.wsgi).

gunicorn loads it once in its master process (``--preload``, see docs/operations.md "Web
server"), and forks each worker from there: a worker started or recycled after
``--max-requests`` begins with everything below already done, instead of importing and
compiling for a second or more while its first readers wait.
"""

import contextlib
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")

application = get_wsgi_application()


def warm_up() -> None:
    """What every worker's first requests would do, done once: import every view (the
    URLconf), compile the templates and load the translations. Touches no database."""
    from pathlib import Path

    from django.conf import settings
    from django.db import connections
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template
    from django.urls import get_resolver
    from django.utils import translation

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            get_resolver().reverse_dict  # noqa: B018 (imports every view, per language)
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix in {".html", ".txt"}:
                # A broken template fails its own page, not the server's start.
                with contextlib.suppress(TemplateDoesNotExist, TemplateSyntaxError):
                    get_template(path.relative_to(folder).as_posix())
    # Nothing above should open a connection; if something did, it must not be shared by the
    # workers forked from this process (a connection inside a transaction is a test's).
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


warm_up()
