"""A bad or missing setting stops start-up with one clear sentence naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-of-enough-length-0123456789",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_check(*command, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k not in overrides}
    env.update(GOOD)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(  # noqa: S603 (the commands are the tests' own)
        [sys.executable, "manage.py", *(command or ["check"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_good_settings_start():
    result = run_check()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        # 40 characters: `check --deploy` would warn (security.W009), so start-up refuses.
        ({"SECRET_KEY": "abcdefghij" * 4}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://x@localhost/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"SITE_URL": "ftp://example.org"}, "SITE_URL"),
        ({"TIME_ZONE": "Mars/Olympus_Mons"}, "TIME_ZONE"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS"),
        ({"DOCUMENT_MAX_BYTES": "-5"}, "DOCUMENT_MAX_BYTES"),
        ({"CELERY_BROKER_URL": "carrier-pigeon://coop"}, "CELERY_BROKER_URL"),
        ({"CACHE_MAX_ENTRIES": "0"}, "CACHE_MAX_ENTRIES"),
    ],
)
def test_bad_settings_stop_start_up_with_one_sentence(overrides, variable):
    result = run_check(**overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith("Configuration error:")
    assert variable in lines[0]


def test_debug_mode_needs_no_secret_key():
    result = run_check(DEBUG="1", SECRET_KEY=None)
    assert result.returncode == 0, result.stderr


def test_checking_for_missing_migrations_needs_no_secret_key():
    """A contributor can run makemigrations as it is; serving or checking still needs a key."""
    result = run_check("makemigrations", "--check", "--dry-run", SECRET_KEY=None)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    assert run_check("check", SECRET_KEY=None).returncode == 2
