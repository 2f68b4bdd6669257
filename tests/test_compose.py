"""docker-compose.yml, the Dockerfile and .env.example against the application itself.

Docker does not run where the tests run, so this reads the files and checks what Docker would
only find out at start-up: that every command names a real entry point with options its program
accepts, that every environment variable is a setting the application reads (and every setting
is in the example), that beat runs once, that each service says how to tell it is healthy, and
that the documents land on a volume.
"""

import ast
import json
import re
import shlex
import warnings
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
# Read by docker-compose.yml itself (interpolation), not by the application.
COMPOSE_ONLY_VARIABLES = {"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD", "DATABASE_OWNER_URL"}


# --- Reading the files -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def settings_variables() -> set[str]:
    """Every environment variable advocacy/settings.py reads, found in its syntax tree."""
    tree = ast.parse((ROOT / "advocacy" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        first = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            on_environ = isinstance(func, ast.Attribute) and _is_environ(func.value)
            if called in {"env_str", "env_bool", "env_int", "env_list"} or (
                on_environ and called == "get"
            ):
                first = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            first = node.slice
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def _is_environ(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def env_example() -> dict[str, str]:
    """Variables of .env.example, set or commented out ("# NAME=default")."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def dockerfile_env() -> dict[str, str]:
    """The environment of the final stage, the one the containers run."""
    steps = dockerfile()
    last_from = max(i for i, (instruction, _) in enumerate(steps) if instruction == "FROM")
    env = {}
    for instruction, rest in steps[last_from:]:
        if instruction == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def interpolated(value: str) -> set[str]:
    """Variables compose substitutes in a value ($$ is a literal dollar)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", value))


def default_of(value: str) -> str:
    """``${NAME:-default}`` -> default (one level; inner variables left as they are)."""
    match = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-(.*)\}", value)
    return match[1] if match else value


# --- Programs and their options --------------------------------------------------------------
def parse_celery(args: list[str]):
    """Celery's own command-line parser on ``celery -A app <command> ...``: unknown options
    or a missing app fail here as they would in the container."""
    from celery.app.utils import find_app
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery as cli

    assert args[0] == "celery"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # click's protected_args
        context = cli.make_context("celery", list(args[1:]))
        app = find_app(context.params["app"])
        context.obj = CLIContext(app=app, no_color=True, workdir=None)
        rest = [*context.protected_args, *context.args]
    command = cli.get_command(context, rest[0])
    assert command is not None, f"celery has no command {rest[0]!r}"
    return app, rest[0], command.make_context(rest[0], rest[1:], parent=context).params


def parse_gunicorn(args: list[str]):
    from gunicorn.config import Config

    assert args[0] == "gunicorn"
    return Config().parser().parse_args(args[1:])


# --- The processes ---------------------------------------------------------------------------
def test_the_services_are_the_ones_the_documentation_describes(services):
    assert set(services) == {"migrate", "web", "worker", "beat", "db", "redis", "mailpit"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_the_three_processes_share_one_image(services):
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    assert all(services[name].get("build") == "." for name in APP_SERVICES)


def test_web_runs_gunicorn_on_the_wsgi_application(services):
    import importlib

    options = parse_gunicorn(services["web"]["command"])
    [target] = options.args
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute or "application"))
    assert module_name == settings.WSGI_APPLICATION.rpartition(".")[0]
    assert options.workers == 2
    [bind] = options.bind
    port = bind.rpartition(":")[2]
    assert any(str(p).endswith(f":{port}") for p in services["web"]["ports"])
    assert services["web"]["healthcheck"]["test"][-1].endswith(f":{port}")
    assert ("EXPOSE", port) in dockerfile()


def test_worker_and_beat_run_the_project_celery_app(services):
    from advocacy.celery import app as project_app

    app, command, options = parse_celery(services["worker"]["command"])
    assert app is project_app and command == "worker"
    assert not options.get("beat"), "beat must not be embedded in a worker (it would run twice)"

    app, command, _ = parse_celery(services["beat"]["command"])
    assert app is project_app and command == "beat"


def test_beat_runs_exactly_once(services):
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "scale" not in services["beat"]
    for name in ("web", "worker"):
        assert "beat" not in services[name]["command"]
        assert "-B" not in services[name]["command"]


def test_the_image_starts_the_web_server_as_compose_does(services):
    [cmd] = [rest for instruction, rest in dockerfile() if instruction == "CMD"]
    assert json.loads(cmd) == services["web"]["command"]
    assert not [rest for instruction, rest in dockerfile() if instruction == "ENTRYPOINT"]


def test_the_image_is_multi_stage_slim_and_not_root():
    steps = dockerfile()
    args = dict(rest.split("=", 1) for instruction, rest in steps if instruction == "ARG")
    stages = [
        rest.split()[0].replace("${PYTHON_IMAGE}", args["PYTHON_IMAGE"])
        for i, rest in steps
        if i == "FROM"
    ]
    assert len(stages) >= 2
    assert stages[-1] == "python:3.11-slim"
    runs = " ".join(rest for instruction, rest in steps if instruction == "RUN")
    assert "uv sync --frozen --no-dev" in runs
    assert "collectstatic" in runs
    [user] = [rest for instruction, rest in steps if instruction == "USER"]
    assert user not in {"root", "0"}
    assert dockerfile_env()["STATIC_MANIFEST"] == "1"


def test_every_service_says_how_to_tell_it_is_healthy(services):
    from advocacy import health

    for name, service in services.items():
        if service.get("restart") == "no":
            continue  # a one-shot service (migrate): its exit status is its health
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no health check"
    # The application's own probes name checks that exist.
    for name in ("web", "beat"):
        test = services[name]["healthcheck"]["test"]
        assert test[1:4] == ["python", "-m", "advocacy.health"]
        probe = test[4:]
        assert probe[:1] == ["--http"] or set(probe) <= set(health.CHECKS)
    assert "celery -A advocacy inspect ping" in services["worker"]["healthcheck"]["test"][1]


# --- Settings --------------------------------------------------------------------------------
def test_compose_sets_only_settings_the_application_reads(services):
    known = settings_variables()
    for name in APP_SERVICES:
        unknown = set(environment(services[name])) - known
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"


def test_the_example_env_file_has_every_setting_and_nothing_else():
    known = settings_variables()
    example = set(env_example())
    assert known - example == set(), "add these settings to .env.example"
    assert example - known - COMPOSE_ONLY_VARIABLES == set(), "no setting reads these"
    assert set(dockerfile_env()) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= known


def test_every_variable_compose_interpolates_is_in_the_example(compose):
    example = env_example()
    used = interpolated(json.dumps(compose))
    assert used <= set(example), used - set(example)
    # Values that must be chosen per installation are empty in the example, never a default
    # that would work.
    assert example["SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""


def test_the_default_services_are_the_ones_in_this_file(services):
    env = environment(services["web"])
    database = default_of(env["DATABASE_URL"])
    db_env = environment(services["db"])
    assert database == (
        f"postgres://advocacy_app:${{POSTGRES_APP_PASSWORD}}@db:5432/{db_env['POSTGRES_DB']}"
    )
    owner = default_of(environment(services["migrate"])["DATABASE_URL"])
    assert owner == (
        f"postgres://{db_env['POSTGRES_USER']}:${{POSTGRES_PASSWORD}}@db:5432/"
        f"{db_env['POSTGRES_DB']}"
    )
    assert default_of(env["CELERY_BROKER_URL"]).startswith("redis://redis:6379/")
    example = env_example()
    assert example["EMAIL_HOST"] == "mailpit" and example["EMAIL_PORT"] == "1025"


# --- Volumes ---------------------------------------------------------------------------------
def test_documents_and_the_database_are_on_named_volumes(compose, services):
    # The settings the image relies on: documents and static files live under DATA_DIR.
    assert settings.MEDIA_ROOT == settings.DATA_DIR / "documents"
    assert settings.STATIC_ROOT == settings.DATA_DIR / "static"
    data_dir = dockerfile_env()["DATA_DIR"]
    for name in ("web", "worker"):
        assert environment(services[name])["DATA_DIR"] == data_dir
        assert f"documents:{data_dir}/documents" in services[name]["volumes"]
    assert "database:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert {"database", "documents"} <= set(compose["volumes"])


# --- Database roles ----------------------------------------------------------------------------
def test_the_processes_connect_as_a_role_that_does_not_own_the_tables(services):
    """Only the one-shot migrate service uses the owner; web, worker and beat use the role
    that grant_app_role leaves unable to rewrite the audit tables
    (tests/test_audit_chain.py proves that on PostgreSQL)."""
    owner = environment(services["db"])["POSTGRES_USER"]
    migrate = services["migrate"]
    app_url = default_of(environment(migrate)["DATABASE_APP_URL"])
    app_user = re.match(r"postgres://([^:]+):", app_url)[1]
    assert app_user != owner
    for name in APP_SERVICES:
        url = default_of(environment(services[name])["DATABASE_URL"])
        assert re.match(r"postgres://([^:]+):", url)[1] == app_user, name
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    script = " ".join(migrate["command"])
    assert "manage.py migrate" in script
    assert script.index("manage.py migrate") < script.index("manage.py grant_app_role")
    from django.core.management import get_commands

    assert "grant_app_role" in get_commands()


def test_the_image_has_what_pdf_dossiers_need():
    # WeasyPrint loads Pango at run time; without it, or without fonts for Hangul and
    # Cyrillic, dossiers fail or show empty boxes. .ci/run installs the same packages.
    installed = " ".join(rest for instruction, rest in dockerfile() if instruction == "RUN")
    ci = (ROOT / ".ci" / "run").read_text()
    for package in (
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
        "libharfbuzz-subset0",
        "fonts-noto-cjk",
        "fonts-dejavu-core",
    ):
        assert package in installed, package
        assert package in ci, package
