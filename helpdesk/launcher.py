"""``make run``: start the embedded servers if needed, migrate, seed once, then run the Procfile."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _manage(*args: str, environment: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=environment)


def main() -> int:
    VAR_DIR.mkdir(exist_ok=True)
    port = int(os.environ.get("PORT", "8000"))
    lock_file = (VAR_DIR / "run.lock").open("a+")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("The helpdesk is already running from this folder (another `make run`); use that one or stop it first.")
        return 1
    if not _port_is_free(port):
        print(f"Port {port} on 127.0.0.1 is already in use by another program; free it or run `make run PORT=8001`.")
        return 1

    environment = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="helpdesk.settings.local",
        PORT=str(port),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    embedded = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    if embedded:
        from helpdesk.embedded import ensure_embedded_services

        services = ensure_embedded_services(VAR_DIR)
        if not os.environ.get("DATABASE_URL"):
            environment["DATABASE_URL"] = services.database_url
        if not os.environ.get("REDIS_URL"):
            environment["REDIS_URL"] = services.redis_url
        print(f"Embedded PostgreSQL and Redis are running with their data in {VAR_DIR}.")

    try:
        try:
            _manage("migrate", "--noinput", "-v", "0", environment=environment)
            _manage("seed_demo", "--once", environment=environment)
            _manage("collectstatic", "--noinput", "-v", "0", environment=environment)
            _manage("demo_logins", f"--base-url=http://127.0.0.1:{port}", environment=environment)
        except subprocess.CalledProcessError as error:
            print(f"`manage.py {error.cmd[2]}` failed (see above); nothing was started.")
            return 1
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", str(BASE_DIR / "Procfile")],
            env=environment,
            cwd=BASE_DIR,
        )
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # The terminal sent SIGINT to the whole group; honcho stops its processes.
            with contextlib.suppress(KeyboardInterrupt):
                honcho.send_signal(signal.SIGINT)
                return honcho.wait()
            return 130
    finally:
        if embedded:
            from helpdesk.embedded import stop_embedded_services

            with contextlib.suppress(KeyboardInterrupt):
                stop_embedded_services(VAR_DIR)
                print("Embedded PostgreSQL and Redis stopped; the data stays in var/ for the next run.")


if __name__ == "__main__":
    sys.exit(main())
