"""The email journey end to end: SMTP in, acknowledgement out, the live inbox, a macro reply, the customer's
emailed reply threading on, solving, the customer's confirmation and the ticket closing."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.choices import Role
from accounts.demo import DEMO_PASSWORD
from channels_app.smtp_listener import smtp_controller
from tests.accounts.factories import UserFactory
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from tests.support.browser import outside_event_loop
from tests.support.celery_worker import CeleryWorkerProcess
from tests.support.processes import free_port
from tests.support.smtp_sink import SmtpSink
from tickets.choices import MessageDirection, TicketStatus
from tickets.models import Macro, Message, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000
CUSTOMER = "marta.silva@example.org"
ORDER_NUMBER = "#20431"
TRACKING = "https://track.example.test/1Z999AA10123456784"


@pytest.fixture
def customer_mailbox():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mailing_worker(django_db_setup, transactional_db, customer_mailbox):
    """A real worker whose outgoing mail goes over SMTP to the customer's mailbox."""
    worker = CeleryWorkerProcess(
        extra_environment={
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(customer_mailbox.port),
        }
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def inbound_smtp(transactional_db):
    controller = smtp_controller(host="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def store(transactional_db):
    agent = UserFactory(email="alex@demo.helpdesk.test", first_name="Alex", role=Role.AGENT, password=DEMO_PASSWORD)
    customer = CustomerFactory(name="Marta Silva")
    CustomerIdentityFactory(customer=customer, value=CUSTOMER)
    order = OrderFactory(customer=customer, number=ORDER_NUMBER)
    OrderItemFactory(order=order, name="Linen shirt", sku="LIN-M-BLU")
    ShipmentFactory(
        order=order,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        tracking_url=TRACKING,
        estimated_delivery_at=timezone.now() + timedelta(days=2),
    )
    Macro.objects.create(
        name="Where is my order",
        body=(
            "Hi {{ customer.first_name|default:'there' }}, your order {{ order.number }} is on its way: "
            "{{ order.tracking_link }}"
        ),
    )
    return agent


def send_email(port: int, *, subject: str, body: str, message_id: str, in_reply_to: str | None = None) -> None:
    email = EmailMessage()
    email["From"] = f"Marta Silva <{CUSTOMER}>"
    email["To"] = "support@helpdesk.localhost"
    email["Subject"] = subject
    email["Message-ID"] = message_id
    if in_reply_to:
        email["In-Reply-To"] = in_reply_to
        email["References"] = in_reply_to
    email.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(email)


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("input[name=login]").fill("alex@demo.helpdesk.test")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(r"/inbox/$"), timeout=TIMEOUT_MS)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)


def test_an_email_conversation_from_first_message_to_closed(
    store, customer_mailbox, mailing_worker, inbound_smtp, asgi_live_server, artifacts_dir, browser
):
    # (Playwright starts last: while it runs, this thread may only reach the ORM through outside_event_loop.)
    page = browser.new_page()
    sign_in(page, asgi_live_server.url)

    # The customer writes; the ticket appears in the open inbox without a reload.
    send_email(
        inbound_smtp.port,
        subject="Where is my order #20431?",
        body="Hello, I ordered a linen shirt ten days ago (order #20431) and it has not arrived.",
        message_id="<first.marta@example.org>",
    )
    expect(page.locator("#inbox-rows")).to_contain_text("Where is my order #20431?", timeout=TIMEOUT_MS)
    ticket = outside_event_loop(lambda: Ticket.objects.select_related("order").get())
    assert ticket.order is not None
    assert ticket.order.number == ORDER_NUMBER

    # The acknowledgement reaches the customer's mailbox, threaded onto their message.
    acknowledgement = customer_mailbox.wait_for(
        lambda m: f"#{ticket.number}" in str(m["Subject"]) and "request number" in m.get_body(("plain",)).get_content(),
        what="acknowledgement",
    )
    assert acknowledgement["In-Reply-To"] == "<first.marta@example.org>"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"

    # The agent opens it and sees the order beside the conversation.
    page.locator("#inbox-rows a.subject", has_text="Where is my order #20431?").click()
    page.wait_for_url(re.compile(rf"/inbox/tickets/{ticket.number}/$"), timeout=TIMEOUT_MS)
    sidebar = page.locator("#customer-sidebar")
    expect(sidebar).to_contain_text(ORDER_NUMBER)
    expect(sidebar).to_contain_text("Linen shirt")
    expect(sidebar.locator(f'a[href="{TRACKING}"]')).to_be_visible()

    # A macro fills in the customer's name, the order and the tracking link; the agent sends it.
    page.locator("#macro-select").select_option(label="Where is my order")
    expect(page.locator("#macro-preview")).to_contain_text(f"Hi Marta, your order {ORDER_NUMBER} is on its way")
    page.screenshot(path=str(artifacts_dir / "e2e-email-journey-ticket.png"), full_page=True)
    page.locator("#apply-macro").click()
    expect(page.locator("#timeline")).to_contain_text("is on its way", timeout=TIMEOUT_MS)
    reply = customer_mailbox.wait_for(
        lambda m: "is on its way" in m.get_body(("plain",)).get_content(), what="agent reply"
    )
    assert TRACKING in reply.get_body(("plain",)).get_content()

    # The customer answers the agent's email: it threads onto the same ticket.
    send_email(
        inbound_smtp.port,
        subject=str(reply["Subject"]),
        body="Thank you, I can see it in the tracking now!",
        message_id="<second.marta@example.org>",
        in_reply_to=str(reply["Message-ID"]),
    )
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("I can see it in the tracking now", timeout=TIMEOUT_MS)
    assert outside_event_loop(lambda: Ticket.objects.count()) == 1

    # The agent solves it; the customer is asked to confirm and confirms; the ticket closes.
    page.locator("form[action$='/status/'] select").select_option("solved")
    page.locator("form[action$='/status/'] button").click()
    expect(page.locator("#ticket-status")).to_have_text("Solved", timeout=TIMEOUT_MS)
    confirmation = customer_mailbox.wait_for(
        lambda m: "/confirm/" in m.get_body(("plain",)).get_content(), what="solve confirmation request"
    )
    link = re.search(r"https?://\S+/requests/\S+/confirm/", confirmation.get_body(("plain",)).get_content()).group(0)
    customer_page = browser.new_page()
    customer_page.goto(asgi_live_server.url + link[link.index("/requests/") :])
    customer_page.locator("#confirm-solved").click()
    expect(customer_page.locator("#confirmation-result")).to_contain_text("is now closed", timeout=TIMEOUT_MS)
    customer_page.screenshot(path=str(artifacts_dir / "e2e-email-journey-confirmed.png"))

    ticket = outside_event_loop(lambda: Ticket.objects.get())
    assert ticket.status == TicketStatus.CLOSED
    directions = outside_event_loop(
        lambda: list(Message.objects.filter(ticket=ticket).order_by("id").values_list("direction", flat=True))
    )
    assert directions.count(MessageDirection.INBOUND) == 2
    assert directions.count(MessageDirection.OUTBOUND) == 3  # acknowledgement, macro reply, confirmation request
