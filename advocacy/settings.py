"""Settings for the case tracker, read from the environment.

Every value an installation may change is an environment variable documented in README.md.
A bad or missing required value stops start-up with one sentence naming the variable
(manage.py prints it without a traceback).
"""

import os
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"The environment variable {name} must be true or false (1/0, yes/no), not {value!r}."
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(
            f"The environment variable {name} must be a whole number of at least {minimum}, "
            f"not {value!r}."
        )
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core ------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-do-not-use-in-production")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    # What Django's own deployment check (security.W009) asks, so that `check --deploy` and
    # start-up agree: at least 50 characters, at least 5 different ones, not Django's sample.
    if (
        len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
        or SECRET_KEY.startswith("django-insecure-")
    ):
        raise ImproperlyConfigured(
            "The environment variable SECRET_KEY must be at least 50 random characters "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.netloc:
    raise ImproperlyConfigured(
        f"The environment variable SITE_URL must be an http(s) address such as "
        f"https://cases.example.org, not {SITE_URL!r}."
    )

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's widget templates, found through TEMPLATES (FORM_RENDERER below).
    "django.forms",
    "django_htmx",
    "simple_history",
    # Two-factor sign-in: authenticator apps (TOTP) and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Counts failed sign-ins and locks a username out for a while (AXES_* below).
    "axes",
    # The API for partners' tools (cases/api/, docs/api.md): REST, its OpenAPI document, and
    # Swagger UI served from our own static files (the "sidecar"), no CDN.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cases",
]

MIDDLEWARE = [
    # One log line per request (advocacy/logs.py); first, so its duration covers everything.
    "advocacy.logs.RequestLogMiddleware",
    # A body larger than the largest document is refused before it is read (413).
    "advocacy.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves static files from gunicorn itself (no separate web server needed for them).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-csp's middleware, with the (constant) header built once (advocacy/middleware.py).
    "advocacy.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Tells whether this session passed the second step of signing in (request.user.is_verified).
    "django_otp.middleware.OTPMiddleware",
    # Signs a user out SESSION_ABSOLUTE_AGE after they signed in, however active they are.
    "cases.security.SessionLifetimeMiddleware",
    # Renews an active session's expiry at most once a minute (instead of a write per page).
    "cases.security.SessionTouchMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (sign-in, reset, feeds).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # ... and, after the password, the second step: a code (required for coordinators and staff).
    "cases.security.TwoFactorMiddleware",
    "cases.middleware.UserPreferencesMiddleware",
    # Keeps the user's list of signed-in sessions (My settings; ended by "sign out elsewhere").
    "cases.middleware.SessionListMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "advocacy.middleware.NoStoreForSignedInMiddleware",
    # Records request.user as the author of every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Turns a locked-out sign-in attempt into the lockout page (last, as django-axes asks).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "advocacy.urls"
WSGI_APPLICATION = "advocacy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "cases.context_processors.navigation",
            ],
        },
    },
]

# Form widgets render through the project's templates, so that templates/django/forms/ can
# replace Django's select widget: it includes a template per <option>, which made a select of
# 160 authorities cost milliseconds on every case list page.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database --------------------------------------------------------------------------------
_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_db)
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(
        f"The environment variable DATABASE_URL is not a database address Django can use "
        f"(expected postgres://user:password@host:5432/name or sqlite:///path): {exc}"
    ) from None
if not _db.get("ENGINE") or _db["ENGINE"] not in {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}:
    raise ImproperlyConfigured(
        "The environment variable DATABASE_URL must point at PostgreSQL (postgres://...) "
        "or SQLite (sqlite:///...)."
    )
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in {"", ":memory:"}:
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
else:
    _db["CONN_HEALTH_CHECKS"] = True
    # A database host that does not answer fails fast (and /healthz says so) instead of hanging.
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # No JIT compilation for the application's queries: PostgreSQL compiles a query whose
    # *estimated* cost passes jit_above_cost, and for this application's short queries that
    # took 100 to 800 ms where the query itself takes a few (the case list at 100,000 cases,
    # docs/performance.md, "Case list and search"). Set per connection (libpq's options),
    # so it holds whichever role connects; docs/operations.md says how to check it.
    _pg_options = _db["OPTIONS"].get("options", "")
    if "jit" not in _pg_options:
        _pg_options = f"{_pg_options} -c jit=off".strip()
    # Generic plans for the statements the application prepares (cases/selectors/compiled.py,
    # run_statement; nothing else is prepared: Django binds values on the client). They
    # take ids as arrays, and with PostgreSQL's default choice, a statement run with one id
    # and then with fifty kept being planned again for each (2 ms each time for the
    # timeline's entries, against 1 ms to run it with a generic plan).
    if "plan_cache_mode" not in _pg_options:
        _pg_options = f"{_pg_options} -c plan_cache_mode=force_generic_plan"
    _db["OPTIONS"]["options"] = _pg_options
