"""The live parts of the inbox and the ticket page in Chromium."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, WebSocketRoute, expect

from accounts.choices import Role
from channels_app import realtime
from tests.accounts.factories import UserFactory
from tests.support.browser import outside_event_loop
from tests.tickets.factories import TicketFactory
from tickets.services.ingest import InboundMessage, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class SignedInAgent:
    user_id: int
    session_key: str
    ticket_number: int


@pytest.fixture
def signed_in_agent(transactional_db) -> SignedInAgent:
    agent = UserFactory(role=Role.AGENT, first_name="Alex", last_name="Agent")
    ticket = TicketFactory(subject="Parcel stuck in customs")
    client = Client()
    client.force_login(agent)
    return SignedInAgent(
        user_id=agent.pk, session_key=client.cookies[settings.SESSION_COOKIE_NAME].value, ticket_number=ticket.number
    )


def _signed_in_context(browser: Browser, base_url: str, agent: SignedInAgent) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": agent.session_key, "url": base_url}])
    return context


def _new_email_ticket(subject: str) -> None:
    ingest(
        inbound=InboundMessage(
            channel="email",
            sender_kind="email",
            sender_address=f"{uuid.uuid4().hex[:10]}@customers.test",
            body_text="Hello, where is my order?",
            subject=subject,
            external_message_id=f"<{uuid.uuid4().hex}@customers.test>",
        )
    )


# Argument order matters: the data is written before the browser (and its event loop) starts.
def test_the_inbox_reads_its_rows_again_and_stays_live_when_the_event_counter_started_again(
    asgi_live_server, signed_in_agent, browser
):
    counter = realtime._sequence_key(realtime.AGENT_INBOX_GROUP)
    realtime.redis_client().set(counter, 500)
    page = _signed_in_context(browser, asgi_live_server.url, signed_in_agent).new_page()

    def counter_lost_before_hello(socket: WebSocketRoute) -> None:
        # The page was rendered with the counter at 500; Redis restarts before its socket says hello.
        realtime.redis_client().delete(counter)
        socket.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/inbox/$"), counter_lost_before_hello)
    page.goto(f"{asgi_live_server.url}/inbox/")
    expect(page.locator("#inbox")).to_have_attribute("data-seq", "500")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)

    outside_event_loop(_new_email_ticket, "Written in after the restart")

    expect(page.locator("#inbox-rows")).to_contain_text("Written in after the restart", timeout=TIMEOUT_MS)
    expect(page.locator("#inbox-rows")).to_contain_text("Parcel stuck in customs")


def test_an_agent_typing_a_long_reply_stays_listed_as_typing(asgi_live_server, signed_in_agent, browser):
    page = _signed_in_context(browser, asgi_live_server.url, signed_in_agent).new_page()
    sent: list[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(json.loads(payload))))
    page.clock.install()
    with page.expect_websocket() as opened:
        page.goto(f"{asgi_live_server.url}/inbox/tickets/{signed_in_agent.ticket_number}/")
    opened.value.wait_for_event("framereceived", timeout=TIMEOUT_MS)  # the socket is open: presence came
    reply_box = page.locator("#reply-form textarea")

    for _second in range(65):  # a key a second for over a minute: past the presence list's expiry
        page.clock.run_for(1000)
        reply_box.press_sequentially("a")
    page.clock.run_for(5000)  # then a pause: back to viewing
    page.wait_for_timeout(500)

    assert [frame["action"] for frame in sent] == ["typing", "typing", "typing", "viewing"]


def _mention(user_id: int) -> None:
    realtime.publish_now(
        group=realtime.staff_group(user_id),
        event_type="notification.mention",
        payload={"number": 1042, "by": "Bea Roy", "excerpt": "@alex can you take this one?"},
    )


def test_a_mention_reaches_an_agent_working_on_a_ticket_page(asgi_live_server, signed_in_agent, browser):
    page = _signed_in_context(browser, asgi_live_server.url, signed_in_agent).new_page()
    with page.expect_websocket() as opened:
        page.goto(f"{asgi_live_server.url}/inbox/tickets/{signed_in_agent.ticket_number}/")
    opened.value.wait_for_event("framereceived", timeout=TIMEOUT_MS)  # the socket is open: presence came

    outside_event_loop(_mention, signed_in_agent.user_id)

    expect(page.locator("#notifications")).to_have_text(
        "Bea Roy mentioned you on #1042: @alex can you take this one?", timeout=TIMEOUT_MS
    )


def _colleague_notes(ticket_number: int) -> None:
    from tickets.models import Ticket
    from tickets.services.conversation import ticket_add_note

    colleague = UserFactory(role=Role.AGENT, first_name="Bea", last_name="Roy")
    ticket = Ticket.objects.get(number=ticket_number)
    ticket_add_note(ticket_id=ticket.pk, author=colleague, body_text="I refunded the shipping already.")


def test_a_change_made_while_the_ticket_pages_socket_was_down_shows_the_new_activity_notice_after_it_reconnects(
    asgi_live_server, signed_in_agent, browser, artifacts_dir
):
    page = _signed_in_context(browser, asgi_live_server.url, signed_in_agent).new_page()
    to_server: list[WebSocketRoute] = []
    hellos: list[dict] = []

    def through_to_server(socket: WebSocketRoute) -> None:
        if to_server:
            # The page's socket is down: a colleague adds a note before it comes back.
            outside_event_loop(_colleague_notes, signed_in_agent.ticket_number)
        server = socket.connect_to_server()
        to_server.append(server)

        def relay(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "hello":
                hellos.append(frame)
            socket.send(message)

        server.on_message(relay)

    page.route_web_socket(re.compile(r"/ws/tickets/\d+/$"), through_to_server)
    page.goto(f"{asgi_live_server.url}/inbox/tickets/{signed_in_agent.ticket_number}/")
    seen_at = int(page.locator("#ticket-main").get_attribute("data-seq"))
    for _wait in range(300):  # Playwright delivers the socket's frames while the page waits
        if hellos:
            break
        page.wait_for_timeout(50)
    assert hellos == [{"type": "hello", "seq": seen_at}]  # nothing to catch up on yet
    stale_banner = page.locator("#stale-banner")
    expect(stale_banner).to_be_hidden()

    to_server[0].close()  # the server goes away; the page reconnects on its own

    expect(stale_banner).to_be_visible(timeout=TIMEOUT_MS)
    assert len(hellos) == 2
    assert hellos[1]["seq"] > seen_at
    page.screenshot(path=artifacts_dir / "ticket-page-caught-up-after-reconnect.png")
