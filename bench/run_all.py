"""Runs every bench script in sequence and passes their JSON figure lines through, one object per line.

Order: migrate, seed_scale (BENCH_TICKETS, default 1,000,000; skipped when the database already has
that many tickets), inbox_page, ticket_page, search, api_ticket_create (when present), smtp_inbound
with a Celery worker. Each script runs as its own subprocess with the same environment; a script that
fails is reported as an ``exit_code`` line and the rest still run. stdout carries JSON only; logs go to stderr.

``make bench`` runs this with embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SCRIPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("seed_scale", ("--skip-if-seeded",)),
    ("inbox_page", ()),
    ("ticket_page", ()),
    ("search", ()),
    ("api_ticket_create", ()),
    ("smtp_inbound", ("--with-worker",)),
)


def emit(line: dict) -> None:
    print(json.dumps(line), flush=True)


def run(name: str, arguments: tuple[str, ...], env: dict[str, str]) -> int:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / f"{name}.py"), *arguments],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
    for raw in process.stdout:
        line = raw.strip()
        try:
            figure = json.loads(line)
        except json.JSONDecodeError:
            figure = None
        if isinstance(figure, dict):
            emit(figure)
        elif line:
            print(f"{name}: {line}", file=sys.stderr, flush=True)
    code = process.wait()
    emit({"bench": name, "metric": "script_seconds", "value": round(time.monotonic() - started, 1), "unit": "s"})
    if code:
        emit({"bench": name, "metric": "exit_code", "value": code, "unit": "code"})
    return code


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    env.setdefault("BENCH_TICKETS", "1000000")
    env.setdefault("LOG_LEVEL", "WARNING")
    started = time.monotonic()
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "1"],
        cwd=REPO_ROOT,
        env=env,
        stdout=sys.stderr,
        check=False,
    )
    if migrate.returncode:
        emit({"bench": "run_all", "metric": "migrate_exit_code", "value": migrate.returncode, "unit": "code"})
        return migrate.returncode
    failures = 0
    for name, arguments in SCRIPTS:
        if not (BENCH_DIR / f"{name}.py").exists():
            print(f"run_all: {name}.py is not there; skipped", file=sys.stderr, flush=True)
            continue
        print(f"run_all: {name}", file=sys.stderr, flush=True)
        failures += bool(run(name, arguments, env))
    emit({"bench": "run_all", "metric": "seconds", "value": round(time.monotonic() - started, 1), "unit": "s"})
    emit({"bench": "run_all", "metric": "failed_scripts", "value": failures, "unit": "scripts"})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
