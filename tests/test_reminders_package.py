"""The reminders package: four parts that each do one thing, imported one way only.

``planning`` and ``messages`` never reach into ``delivery``; nothing in the package imports
``cases.tasks`` (whose tasks are thin entry points over it), so no import cycle can come back.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cases" / "services" / "reminders"
NAME = "cases.services.reminders"

# Which parts each part may import. Anything not listed is forbidden.
ALLOWED = {
    "common": set(),
    "enqueue": set(),
    "calendar": {"common"},
    "messages": {"common", "calendar"},
    "planning": {"common", "enqueue"},
    "smtp": set(),
    "recovery": {"enqueue", "smtp"},
    "delivery": {"common", "enqueue", "messages", "planning", "recovery", "smtp"},
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{NAME}.{base}" if base else NAME
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def parts_imported(path: Path) -> set[str]:
    prefix = f"{NAME}."
    return {
        module[len(prefix) :].split(".")[0]
        for module in imports_of(path)
        if module.startswith(prefix) and module[len(prefix) :].split(".")[0] in ALLOWED
    }


def test_every_part_is_known_and_none_is_too_big():
    parts = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert parts == set(ALLOWED)
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 700, f"{path.name} should be split again"


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_it_may(part):
    used = parts_imported(PACKAGE / f"{part}.py")
    assert used <= ALLOWED[part], f"{part} imports {sorted(used - ALLOWED[part])}"
    assert not any(
        m == "cases.tasks" or m.startswith("cases.tasks.")
        for m in imports_of(PACKAGE / f"{part}.py")
    ), f"{part} imports cases.tasks"


def test_the_allowed_graph_has_no_cycle():
    done: set[str] = set()

    def visit(part: str, path: tuple[str, ...]) -> None:
        assert part not in path, f"cycle: {' -> '.join((*path, part))}"
        for used in ALLOWED[part]:
            visit(used, (*path, part))
        done.add(part)

    for part in ALLOWED:
        visit(part, ())


def test_tasks_are_thin_entry_points_over_the_package():
    tasks = ROOT / "cases" / "tasks.py"
    used = {m for m in imports_of(tasks) if m.startswith(f"{NAME}.")}
    # Tasks call the package's public functions, never a part's internals.
    assert all(m.split(".")[-1][0] != "_" for m in used), used
    for node in ast.walk(ast.parse(tasks.read_text())):
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            body = [s for s in node.body if not isinstance(s, ast.Expr)]  # less the docstring
            assert len(body) <= 4, f"task {node.name} holds logic; move it to a service"


def test_importing_the_package_does_not_import_the_tasks():
    code = (
        "import django, sys; django.setup(); "
        f"import {NAME}, {NAME}.delivery, {NAME}.planning; "
        "print('cases.tasks' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **__import__("os").environ,
            "DJANGO_SETTINGS_MODULE": "advocacy.settings",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
