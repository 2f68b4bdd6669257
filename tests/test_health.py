"""/healthz: what a load balancer sees, with the services up, down and the heartbeat late."""

import json
import time

import pytest

from advocacy import health
from advocacy.tasks import beat_heartbeat
from tests.smtp import free_port


@pytest.fixture
def on_filesystem_broker(settings, tmp_path):
    """The embedded broker of a single machine, in a fresh DATA_DIR."""
    queue = tmp_path / "broker" / "queue"
    queue.mkdir(parents=True)
    settings.DATA_DIR = tmp_path
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
    }
    return tmp_path


def get_health(client):
    response = client.get("/healthz")
    return response.status_code, json.loads(response.content)


def only_names_and_verdicts(body) -> bool:
    return body.keys() == {"status", "checks"} and body["checks"].keys() == {
        "database",
        "broker",
        "beat",
    }


@pytest.mark.django_db
def test_all_ok_when_the_heartbeat_is_fresh_and_no_sign_in_needed(client, on_filesystem_broker):
    beat_heartbeat()  # what a worker does when beat sends it

    status, body = get_health(client)

    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "beat": "ok"},
    }


@pytest.mark.django_db
def test_a_signed_in_visitor_gets_the_same_answer(client, coordinator, on_filesystem_broker):
    beat_heartbeat()
    client.force_login(coordinator)
    assert get_health(client)[0] == 200


@pytest.mark.django_db
def test_no_heartbeat_yet_fails(client, on_filesystem_broker, caplog):
    status, body = get_health(client)
    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"] == {"database": "ok", "broker": "ok", "beat": "fail"}
    # An answer, not a server error: no error line at every poll of the balancer.
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.django_db
def test_a_stale_heartbeat_fails(client, on_filesystem_broker):
    health.heartbeat_record(at=time.time() - health.HEARTBEAT_MAX_AGE - 5)
    status, body = get_health(client)
    assert status == 503
    assert body["checks"]["beat"] == "fail"

    health.heartbeat_record(at=time.time() - health.HEARTBEAT_MAX_AGE + 30)  # late, not stale
    assert get_health(client)[0] == 200


@pytest.mark.django_db
def test_an_unreachable_broker_fails_quickly_and_says_nothing_more(
    client, settings, on_filesystem_broker
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3 * health.TIMEOUT

    body = json.loads(response.content)
    assert response.status_code == 503
    assert body["checks"]["broker"] == "fail"
    assert only_names_and_verdicts(body)
    assert b"127.0.0.1" not in response.content and b"Error" not in response.content
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_missing_broker_folder_fails(client, settings, on_filesystem_broker):
    beat_heartbeat()
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(on_filesystem_broker / "gone"),
        "data_folder_out": str(on_filesystem_broker / "gone"),
    }
    status, body = get_health(client)
    assert status == 503
    assert body["checks"] == {"database": "ok", "broker": "fail", "beat": "ok"}


@pytest.mark.django_db
def test_writes_are_refused(client, on_filesystem_broker):
    assert client.post("/healthz").status_code == 405


@pytest.mark.redis
@pytest.mark.django_db
def test_on_redis_the_heartbeat_is_shared_through_the_broker(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    health._redis(redis_url).delete(health.HEARTBEAT_KEY)
    assert get_health(client) == (
        503,
        {"status": "fail", "checks": {"database": "ok", "broker": "ok", "beat": "fail"}},
    )

    beat_heartbeat()  # on one machine ...
    assert get_health(client)[0] == 200  # ... seen by every web replica: it is in Redis
    assert health.heartbeat_age() < 5

    health._redis(redis_url).delete(health.HEARTBEAT_KEY)


def test_the_heartbeat_is_scheduled_often_enough_for_the_check():
    from advocacy.celery import app

    schedule = app.conf.beat_schedule.values()
    [entry] = [e for e in schedule if e["task"] == beat_heartbeat.name]
    assert entry["schedule"] * 3 <= health.HEARTBEAT_MAX_AGE  # a couple of misses do not fail it
    assert entry["options"]["expires"] < entry["schedule"]
