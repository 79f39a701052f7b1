"""Fixtures for browser tests: one check that Chromium exists, then a fresh Playwright per test."""

from __future__ import annotations

import pytest

from tests.support.browser import ARTIFACTS_DIR, CHROMIUM_ARGS, HOW_TO_GET_CHROMIUM, find_chromium


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail(HOW_TO_GET_CHROMIUM, pytrace=False)
    return path


@pytest.fixture
def browser(chromium_executable):
    # Per test, not per session: Playwright's sync API marks an event loop as running in this
    # thread for as long as it is started, and Django refuses synchronous ORM calls under one.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