DATABASES = {"default": _db}
# The application's own PostgreSQL role, when DATABASE_URL is the owner's (the address
# migrations run with): `manage.py grant_app_role`, run as the owner after every migrate,
# creates this role or sets its password, gives it the rights it needs and leaves it only
# INSERT and SELECT on the audit tables (docs/operations.md, "Database roles").
DATABASE_APP_URL = env_str("DATABASE_APP_URL", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rendered parts of pages (a case's timeline and header, the case list's rows and search
# form), each stored under the version of what it shows (cases.models.TimelineVersion), so a
# stale part is never served whatever this cache is. Kept in each web process's own memory on
# purpose: they hold case data, which should not sit in another server (Redis holds only ids).
# CACHE_MAX_ENTRIES bounds each process's share (entries are 1 to 60 KB; see
# docs/performance.md).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 2000, minimum=10)},
    }
}

# --- Authentication --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cases:home"
# A page that says so, with a link to sign in again (cases.views.account.signed_out).
LOGOUT_REDIRECT_URL = "cases:signed-out"
# django-axes first: it refuses a locked-out username before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After 5 failed sign-ins for a username (app or admin), each within 15 minutes of the last,
# that username is locked for 15 minutes, whether or not the account exists. Attempts during
# the lockout are refused without checking the password and do not extend it.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Not by address as well (django-axes warns, axes.W006, silenced below): colleagues often share
# one address (an office, a VPN, Tor), and one person's typos would lock them all out.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The lockout page (429) says the same for every username, whether the account exists or not.
AXES_LOCKOUT_CALLABLE = "cases.security.lockout_response"
# Log lines name no username, address or browser (the admin's access attempts list has them).
AXES_VERBOSE = False
AXES_CLIENT_STR_CALLABLE = "cases.security.axes_client_str"
AXES_HTTP_RESPONSE_CODE = 429
# Two-factor secrets and recovery codes are not shown in the admin's device pages.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Sessions: signed out after 30 minutes without a request, and 12 hours after signing in
# however active (cases.security.SessionLifetimeMiddleware).
SESSION_COOKIE_AGE = 30 * 60
# Not saved on every request (one UPDATE per page): cases.security.SessionTouchMiddleware saves
# an active session at most once a SESSION_TOUCH_INTERVAL, which renews its expiry.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_INTERVAL = 60
SESSION_ABSOLUTE_AGE = 12 * 3600

# --- Languages and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ko", _("Korean")),
    ("uk", _("Ukrainian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Corrections to Django's formats for some languages (Korean puts 오전/오후 first).
FORMAT_MODULE_PATH = ["cases.formats"]
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in the user's time zone
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"The environment variable TIME_ZONE must be an IANA time zone such as Europe/Kyiv, "
        f"not {TIME_ZONE!r}."
    ) from None

# --- Static files and documents --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "documents"
MEDIA_URL = "/documents/"  # never served directly: downloads go through an access-checked view
# STATIC_MANIFEST=1 (set in the Dockerfile, where collectstatic runs at build time): serve the
# collected files under content-hashed names, compressed, cached for ever by browsers. Off
# (development, tests, `make demo`): serve them straight from the source folders, so nothing
# has to be collected first.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = not STATIC_MANIFEST

DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
DOCUMENT_ALLOWED_EXTENSIONS = [
    ext.lower().lstrip(".")
    for ext in env_list("DOCUMENT_ALLOWED_EXTENSIONS", "pdf,png,jpg,jpeg,txt,docx,odt")
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email -----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "Set only one of the environment variables EMAIL_USE_TLS and EMAIL_USE_SSL."
    )
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
EMAIL_FILE_PATH = DATA_DIR / "emails"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Case tracker <cases@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------------------------
# Production uses Redis. The default is kombu's filesystem transport under DATA_DIR so that
# `make demo` needs no broker server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif urlsplit(CELERY_BROKER_URL).scheme not in {"redis", "rediss", "amqp", "memory"}:
    raise ImproperlyConfigured(
        f"The environment variable CELERY_BROKER_URL must be a redis:// address "
        f"(or filesystem:// for a single machine), not {CELERY_BROKER_URL!r}."
    )
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat remembers when it last ran each schedule (advocacy/celery.py) in this file.
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Logging ---------------------------------------------------------------------------------
# One line per request and per task, never with names, passwords, query strings or bodies
# (advocacy/logs.py). LOG_FORMAT=json writes one JSON object per line for a log collector.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(
        f"The environment variable LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "advocacy.logs.PlainFormatter"},
        "json": {"()": "advocacy.logs.JsonFormatter"},
    },
    "filters": {"task_line": {"()": "advocacy.logs.TaskLineFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # The request line says it all; Django's own line repeats 4xx and 5xx (5xx still come
        # with their traceback at ERROR).
        "django.request": {"level": "ERROR"},
        # Celery's "received" line would make two lines per task; its "succeeded/failed" line
        # is rewritten without arguments or results.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"filters": ["task_line"]},
    },
}
# The worker and beat keep this configuration instead of replacing the root logger's handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if _site.scheme == "https":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe /healthz over plain HTTP; it carries no data.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (see docs/operations.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [SITE_URL]
# HSTS preloading is a commitment for the whole domain; it stays each installation's choice.
SILENCED_SYSTEM_CHECKS = [] if env_bool("SECURE_HSTS_PRELOAD", False) else ["security.W021"]
SILENCED_SYSTEM_CHECKS += ["axes.W006"]  # sign-in lockout by username only: see AXES_*

