"""The product's WSGI application with the benchmarks' URLs: ``gunicorn bench.floor_wsgi``.

bench/load.py serves this instead of advocacy.wsgi so that the one-line floor page
(bench/floor_urls.py) is measured on the same server, in the same run, as the product's pages.
Everything else (settings, middleware) is the product's own.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")
settings.ROOT_URLCONF = "bench.floor_urls"
application = get_wsgi_application()
