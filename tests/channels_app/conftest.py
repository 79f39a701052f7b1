"""The helpdesk the email corpus arrives at: customers with tickets, messages and orders it refers to."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.customers.factories import CustomerIdentityFactory
from tests.orders.factories import OrderFactory
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.choices import MessageDirection, TicketStatus
from tickets.models import Ticket

EMAILS = Path(__file__).parent / "emails"
SUPPORT = "support@helpdesk.localhost"


def corpus_email(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


@dataclass
class Desk:
    tickets: dict[int, Ticket]
    klaus_order_id: int


def _customer(email: str, name: str):
    return CustomerIdentityFactory(value=email, customer__name=name).customer


def _ticket(number: int, email: str, name: str, subject: str, status: str = TicketStatus.OPEN, **fields) -> Ticket:
    return TicketFactory(number=number, customer=_customer(email, name), subject=subject, status=status, **fields)


def _message(ticket: Ticket, external_message_id: str, direction: str = MessageDirection.OUTBOUND) -> None:
    MessageFactory(ticket=ticket, direction=direction, external_message_id=external_message_id)


@pytest.fixture
def desk(db, settings, tmp_path) -> Desk:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_INBOUND_MAX_ATTACHMENT_BYTES = 64 * 1024
    settings.EMAIL_INBOUND_MAX_TOTAL_ATTACHMENT_BYTES = 128 * 1024
    maria = _ticket(70001, "maria@example.test", "Maria Lopez", "Where is my order?", TicketStatus.PENDING)
    _message(maria, "<a1b2c3d4.t70001@helpdesk.localhost>")
    john = _ticket(70002, "john.smith@contoso.example", "John Smith", "Refund for damaged kettle")
    hannah = _ticket(70003, "hannah@fabrikam.example", "Hannah Weber", "Torn jacket")
    lea = _ticket(70004, "lea@icloud.example", "Léa Fontaine", "Replacement shipping address", TicketStatus.SOLVED)
    _message(lea, "<9F1E6A2B-0C4D-4E1F-8A3B-5D6C7E8F9A0B@icloud.example>", MessageDirection.INBOUND)
    _message(lea, "<e5f6a7b8.t70004@helpdesk.localhost>")
    carmen = _ticket(70005, "carmen@correo.example", "Carmen Ruiz", "Talla equivocada")
    _message(carmen, "<CAF=es-original-1@mail.correo.example>", MessageDirection.INBOUND)
    amelie = _ticket(70006, "amelie@orange.example", "Amélie Durand", "Colis en retard")
    amelie.order = OrderFactory(number="#10234", customer=amelie.customer)
    amelie.save(update_fields=["order"])
    OrderFactory(number="#10234-other", customer=amelie.customer)
    klaus = _customer("klaus@web.example", "Klaus Müller")
    klaus_order = OrderFactory(number="10235", customer=klaus)
    jane = _ticket(70007, "j.doe@acme.example", "Jane Doe", "Bulk order discount", TicketStatus.PENDING)
    _message(jane, "<f00d0001.t70007@helpdesk.localhost>")
    gone = _ticket(70008, "gone@example.test", "Gone Away", "Gift card balance")
    _message(gone, "<dead0001.t70008@helpdesk.localhost>")
    sam = _ticket(70009, "sam@example.test", "Sam Taylor", "Headphones not charging", TicketStatus.CLOSED)
    tickets = {t.number: t for t in (maria, john, hannah, lea, carmen, amelie, jane, gone, sam)}
    return Desk(tickets=tickets, klaus_order_id=klaus_order.pk)


@pytest.fixture
def acknowledgements(monkeypatch):
    """Run the acknowledgement sender in-process when ingest wakes it; record which tickets got one, in order."""
    from tickets import tasks
    from tickets.models import AutoAcknowledgement

    acknowledged: list[int] = []

    def run_now(**task: float) -> None:
        tasks.send_owed_acknowledgements_task(**task)
        new = AutoAcknowledgement.objects.exclude(ticket_id__in=acknowledged).order_by("pk")
        acknowledged.extend(new.values_list("ticket_id", flat=True))

    monkeypatch.setattr(tasks.send_owed_acknowledgements_task, "delay", run_now)
    monkeypatch.setattr(tasks.deliver_message_task, "delay", lambda message_id: None)
    return acknowledged


UNSTORABLE_MESSAGE_ID = "<" + "x" * 1186 + "@example.test>"  # longer than the 998 the column holds


@pytest.fixture
def unstorable(monkeypatch):
    """A message whose subject says "unstorable" reaches ingest with a Message-ID the database refuses.

    As if parsing had let one through: PostgreSQL raises a real DataError inside ingest's transaction.
    """
    from dataclasses import replace

    from channels_app import email_inbound

    real_ingest = email_inbound.ingest

    def ingest(*, inbound):
        if "unstorable" in inbound.subject:
            inbound = replace(inbound, external_message_id=UNSTORABLE_MESSAGE_ID)
        return real_ingest(inbound=inbound)

    monkeypatch.setattr(email_inbound, "ingest", ingest)
