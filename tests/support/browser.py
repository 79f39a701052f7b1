"""Chromium for the end-to-end tests: where to find it, how to launch it, and running Django beside it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from django.db import connections

from tests.support.processes import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
HOW_TO_GET_CHROMIUM = (
    "Browser tests need Chromium: `apt-get install chromium` (Debian) or set CHROMIUM_PATH to a Chromium binary."
)
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"

Result = TypeVar("Result")


def _playwright_chromium() -> str | None:
    """A browser Playwright installed itself, if any (we never download one)."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            candidate = playwright.chromium.executable_path
    except Exception:  # any failure just means none is installed
        return None
    return candidate if candidate and Path(candidate).is_file() else None


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return _playwright_chromium()


def outside_event_loop(function: Callable[..., Result], /, *args: object, **kwargs: object) -> Result:
    """Run Django code in a plain thread.

    Playwright's sync API keeps an asyncio loop marked as running in the test's thread, so the
    ORM would refuse to run there and ``async_to_sync`` (used to publish realtime events) would
    raise. A short-lived thread has no loop; with ``transactional_db`` its writes are committed
    and visible to the server process.
    """

    def run() -> Result:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(run).result()
