"""Tamper evidence: history and access-log rows are hash-chained; verify_audit finds tampering.

The tests use the app as its users do, then change rows behind its back in SQL (edit a row,
delete one, swap two) and expect ``manage.py verify_audit`` to fail naming the table and the
first broken row.
"""

import datetime as dt
import importlib
import io
import os
import re
import subprocess
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, connections, transaction
from django.urls import reverse
from simple_history.models import HistoricalChanges
from simple_history.utils import bulk_create_with_history

from cases import models, services
from cases.models.chain import GENESIS, AppendOnlyError, ChainedRecord, canonical_content
from cases.services.audit_chain import audit_grants_sql, chained_models
from tests import factories

GRANTS_FILE = Path(__file__).resolve().parent.parent / "deploy" / "audit_grants.sql"
PDF = b"%PDF-1.7\n" + b"petition text " * 50


# --- Helpers ---------------------------------------------------------------------------------
def verify(*args: str) -> str:
    """Run verify_audit; its output. Fails the test if the command fails."""
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args: str) -> tuple[str, str]:
    """Run verify_audit expecting it to fail: (its output, the error message)."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", *args, stdout=out)
    return out.getvalue(), str(failure.value)


def broken_line(output: str, table: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(f"{table}: BROKEN")]
    assert len(lines) == 1, output
    return lines[0]


def pks(table: str, pk: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk} FROM {table} ORDER BY {pk}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def swap(table: str, pk: str, a: int, b: int, *, with_chain_columns: bool) -> None:
    """Exchange the contents of rows a and b in SQL, keeping their primary keys."""
    names = [c for c in columns(table) if c != pk]
    if not with_chain_columns:
        names = [c for c in names if c not in ("chain_prev", "chain_hash")]
    select = ", ".join(names)
    assignments = ", ".join(f"{name} = %s" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {table} WHERE {pk} = %s", [a])  # noqa: S608
        row_a = cursor.fetchone()
        cursor.execute(f"SELECT {select} FROM {table} WHERE {pk} = %s", [b])  # noqa: S608
        row_b = cursor.fetchone()
        assert row_a != row_b
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*row_b, a])  # noqa: S608
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*row_a, b])  # noqa: S608


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "documents"


@pytest.fixture
def used(case, coordinator, editor, staff, partner_org, client):
    """An installation after ordinary use: every kind of history row and access-log entries."""
    prisoner = factories.PrisonerFactory(code="POW-101", owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.case_update(case=case, by=coordinator, summary="Detained at a checkpoint.")
    services.case_update(case=case, by=editor, summary="Detained at a checkpoint in March.")
    services.case_change_status(
        case=case, to=models.CaseStatus.ACTIVE_ADVOCACY, by=coordinator, reason="Family consented"
    )
    services.prisoner_change_custody(
        prisoner=prisoner, to=models.CustodyStatus.TRANSFERRED, by=coordinator, reason="Moved"
    )
    petition = factories.make_petition(
        case=case, by=editor, copied_to=[factories.AuthorityFactory(name="Ombudsman")]
    )
    services.petition_change_status(
        petition=petition, to=models.PetitionStatus.ACKNOWLEDGED, by=editor, reason="Receipt"
    )
    deadline = factories.make_deadline(case=case, by=editor, assignees=[editor, coordinator])
    authority = factories.AuthorityFactory()
    services.event_log(
        case=case,
        by=editor,
        kind=models.Event.Kind.VISIT,
        title="Visit",
        occurred_on=dt.date(2026, 1, 5),
        organizations=[partner_org],
        authorities=[authority],
        prisoners=[prisoner],
    )
    services.document_store(
        case=case,
        upload=SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
        by=editor,
        title="Letter",
    )
    share = services.case_share(
        case=case, organization=partner_org, level="read", by=coordinator, reason="Partner"
    )
    services.case_unshare(share=share, by=coordinator, reason="Done")
    # An edit in the admin, as staff make them.
    client.force_login(staff)
    response = client.post(
        reverse("admin:cases_authority_change", args=[authority.pk]),
        {"name": "Ministry of Justice", "kind": authority.kind, "country": "Ukraine"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert authority.history.first().history_change_reason == "Edited in the admin"
    for action in (models.AccessLog.Action.VIEW_CASE, models.AccessLog.Action.EXPORT):
        services.access_log_record(user=coordinator, action=action, case=case, target="x")
    services.access_log_record(user=editor, action="view_case", case=case)
    return SimpleNamespace(case=case, editor=editor, petition=petition, deadline=deadline)


# --- The chains hold after ordinary use ----------------------------------------------------------
def test_every_history_table_and_the_access_log_are_chained():
    history_models = [
        m
        for m in django_apps.get_app_config("cases").get_models()
        if issubclass(m, HistoricalChanges)
    ]
    m2m_history = [m for m in history_models if m._meta.db_table.count("_") > 1]
    assert m2m_history, "the many-to-many history tables are chained too"
    assert set(chained_models()) == {*history_models, models.AccessLog}


@pytest.mark.django_db
def test_ordinary_use_leaves_every_chain_intact(used):
    output = verify()
    for model in chained_models():
        assert f"{model._meta.db_table}: " in output
    assert "BROKEN" not in output
    for table in ("cases_historicalpetition_copied_to", "cases_historicalevent_prisoners"):
        assert re.search(rf"^{table}: [1-9]\d* rows? checked, OK$", output, re.MULTILINE)
    assert "cases_accesslog: 3 rows checked, OK" in output
    assert "cases_historicalcase: 5 rows checked, OK" in output
    assert f"All {len(chained_models())} audit chains hold" in output


@pytest.mark.django_db
def test_each_row_links_to_the_row_before_it(used):
    rows = list(models.AccessLog.objects.order_by("pk"))
    assert rows[0].chain_prev == GENESIS
    assert [r.chain_prev for r in rows[1:]] == [r.chain_hash for r in rows[:-1]]
    assert all(len(r.chain_hash) == 64 for r in rows)


@pytest.mark.django_db
def test_bulk_history_creation_is_chained_too():
    # The project does not use it, but simple_history's bulk path must not escape the chain.
    bulk_create_with_history(
        [models.Organization(name=f"Bulk {i}") for i in range(3)],
        models.Organization,
        default_change_reason="Imported",
    )
    factories.OrganizationFactory(name="After the bulk import")
    assert models.Organization.history.count() == 4
    assert "cases_historicalorganization: 4 rows checked, OK" in verify()


def test_the_canonical_content_follows_the_documented_rule():
    # The example in docs/security.md.
    entry = models.AccessLog(
        id=7,
        at=dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        user_id=3,
        username="coordinator",
        case_id=None,
        action="view_case",
        target="",
    )
    fields = [f for f in models.AccessLog._meta.concrete_fields if not f.name.startswith("chain")]
    values = {f.attname: getattr(entry, f.attname) for f in fields}
    assert canonical_content(fields, values) == (
        '{"action":"view_case","at":"2026-03-01T07:30:00.000000+00:00","case_id":null,'
        '"id":"7","target":"","user_id":"3","username":"coordinator"}'
    )


@pytest.mark.django_db
def test_chained_rows_cannot_be_changed_or_deleted_through_the_orm(used):
    record = used.case.history.first()
    record.history_change_reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        type(record).objects.update(history_change_reason="rewritten")
    assert issubclass(type(record), ChainedRecord)


# --- Tampering in SQL is caught ----------------------------------------------------------------
@pytest.mark.django_db
def test_an_edited_row_is_named(used):
    ids = pks("cases_historicalcase", "history_id")
    target = ids[len(ids) // 2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_historicalcase SET history_change_reason = %s WHERE history_id = %s",
            ["Nothing happened", target],
        )
    output, error = verify_fails()
    line = broken_line(output, "cases_historicalcase")
    assert f"at history_id={target} (content changed)" in line
    assert f"cases_historicalcase at history_id={target}" in error
    assert "cases_accesslog: 3 rows checked, OK" in output  # the other chains still hold


@pytest.mark.django_db
def test_an_edited_access_log_entry_is_named(used):
    _first, second, _third = pks("cases_accesslog", "id")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_accesslog SET username = 'someone' WHERE id = %s", [second])
    output, error = verify_fails()
    assert f"cases_accesslog: BROKEN at id={second} (content changed)" in output
    assert "1 of" in error and f"cases_accesslog at id={second}" in error


@pytest.mark.django_db
def test_an_edited_many_to_many_history_row_is_named(used):
    table = "cases_historicaldeadline_assignees"
    first = pks(table, "m2m_history_id")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET user_id = %s WHERE m2m_history_id = %s",  # noqa: S608
            [used.case.lead_organization.pk + 1000, first],
        )
    output, _ = verify_fails()
    assert f"at m2m_history_id={first} (content changed)" in broken_line(output, table)


@pytest.mark.django_db
def test_a_deleted_row_is_named_by_the_row_after_it(used):
    ids = pks("cases_historicalpetition", "history_id")
    assert len(ids) >= 3
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_historicalpetition WHERE history_id = %s", [ids[1]])
    output, error = verify_fails()
    line = broken_line(output, "cases_historicalpetition")
    assert f"at history_id={ids[2]} (row missing)" in line
    assert f"the row before it (history_id={ids[0]})" in line
    assert "[1 row before it intact]" in line
    assert f"cases_historicalpetition at history_id={ids[2]}" in error


@pytest.mark.django_db
def test_a_deleted_first_row_is_caught(used):
    first, second, _third = pks("cases_accesslog", "id")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_accesslog WHERE id = %s", [first])
    output, _ = verify_fails()
    line = broken_line(output, "cases_accesslog")
    assert f"at id={second} (row missing)" in line and "it is the first row" in line


@pytest.mark.django_db
@pytest.mark.parametrize("with_chain_columns", [False, True], ids=["content", "whole-rows"])
def test_swapped_rows_are_named_as_reordered(used, with_chain_columns):
    ids = pks("cases_historicalcase", "history_id")
    a, b = ids[1], ids[-1]
    swap("cases_historicalcase", "history_id", a, b, with_chain_columns=with_chain_columns)
    output, error = verify_fails()
    line = broken_line(output, "cases_historicalcase")
    assert f"at history_id={a} (reordered)" in line
    assert f"written as history_id={b}" in line
    assert f"cases_historicalcase at history_id={a}" in error


@pytest.mark.django_db
def test_swapped_neighbours_in_the_access_log_are_named_as_reordered(used):
    first, second, _third = pks("cases_accesslog", "id")
    swap("cases_accesslog", "id", first, second, with_chain_columns=True)
    output, _ = verify_fails()
    line = broken_line(output, "cases_accesslog")
    assert f"at id={first} (reordered)" in line and f"written as id={second}" in line


# --- What the chain cannot show alone: the heads kept elsewhere ------------------------------
@pytest.mark.django_db
def test_heads_kept_elsewhere_catch_a_rewritten_chain_and_a_cut_tail(used, tmp_path):
    output = verify("--heads")
    heads = [line for line in output.splitlines() if line.startswith("head ")]
    assert len(heads) == len(chained_models())
    last = pks("cases_accesslog", "id")[-1]
    assert any(line.startswith(f"head cases_accesslog {last} ") for line in heads)
    saved = tmp_path / "heads.txt"
    saved.write_text(output)
    assert "recorded heads are still in them" in verify("--compare-heads", str(saved))

    # Someone with the owner's rights deletes the newest entry: the chain itself still holds.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_accesslog WHERE id = %s", [last])
    assert "BROKEN" not in verify()
    output, error = verify_fails("--compare-heads", str(saved))
    assert f"cases_accesslog: the recorded head id={last} is gone" in output
    assert "recorded heads are no longer in them" in error


@pytest.mark.django_db
def test_a_chain_rewritten_as_a_whole_passes_alone_but_not_against_saved_heads(used, tmp_path):
    saved = tmp_path / "heads.txt"
    saved.write_text(verify("--heads"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_accesslog SET target = 'nothing to see'")
    rechain = importlib.import_module("cases.migrations.0006_audit_chains").chain_existing_rows
    rechain(django_apps, SimpleNamespace(connection=connection))  # the attacker's recompute
    assert "BROKEN" not in verify()
    output, _ = verify_fails("--compare-heads", str(saved))
    assert "cases_accesslog: id=" in output and "no longer has the recorded hash" in output


# --- Upgrading an installation ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_migration_chains_the_rows_written_before_it(used):
    tables = [m._meta.db_table for m in chained_models()]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"UPDATE {table} SET chain_prev = '', chain_hash = ''")  # noqa: S608
    verify_fails()
    migration = importlib.import_module("cases.migrations.0006_audit_chains")
    migration.chain_existing_rows(django_apps, SimpleNamespace(connection=connection))
    assert "BROKEN" not in verify()
    # New rows continue the chains the migration computed.
    services.access_log_record(user=used.editor, action="view_case", case=used.case)
    assert "cases_accesslog: 4 rows checked, OK" in verify()


# --- Grants on PostgreSQL ----------------------------------------------------------------------
def test_the_committed_grant_script_is_up_to_date():
    out = io.StringIO()
    call_command("audit_grants_sql", stdout=out)
    assert out.getvalue() == audit_grants_sql() + "\n"
    assert GRANTS_FILE.read_text() == out.getvalue(), (
        "deploy/audit_grants.sql is out of date: "
        "run `manage.py audit_grants_sql > deploy/audit_grants.sql`"
    )
    for model in chained_models():
        assert f"('{model._meta.db_table}', '{model._meta.pk.column}')" in out.getvalue()


def _psql(script: Path, role: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    command = [
        "psql",
        "-X",
        "-q",
        "-h",
        db.get("HOST") or "127.0.0.1",
        "-p",
        str(db.get("PORT") or 5432),
        "-U",
        db.get("USER") or "postgres",
        "-d",
        db["NAME"],
        "-v",
        f"app_role={role}",
        "-f",
        str(script),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603


def _insufficient_privilege(statement: str, params=()) -> bool:
    import psycopg

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except ProgrammingError as exc:
        return isinstance(exc.__cause__, psycopg.errors.InsufficientPrivilege)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_grant_script_leaves_the_app_role_only_insert_and_read(used):
    role = f"audit_drill_{uuid.uuid4().hex[:8]}"
    history_id = used.case.history.first().history_id
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        applied = _psql(GRANTS_FILE, role)
        assert applied.returncode == 0, applied.stderr
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {role}")
        try:
            assert _insufficient_privilege(
                "UPDATE cases_historicalcase SET history_change_reason = 'x' WHERE history_id = %s",
                [history_id],
            )
            assert _insufficient_privilege(
                "DELETE FROM cases_historicalcase WHERE history_id = %s", [history_id]
            )
            assert _insufficient_privilege("TRUNCATE cases_historicalcase_prisoners")
            assert _insufficient_privilege("UPDATE cases_accesslog SET target = 'x'")
            # Appending and reading still work, chain and all.
            entry = models.AccessLog.objects.create(
                username="drill", action=models.AccessLog.Action.EXPORT
            )
            assert models.AccessLog.objects.filter(pk=entry.pk).exists()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        assert "cases_accesslog: 4 rows checked, OK" in verify()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_grant_script_refuses_a_role_that_owns_the_tables():
    owner = connection.settings_dict.get("USER") or "postgres"
    refused = _psql(GRANTS_FILE, owner)
    assert refused.returncode != 0
    assert "superuser" in refused.stderr or "owns the audit tables" in refused.stderr


# --- Concurrent writers on PostgreSQL ---------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain_per_table(case, coordinator, editor):
    assert connection.vendor == "postgresql"
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write(user, n):
        try:
            barrier.wait()
            for i in range(8):
                services.access_log_record(user=user, action="view_case", case=case)
                with transaction.atomic():
                    services.case_update(case=case, by=user, reason=f"{n}-{i}", summary=f"{n}-{i}")
                    services.access_log_record(user=user, action="export", case=case)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=(u, n)) for n, u in enumerate([coordinator, editor])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    output = verify()
    assert "cases_accesslog: 32 rows checked, OK" in output
    assert "BROKEN" not in output


# --- Deleting what the record names ----------------------------------------------------------
@pytest.mark.django_db
def test_users_and_cases_named_in_the_record_cannot_be_deleted(case, coordinator, editor):
    from cases.services.audit_chain import AuditedRowError

    services.access_log_record(user=editor, action="view_case", case=case)
    for row in (coordinator, editor, case):
        # The deletion's own transaction is rolled back (a savepoint inside the test's).
        with pytest.raises(AuditedRowError, match="cannot be deleted"), transaction.atomic():
            row.delete()
        assert type(row).objects.filter(pk=row.pk).exists()  # nothing half-deleted
    with pytest.raises(AuditedRowError), transaction.atomic():
        type(editor).objects.filter(pk__in=[coordinator.pk, editor.pk]).delete()
    assert "BROKEN" not in verify()
    newcomer = factories.UserFactory(username="never-did-anything")
    newcomer.delete()  # a user the record does not name goes
    assert not type(newcomer).objects.filter(pk=newcomer.pk).exists()


@pytest.mark.django_db
def test_the_admin_offers_no_deletion_of_what_the_record_names(client, staff, case, editor):
    services.access_log_record(user=editor, action="view_case", case=case)
    client.force_login(staff)
    for url in (
        reverse("admin:auth_user_delete", args=[editor.pk]),
        reverse("admin:cases_case_delete", args=[case.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"post": "yes"}).status_code == 403
    change = client.get(reverse("admin:auth_user_change", args=[editor.pk])).content.decode()
    assert reverse("admin:auth_user_delete", args=[editor.pk]) not in change
    listing = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert 'value="delete_selected"' not in listing
    assert editor.__class__.objects.filter(pk=editor.pk).exists()


@pytest.mark.django_db
def test_every_column_added_to_a_chained_table_after_the_chains_began_is_listed():
    # Rows written before a column existed were hashed without it: unless the column is left
    # out at the value those rows were given, every one of them would read as tampered with.
    from django.db.migrations.loader import MigrationLoader

    from cases.models.chain import LATE_COLUMNS, content_fields

    state = MigrationLoader(connection).project_state(("cases", "0006_audit_chains")).apps
    unlisted = []
    for model in django_apps.get_app_config("cases").get_models():
        if not issubclass(model, ChainedRecord):
            continue
        table = model._meta.db_table
        try:
            then = state.get_model("cases", model._meta.object_name)
        except LookupError:
            continue  # a table made after 0006 starts its chain with every column
        before = {f.column for f in content_fields(then)}
        for field in content_fields(model):
            if field.column not in before and field.column not in LATE_COLUMNS.get(table, {}):
                unlisted.append(f"{table}.{field.column}")
    assert not unlisted, f"List these in LATE_COLUMNS (cases/models/chain.py): {unlisted}"


@pytest.mark.django_db
def test_a_late_column_at_its_first_value_leaves_old_hashes_as_they_were(used):
    prisoner = factories.PrisonerFactory()
    record = prisoner.history.first()
    fields = [f for f in type(record)._meta.concrete_fields if not f.name.startswith("chain")]
    values = {f.attname: getattr(record, f.attname) for f in fields}
    with_owner = canonical_content(fields, values)
    assert '"owner_id"' in with_owner  # a value other than the first one is covered
    values["owner_id"] = None
    values["place_of_detention_sensitive"] = False
    without = canonical_content(fields, values)
    assert '"owner_id"' not in without
    assert "place_of_detention_sensitive" not in without
    values["place_of_detention_sensitive"] = True
    assert '"place_of_detention_sensitive":"true"' in canonical_content(fields, values)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_grant_app_role_makes_a_role_that_cannot_rewrite_the_audit_record(used, settings):
    """What docker-compose's migrate service runs: the web server, worker and beat then
    connect as this role."""
    role = f"app_drill_{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    settings.DATABASE_APP_URL = f"postgres://{role}:s3cret-pw@127.0.0.1:5432/{db['NAME']}"
    history_id = used.case.history.first().history_id
    try:
        call_command("grant_app_role", stdout=io.StringIO())
        call_command("grant_app_role", stdout=io.StringIO())  # again, as after an upgrade
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {role}")
        try:
            assert _insufficient_privilege(
                "UPDATE cases_historicalcase SET history_change_reason = 'x' WHERE history_id = %s",
                [history_id],
            )
            assert _insufficient_privilege(
                "DELETE FROM cases_historicalcase WHERE history_id = %s", [history_id]
            )
            assert _insufficient_privilege("TRUNCATE cases_accesslog")
            assert _insufficient_privilege("UPDATE cases_accesslog SET target = 'x'")
            # The application's own work goes on: rows change, history and log rows are added.
            services.case_update(case=used.case, by=used.editor, title="Renamed by the app role")
            services.access_log_record(user=used.editor, action="view_case", case=used.case)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        assert "BROKEN" not in verify()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.mark.postgres
@pytest.mark.django_db
def test_grant_app_role_refuses_the_owner_and_a_superuser(settings):
    owner = connection.settings_dict.get("USER") or "postgres"
    settings.DATABASE_APP_URL = f"postgres://{owner}:x@127.0.0.1:5432/x"
    with pytest.raises(CommandError, match="owner"):
        call_command("grant_app_role", stdout=io.StringIO())
    settings.DATABASE_APP_URL = ""
    with pytest.raises(CommandError, match="DATABASE_APP_URL"):
        call_command("grant_app_role", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_nightly_check_records_heads_and_alerts_staff_on_a_break(used, caplog):
    from django.core import mail

    from cases.services.audit_chain import audit_check

    factories.UserFactory(username="admin", email="admin@example.org", is_staff=True)
    first = audit_check()
    assert first.ok
    assert models.AuditChainHead.objects.filter(table="cases_accesslog").exists()
    assert any("head cases_accesslog" in r.getMessage() for r in caplog.records)
    assert mail.outbox == []
    # Someone rewrites the access log and recomputes its chain: it holds alone, but no longer
    # contains the head recorded last night.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_accesslog SET target = 'nothing to see'")
    rechain = importlib.import_module("cases.migrations.0006_audit_chains").chain_existing_rows
    rechain(django_apps, SimpleNamespace(connection=connection))
    second = audit_check()
    assert not second.ok and second.lost_heads
    [alert] = mail.outbox
    assert "admin@example.org" in alert.to
    assert "cases_accesslog" in alert.body
    assert any(
        r.levelname == "ERROR" and "AUDIT CHAIN BROKEN" in r.getMessage() for r in caplog.records
    )


def test_the_audit_check_is_scheduled():
    from advocacy.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "cases.verify_audit_chains" in tasks
