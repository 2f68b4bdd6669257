"""Is this installation working? ``/healthz`` for load balancers and monitoring.

Three checks, each answered "ok" or "fail", and nothing else (no versions, counts, host names
or error texts: the address needs no sign-in):

- ``database``: a ``SELECT 1`` on the default database;
- ``broker``: the Celery broker answers (Redis: a PING with a short timeout; the filesystem
  broker of a single machine: its folders are there and writable);
- ``beat``: the last beat heartbeat is recent. Beat sends the ``advocacy.beat_heartbeat`` task
  (advocacy/tasks.py) every 30 seconds (advocacy/celery.py) and a worker records the time, so a
  stale heartbeat means scheduled work (reminders) has stopped: beat, the broker or every
  worker is down.

The answer is 200 when all are ok, else 503.

The heartbeat is kept where every web replica can read it: in Redis when the broker is Redis
(the one server they all share already), otherwise in a file under DATA_DIR (a single machine,
or a DATA_DIR shared for documents anyway). Neither needs a table or a migration.

Container health checks use the same code from the command line::

    python -m advocacy.health beat                  # exit 0 if the heartbeat is recent
    python -m advocacy.health --http 127.0.0.1:8000  # exit 0 if /healthz there answers 200
"""

import functools
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

# Beat sends a heartbeat every 30 s (advocacy/celery.py): five missed in a row is a failure, so
# a worker restart or a deploy does not make the check flap, and a stopped beat shows within a
# few minutes.
HEARTBEAT_MAX_AGE = 150.0
HEARTBEAT_KEY = "advocacy:beat-heartbeat"
HEARTBEAT_FILE = "beat-heartbeat"
# A probe must answer quickly: a load balancer gives up after a few seconds anyway.
TIMEOUT = 2.0


# --- The heartbeat ---------------------------------------------------------------------------
def _broker_url() -> str:
    return settings.CELERY_BROKER_URL


def _uses_redis(url: str) -> bool:
    return urlsplit(url).scheme in {"redis", "rediss"}


@functools.lru_cache(maxsize=4)
def _redis(url: str):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a probe that waits out several timeouts answers after the balancer gave up.
    return redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0)
    )


def _heartbeat_path() -> Path:
    return Path(settings.DATA_DIR) / HEARTBEAT_FILE


def heartbeat_record(*, at: float | None = None) -> None:
    """Record that beat's heartbeat arrived (now, or ``at``, seconds since the epoch)."""
    at = time.time() if at is None else at
    url = _broker_url()
    if _uses_redis(url):
        # Expires after a day, so a retired installation's key does not stay for ever.
        _redis(url).set(HEARTBEAT_KEY, repr(at), ex=24 * 3600)
        return
    path = _heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
        handle.write(repr(at))
    os.replace(handle.name, path)  # atomic: a reader never sees half a number


def heartbeat_age(*, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat, or None if there has never been one."""
    now = time.time() if now is None else now
    url = _broker_url()
    if _uses_redis(url):
        value = _redis(url).get(HEARTBEAT_KEY)
    else:
        try:
            value = _heartbeat_path().read_text()
        except FileNotFoundError:
            value = None
    if not value:
        return None
    return now - float(value)


# --- Checks ----------------------------------------------------------------------------------
def check_database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def check_broker() -> bool:
    url = _broker_url()
    scheme = urlsplit(url).scheme
    if _uses_redis(url):
        return bool(_redis(url).ping())
    if scheme == "filesystem":
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folders = [options.get("data_folder_in"), options.get("data_folder_out")]
        return all(f and os.path.isdir(f) and os.access(f, os.W_OK) for f in folders)
    if scheme == "memory":
        return True
    from kombu import Connection

    with Connection(url, connect_timeout=TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1)
    return True


def check_beat() -> bool:
    age = heartbeat_age()
    # A small negative age is another machine's clock running slightly ahead.
    return age is not None and -HEARTBEAT_MAX_AGE <= age <= HEARTBEAT_MAX_AGE


CHECKS = {"database": check_database, "broker": check_broker, "beat": check_beat}


def run_checks(names=None) -> dict[str, bool]:
    results = {}
    for name in names or CHECKS:
        try:
            results[name] = bool(CHECKS[name]())
        except Exception as error:  # a check that cannot run has failed
            log.warning("Health check %s failed: %s", name, type(error).__name__)
            results[name] = False
    return results


@login_not_required
@require_safe
@never_cache
def healthz(request):
    results = run_checks()
    healthy = all(results.values())
    response = JsonResponse(
        {
            "status": "ok" if healthy else "fail",
            "checks": {name: "ok" if ok else "fail" for name, ok in results.items()},
        },
        status=200 if healthy else 503,
    )
    # A 503 here is an answer, not an error of this view: the request line and the failed
    # check's warning say it; Django's "Service Unavailable" error line would repeat it at
    # every poll of the balancer.
    response._has_been_logged = True
    return response


# --- Command line (container health checks) --------------------------------------------------
def _probe_host() -> str:
    """A Host header the site answers to (the first of ALLOWED_HOSTS)."""
    for host in settings.ALLOWED_HOSTS:
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def probe_http(address: str) -> bool:
    """GET /healthz on this machine's gunicorn (``host:port``) as the proxy would."""
    import urllib.error
    import urllib.request

    headers = {"Host": _probe_host()}
    if settings.SITE_URL.startswith("https://"):
        headers["X-Forwarded-Proto"] = "https"  # what the TLS proxy in front says
    request = urllib.request.Request(f"http://{address}/healthz", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT * 3) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    if argv[:1] == ["--http"] and len(argv) == 2:
        ok = probe_http(argv[1])
        print("ok" if ok else "fail")
        return 0 if ok else 1
    unknown = [name for name in argv if name not in CHECKS]
    if unknown:
        print(f"usage: python -m advocacy.health [--http HOST:PORT | {' '.join(CHECKS)}]")
        return 2
    import django

    django.setup()
    results = run_checks(argv or None)
    for name, ok in results.items():
        print(f"{name}: {'ok' if ok else 'fail'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")
    sys.exit(main(sys.argv[1:]))
