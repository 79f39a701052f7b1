"""An agent's main journey in Chromium: password, TOTP code, the live inbox, on a desktop and a phone."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.choices import Role
from accounts.demo import DEMO_PASSWORD
from channels_app import realtime
from tests.accounts.factories import UserFactory
from tests.support.browser import outside_event_loop
from tests.tickets.factories import TicketFactory
from tickets.services.ingest import InboundMessage, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_SUBJECTS = ("Parcel stuck in customs", "Wrong colour delivered", "Refund for order #1042")
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class DemoWorkspace:
    agent_id: int
    email: str
    password: str
    totp_secret: str


def current_totp_code(secret: str) -> str:
    """What the agent's authenticator app shows now (RFC 6238, 30-second steps, as allauth checks)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def demo_workspace(transactional_db) -> DemoWorkspace:
    # A fresh Redis database (no socket is open yet): the inbox's and the agent's own event
    # counters both start from 0, so they overlap, as they do on a new installation.
    cache.clear()
    agent = UserFactory(
        email="agent@demo.helpdesk.test", first_name="Alex", last_name="Agent", role=Role.AGENT, password=DEMO_PASSWORD
    )
    secret = generate_totp_secret()
    TOTP.activate(agent, secret)
    for subject in DEMO_SUBJECTS:
        TicketFactory(subject=subject)
    return DemoWorkspace(agent_id=agent.pk, email=agent.email, password=DEMO_PASSWORD, totp_secret=secret)


def sign_in(page: Page, *, base_url: str, workspace: DemoWorkspace) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("input[name=login]").fill(workspace.email)
    page.locator("input[name=password]").fill(workspace.password)
    page.locator("input[name=password]").press("Enter")

    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"), timeout=TIMEOUT_MS)
    page.locator("input[name=code]").fill(current_totp_code(workspace.totp_secret))
    page.locator("input[name=code]").press("Enter")
    page.wait_for_url(re.compile(r"/inbox/$"), timeout=TIMEOUT_MS)


def expect_live_inbox(page: Page) -> None:
    for subject in DEMO_SUBJECTS:
        expect(page.locator("#inbox-rows")).to_contain_text(subject, timeout=TIMEOUT_MS)
    expect(page.locator("#live-status")).to_have_text("Live", timeout=TIMEOUT_MS)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def new_email_ticket(subject: str) -> None:
    ingest(
        inbound=InboundMessage(
            channel="email",
            sender_kind="email",
            sender_address=f"{uuid.uuid4().hex[:10]}@customers.test",
            body_text="Hello, I still have not received my order.",
            subject=subject,
            external_message_id=f"<{uuid.uuid4().hex}@customers.test>",
        )
    )


def mention(user_id: int) -> None:
    realtime.publish_now(group=realtime.staff_group(user_id), event_type="notification.mention", payload={})


# Argument order matters: the data is written before the browser (and its event loop) starts.
def test_agent_signs_in_with_totp_and_works_the_live_inbox(asgi_live_server, demo_workspace, browser, artifacts_dir):
    console_errors: list[str] = []
    desktop = browser.new_context(viewport={"width": 1280, "height": 800})
    page = desktop.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))

    sign_in(page, base_url=asgi_live_server.url, workspace=demo_workspace)

    expect(page).to_have_title("Inbox")
    expect(page.locator(".who")).to_contain_text("Alex Agent")
    expect_live_inbox(page)
    page.screenshot(path=artifacts_dir / "e2e-agent-inbox.png", full_page=True)

    # The same signed-in agent on a phone: same session, phone-sized viewport and touch.
    phone = browser.new_context(storage_state=desktop.storage_state(), viewport=PHONE, is_mobile=True, has_touch=True)
    phone_page = phone.new_page()
    phone_page.goto(f"{asgi_live_server.url}/inbox/")
    expect_live_inbox(phone_page)
    page_width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"], f"the inbox scrolls sideways on a phone ({page_width}px wide)"
    expect(phone_page.locator("nav.nav a", has_text="Inbox")).to_be_visible()
    newest_row = phone_page.locator("#inbox-rows tr.ticket-row").first
    expect(newest_row).to_contain_text(DEMO_SUBJECTS[-1])
    newest_row.scroll_into_view_if_needed()
    box = newest_row.bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= PHONE["width"]
    phone_page.screenshot(path=artifacts_dir / "e2e-agent-inbox-phone.png", full_page=True)

    # A colleague mentions the agent (their own numbered stream on the same socket), then a
    # customer writes in while both pages are open: the ticket shows up without a reload.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    for _ in range(3):
        outside_event_loop(mention, demo_workspace.agent_id)
    outside_event_loop(new_email_ticket, "My parcel went to the wrong address")

    expect(page.locator("#inbox-rows")).to_contain_text("My parcel went to the wrong address", timeout=TIMEOUT_MS)
    expect(phone_page.locator("#inbox-rows")).to_contain_text("My parcel went to the wrong address", timeout=TIMEOUT_MS)
    assert navigations == []
    expect(page.locator("#live-status")).to_have_text("Live")
    assert console_errors == [], "\n".join(console_errors)
