"""A minimal Django project around django-helpdesk 2.6.1: the peer of bench/peer_helpdesk.py.

Configured as the helpdesk's own documentation asks (its apps, sites, humanize, DRF), with
DEBUG off, PostgreSQL (PEER_DATABASE_URL), the default middleware of `startproject`, and teams
mode off (it would need pinax-teams). Runs only in the venv bench/peer_helpdesk.py builds.
"""

import os
from urllib.parse import urlsplit

_db = urlsplit(
    os.environ.get(
        "PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/advocacy_bench_helpdesk"
    )
)

DEBUG = False
SECRET_KEY = "peer-bench-only-0123456789abcdef-0123456789abcdef-helpdesk"  # noqa: S105
ALLOWED_HOSTS = ["testserver"]
SITE_ID = 1
ROOT_URLCONF = "helpdesk_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
LOGIN_URL = "/login/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
HELPDESK_TEAMS_MODE_ENABLED = False

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "postgres",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": _db.port or 5432,
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
