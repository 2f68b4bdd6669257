"""The log lines an operator keeps (advocacy/logs.py): what they hold and what they never do.

tests/system/test_processes.py reads the same lines from the real gunicorn and Celery worker;
these are the quick checks of each rule.
"""

import json
import logging

import pytest
from celery.app.trace import LOG_FAILURE, LOG_SUCCESS

from advocacy.logs import JsonFormatter, PlainFormatter, TaskLineFilter

NAME = "Kim Lognamemarker"


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="advocacy.request")
    return caplog


def request_fields(caplog) -> list[dict]:
    return [r.fields for r in caplog.records if r.name == "advocacy.request"]


@pytest.mark.django_db
def test_one_line_per_request_with_path_status_and_user_but_no_query(
    client, coordinator, case, lines
):
    client.force_login(coordinator)
    client.get(f"/cases/{case.pk}/", {"q": NAME})

    [fields] = request_fields(lines)
    assert fields["method"] == "GET"
    assert fields["path"] == f"/cases/{case.pk}/"
    assert fields["route"] == "cases/<int:pk>/"
    assert fields["status"] == 200
    assert fields["user_id"] == coordinator.pk
    assert fields["duration_ms"] >= 0
    assert NAME not in lines.text


@pytest.mark.django_db
def test_a_sign_in_is_logged_without_the_password(client, coordinator, lines):
    client.post("/accounts/login/", {"username": "coordinator", "password": "s3cret-passphrase"})
    [fields] = request_fields(lines)
    assert fields == fields | {"method": "POST", "path": "/accounts/login/", "user_id": None}
    assert "s3cret" not in lines.text


@pytest.mark.django_db
def test_secret_tokens_in_paths_and_unknown_paths_are_not_written_down(client, lines):
    client.get("/calendar/abcdefsecrettoken.ics")
    client.get(f"/{NAME.replace(' ', '-')}/")

    feed, unknown = request_fields(lines)
    assert feed["path"] == "/calendar/***.ics" and feed["status"] == 404
    assert unknown["path"] == "(unrouted)"
    assert "abcdefsecrettoken" not in lines.text and "Lognamemarker" not in lines.text


def test_json_lines_hold_the_fields_and_an_exception_without_its_message():
    try:
        raise ValueError(f"invalid literal: {NAME}")
    except ValueError:
        record = logging.LogRecord(
            "advocacy.request", logging.ERROR, __file__, 1, "GET %s", ("/x/",), exc_info=True
        )
        import sys

        record.exc_info = sys.exc_info()
    record.fields = {"status": 500, "user_id": 7}

    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "GET /x/" and entry["status"] == 500 and entry["user_id"] == 7
    assert "ValueError (message withheld)" in entry["exception"]
    assert "test_logs.py" in entry["exception"]  # where it happened is kept
    assert NAME not in line

    plain = PlainFormatter().format(record)
    assert "status=500 user_id=7" in plain and NAME not in plain


def _trace_record(template, context, level=logging.INFO):
    return logging.LogRecord("celery.app.trace", level, __file__, 1, template, (context,), None)


def test_task_lines_keep_name_outcome_and_duration_but_not_arguments_or_results():
    context = {
        "id": "abc",
        "name": "cases.plan_deadline_reminders",
        "return_value": f"{{'name': '{NAME}'}}",
        "runtime": 0.25,
        "args": f"('{NAME}',)",
        "kwargs": "{}",
    }
    record = _trace_record(LOG_SUCCESS, context)
    record.data = context
    assert TaskLineFilter().filter(record)

    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "task cases.plan_deadline_reminders succeeded"
    assert entry["task_id"] == "abc" and entry["duration_ms"] == 250.0
    assert NAME not in json.dumps(entry) and record.data == {}

    failed = _trace_record(
        LOG_FAILURE.strip(),
        {
            "id": "d",
            "name": "t",
            "exc": f"ValueError('{NAME}')",
            "description": "raised unexpected",
        },
        logging.ERROR,
    )
    TaskLineFilter().filter(failed)
    assert failed.getMessage() == "task t failed" and NAME not in PlainFormatter().format(failed)