# Content Security Policy: no inline or third-party scripts, nothing from other origins.
# Inline style attributes stay allowed because the Django admin uses them; the app has none.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- The API (cases/api/, docs/api.md) -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.api.auth.TokenAuthentication",
        "cases.api.auth.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "cases.api.auth.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["cases.api.throttling.TokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["cases.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "cases.api.schema.OperationNamedSchema",
    "EXCEPTION_HANDLER": "cases.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per token (or signed-in user) per minute; over it, 429 with Retry-After.
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 120, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Advocacy case tracker API",
    "DESCRIPTION": (
        "Cases, people of concern (by code), petitions, events, deadlines, documents and the "
        "case timeline, with the same rules as the web app. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "DatePrecisionEnum": "cases.models.DatePrecision",
        "RegistrationEnum": "cases.models.Registration",
        "CaseStatusEnum": "cases.models.CaseStatus",
        "PetitionStatusEnum": "cases.models.PetitionStatus",
        "DeadlineStatusEnum": "cases.models.DeadlineStatus",
        "DeadlineKindEnum": "cases.models.DeadlineKind",
        "EventKindEnum": "cases.models.Event.Kind",
        "OrganizationKindEnum": "cases.models.Organization.Kind",
        "AuthorityKindEnum": "cases.models.Authority.Kind",
        "PetitionRequestKindEnum": "cases.models.PetitionRequest.Kind",
        "TimelineKindEnum": "cases.models.TimelineEntry.Kind",
        "NewPetitionStatusEnum": [("filed", "Filed"), ("draft", "Draft")],
    },
}

# --- Product settings ------------------------------------------------------------------------
# Whether reminder emails and calendar feeds may name the people of concern. Off by default:
# an email is easy to forward and hard to take back.
NAMES_IN_NOTIFICATIONS = env_bool("NAMES_IN_NOTIFICATIONS", False)
# Sent reminder rows older than this many days leave the outbox for the compact delivery log
# (who, which deadline, when, Message-ID): the outbox stays small for planning and dispatch.
REMINDER_LOG_AFTER_DAYS = env_int("REMINDER_LOG_AFTER_DAYS", 30, minimum=1)
# After this many days, what the outbox and the delivery log hold about a deadline that is no
# longer open is deleted (cancelled and failed rows, delivery-log rows): a year and a month,
# so that last year's reminders can still be looked up. The deadline, its history and the
# case's timeline stay (docs/reminders.md, "What is kept"). Never less than the above.
REMINDER_KEEP_DAYS = env_int("REMINDER_KEEP_DAYS", 400, minimum=1)
# SMTP connections one reminder dispatch sends over at once, each email on its way while the
# next is checked and built (docs/reminders.md, "Delivery"). Mail servers limit connections
# per client (often to 10 or more); 1 sends one email at a time.
REMINDER_SMTP_CONNECTIONS = env_int("REMINDER_SMTP_CONNECTIONS", 4, minimum=1)
