"""docs/api.md's Python client, run as written against a live test server."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cases.models import Petition
from cases.services.tokens import api_token_create
from tests import factories

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _python_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.django_db(transaction=True)
def test_the_python_client_in_the_docs_files_a_petition_and_reads_the_timeline(
    live_server, lead_org, editor, tmp_path
):
    case = factories.make_case(lead_organization=lead_org, by=editor, title="Documented")
    authority = factories.AuthorityFactory(name="Ministry of Justice")
    _token, raw = api_token_create(
        user=editor, name="docs", scope="read_write", expires_on=dt.date.today() + dt.timedelta(9)
    )
    script = tmp_path / "client.py"
    script.write_text(_python_example())
    env = {
        **os.environ,
        "ADVOCACY_URL": live_server.url,
        "ADVOCACY_TOKEN": raw,
        "CASE_ID": str(case.pk),
        "AUTHORITY_ID": str(authority.pk),
    }
    for _run in range(2):  # twice: the Idempotency-Key makes the second a replay
        done = subprocess.run(  # noqa: S603 (our own script, from our docs)
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "filed petition" in done.stdout
        assert "Non-refoulement for POW-A" in done.stdout  # the timeline shows it
        assert "case_opened" in done.stdout
    petition = Petition.objects.get()
    assert petition.case == case and petition.status == "filed"
    assert "(via API)" in petition.history.latest().history_change_reason
