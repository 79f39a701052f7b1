"""Every email of the corpus through email_receive: where it lands, what the agent sees, what is kept."""

from dataclasses import dataclass, field

import pytest

from channels_app.email_inbound import email_receive
from channels_app.models import QuarantinedEmail
from tests.channels_app.conftest import SUPPORT, corpus_email
from tickets.choices import MessageDirection, TicketStatus
from tickets.models import AutoAcknowledgement, Message, Ticket

NEW, JOINED, NOTE, QUARANTINE = "new ticket", "joined ticket", "note", "quarantine"


@dataclass(frozen=True)
class Landing:
    where: str
    ticket: int | None = None  # the ticket joined (or noted on)
    shown: str = ""
    quoted: str = ""
    # (filename, content type, size, content id, is inline, refusal reason)
    attachments: tuple[tuple[str, str, int, str, bool, str], ...] = ()
    is_acknowledged: bool = False
    status_after: str | None = None
    subject: str = ""
    customer: str = ""
    order: str | None = None
    reason: str = ""
    follows_up: int | None = None
    extra: dict = field(default_factory=dict)


CASES = {
    "gmail_reply.eml": Landing(
        JOINED,
        ticket=70001,
        shown="Thanks! The tracking page still says \u201clabel created\u201d though.\n\nMaria",
        quoted=(
            "On Mon, 3 Feb 2025 at 10:12, Helpdesk Support <support@helpdesk.localhost>\nwrote:\n\n"
            "> Hello Maria,\n>\n> Your parcel left our warehouse today.\n>\n> Best regards,\n> Helpdesk\n>"
        ),
        status_after=TicketStatus.OPEN,  # a customer's reply reopens a pending ticket
    ),
    "outlook_reply.eml": Landing(
        JOINED,
        ticket=70002,
        shown=(
            "Hello,\n\nThe replacement kettle arrived but it leaks too. Can I get a refund instead?\n\n"
            "Kind regards,\nJohn Smith\nContoso Ltd."
        ),
        quoted=(
            "-----Original Message-----\nFrom: Helpdesk Support <support@helpdesk.localhost>\n"
            "Sent: Monday, February 3, 2025 4:02 PM\nTo: John Smith <john.smith@contoso.example>\n"
            "Subject: Re: Refund for damaged kettle [#70002]\n\nHello John,\n\nWe have sent a replacement."
        ),
        status_after=TicketStatus.OPEN,
    ),
    "outlook_html_only_reply.eml": Landing(
        JOINED,
        ticket=70003,
        shown="Hi,\n\nI\u2019ve attached the photo you asked for. The seam on the left sleeve is open.\n\nHannah",
        quoted=(
            "From: Helpdesk Support <support+t70003@helpdesk.localhost>\nSent: Monday, 3 February 2025 17:20\n"
            "To: Hannah Weber <hannah@fabrikam.example>\nSubject: Re: Torn jacket [#70003]\n\n"
            "Hello Hannah, could you send us a photo of the damage?"
        ),
    ),
    "apple_mail_reply.eml": Landing(
        JOINED,
        ticket=70004,
        shown=(
            "Yes, please send the replacement to my office address instead: Rue du Rh\u00f4ne 12, 1204 Gen\u00e8ve. "
            "I am there from 9 to 5 on weekdays.\n\nL\u00e9a\n\nSent from my iPhone"
        ),
        quoted=(
            "On 3 Feb 2025, at 18:45, Helpdesk Support <support@helpdesk.localhost> wrote:\n\n"
            "> Hello L\u00e9a, would you like us to ship the replacement to the same address?"
        ),
        status_after=TicketStatus.OPEN,  # solved, reopened by the customer's answer
    ),
    "spanish_followup.eml": Landing(
        JOINED,
        ticket=70005,  # by the Message-ID of her own first email
        shown="Hola de nuevo,\n\n¿Hay alguna novedad? Necesito el vestido antes del sábado.\n\nGracias,\nCarmen",
        quoted=(
            "El lun, 3 feb 2025 a las 11:20, Carmen Ruiz (<carmen@correo.example>) escribi\u00f3:\n\n"
            "> Buenos d\u00edas, el vestido que ped\u00ed lleg\u00f3 en la talla equivocada."
        ),
    ),
    "french_order_reply.eml": Landing(
        JOINED,
        ticket=70006,  # the unresolved ticket about order #10234, which she names
        shown=(
            "Bonjour,\n\nJe n\u2019ai toujours pas re\u00e7u ma commande #10234, le suivi ne bouge plus depuis lundi."
            "\n\nCordialement,\nAm\u00e9lie Durand"
        ),
        quoted=(
            "Le lun. 3 f\u00e9vr. 2025 \u00e0 09:00, Boutique Exemple <no-reply@store.example> a \u00e9crit :\n\n"
            "> Votre commande #10234 a \u00e9t\u00e9 exp\u00e9di\u00e9e."
        ),
    ),
    "german_order_signature.eml": Landing(
        NEW,
        shown=(
            "Guten Tag,\n\nbei meiner Bestellung 10235 fehlt der Gr\u00f6\u00dfe-M-Pullover. K\u00f6nnen Sie ihn "
            "nachliefern?\n\nMit freundlichen Gr\u00fc\u00dfen\nKlaus M\u00fcller"
        ),
        quoted="-- \nKlaus M\u00fcller\nM\u00fcller & S\u00f6hne GmbH\nTel. +49 30 1234567",
        is_acknowledged=True,
        subject="Pullover fehlt in Lieferung",
        customer="klaus@web.example",
        order="10235",
    ),
    "japanese_iso2022jp.eml": Landing(
        NEW,
        shown=(
            "\u304a\u4e16\u8a71\u306b\u306a\u3063\u3066\u304a\u308a\u307e\u3059\u3002\n"
            "\u6ce8\u6587\u3057\u305f\u5546\u54c1\u304c\u307e\u3060\u5c4a\u3044\u3066\u3044\u307e\u305b\u3093\u3002\n"
            "\u78ba\u8a8d\u3057\u3066\u3044\u305f\u3060\u3051\u307e\u3059\u304b\u3002\n\n\u7530\u4e2d\u3000\u592a\u90ce"
        ),
        is_acknowledged=True,
        subject="\u5546\u54c1\u304c\u5c4a\u304d\u307e\u305b\u3093",
        customer="taro.tanaka@mail.example.jp",
        extra={"name": "\u7530\u4e2d \u592a\u90ce"},
    ),
    "chinese_gb2312.eml": Landing(
        NEW,
        # Declared gb2312, but 镕 exists only in GBK: read as GB18030, the superset senders really use.
        shown=(
            "\u60a8\u597d\uff0c\n\n\u6211\u7684\u8ba2\u5355\u8fd8\u6ca1\u6709\u53d1\u8d27\uff0c"
            "\u8bf7\u95ee\u4ec0\u4e48\u65f6\u5019\u80fd\u53d1\u8d27\uff1f\n\n\u6731\u9555\u57fa"
        ),
        is_acknowledged=True,
        subject="\u8ba2\u5355\u4ec0\u4e48\u65f6\u5019\u53d1\u8d27\uff1f",
        customer="zhu@mail.example.cn",
        extra={"name": "\u6731\u5148\u751f"},
    ),
    "russian_windows1251.eml": Landing(
        NEW,
        shown=(
            "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439\u0442\u0435!\n\n"
            "\u041f\u0440\u0438\u043a\u043b\u0430\u0434\u044b\u0432\u0430\u044e \u0441\u0447\u0451\u0442. "
            "\u041f\u0440\u043e\u0448\u0443 \u0432\u0435\u0440\u043d\u0443\u0442\u044c "
            "\u0434\u0435\u043d\u044c\u0433\u0438 \u0437\u0430 "
            "\u0431\u0440\u0430\u043a\u043e\u0432\u0430\u043d\u043d\u044b\u0439 \u0442\u043e\u0432\u0430\u0440."
            "\n\n\u0421 \u0443\u0432\u0430\u0436\u0435\u043d\u0438\u0435\u043c,\n\u0418\u0432\u0430\u043d "
            "\u041f\u0435\u0442\u0440\u043e\u0432"
        ),
        attachments=(("\u0441\u0447\u0451\u0442 \u2116 42.pdf", "application/pdf", 69, "", False, ""),),
        is_acknowledged=True,
        subject="\u0412\u043e\u0437\u0432\u0440\u0430\u0442 \u0434\u0435\u043d\u0435\u0433",
        customer="ivan@yandex.example",
    ),
    "russian_koi8r.eml": Landing(
        NEW,
        shown=(
            "\u0414\u043e\u0431\u0440\u044b\u0439 \u0434\u0435\u043d\u044c! \u041a\u043e\u0433\u0434\u0430 "
            "\u043f\u0440\u0438\u0434\u0451\u0442 \u043c\u043e\u0439 \u0437\u0430\u043a\u0430\u0437?\n\n"
            "\u041e\u043b\u044c\u0433\u0430"
        ),
        is_acknowledged=True,
        subject="\u0413\u0434\u0435 \u0437\u0430\u043a\u0430\u0437?",
        customer="olga@mail.example.ru",
    ),
    "quoted_printable_closed_followup.eml": Landing(
        NEW,
        follows_up=70009,  # the token names a closed ticket: a follow-up opens instead of reopening it
        shown=(
            "Hi again \u2014 the headphones you sent as a replacement stopped charging after two weeks. The left "
            "earbud doesn\u2019t light up at all any more, even after a full night on the charger.\n\nSam"
        ),
        quoted=(
            "On Fri, 10 Jan 2025 at 14:00, Helpdesk Support <support@helpdesk.localhost> wrote:\n"
            "> Glad we could help! This ticket is now closed."
        ),
        is_acknowledged=True,
        subject="Re: Headphones not charging [#70009]",
        customer="sam@example.test",
    ),
    "base64_body.eml": Landing(
        NEW,
        shown=(
            "Hello \U0001f44b\n\nThe discount code WINTER25 is refused at checkout (\u201cinvalid code\u201d). "
            "Could you check it?\n\nThanks,\nPriya"
        ),
        is_acknowledged=True,
        subject="Discount code not working \U0001f624",
        customer="priya@example.test",
    ),
    "html_only.eml": Landing(
        NEW,
        shown=(
            "Question about sizing\n\nHello,\n\nI would like to know whether the Merino Crew runs small. "
            "I'm usually a size M & I have these measurements:\n\nChest  98 cm\nWaist  84 cm\n"
            "- Colour: navy\n- Fit: regular\n\nThanks a lot,\nTom\u00e9"
        ),
        is_acknowledged=True,
        subject="Question about sizing",
        customer="tome@yahoo.example",
    ),
    "inline_image.eml": Landing(
        NEW,
        shown="The label on the box looks like this:\n\n[image: label]\n\nIs it the right address?\n\nNoah",
        attachments=(("IMG_0421.png", "image/png", 70, "label-photo@iphone.example", True, ""),),
        is_acknowledged=True,
        subject="Wrong address on the label?",
        customer="noah@example.test",
        extra={"html_has": '<img src="cid:label-photo@iphone.example" alt="label">'},
    ),
    "attachment_over_limit.eml": Landing(
        NEW,
        shown="Here is a video of the blender and my receipt.\n\nOlivia",
        attachments=(
            ("blender.mp4", "video/mp4", 80 * 1024, "", False, "Larger than the 64 KB limit per file."),
            ("receipt.pdf", "application/pdf", 25, "", False, ""),
        ),
        is_acknowledged=True,
        subject="Video of the broken blender",
        customer="olivia@example.test",
    ),
    "exe_attachment.eml": Landing(
        NEW,
        shown="Please see the attached invoice.",
        attachments=(
            ("invoice.exe", "application/octet-stream", 105, "", False, "Files of type .exe are not accepted."),
            ("R\u00e9capitulatif.txt", "text/plain", 19, "", False, ""),
        ),
        is_acknowledged=True,
        subject="Invoice overdue",
        customer="billing@suspicious.example",
    ),
    "wrong_declared_charset.eml": Landing(
        NEW,
        shown="Bonjour, la th\u00e9i\u00e8re est arriv\u00e9e cass\u00e9e. Zo\u00eb",
        is_acknowledged=True,
        subject="R\u00e9clamation",
        customer="zoe@example.test",
    ),
    "bounce_known_message.eml": Landing(
        NOTE,
        ticket=70008,
        shown=(
            "Delivery failed: gone@example.test (5.1.1, smtp; 550 5.1.1 <gone@example.test>: Recipient address "
            "rejected: User unknown in virtual mailbox table)"
        ),
        status_after=TicketStatus.OPEN,
    ),
    "bounce_unknown_message.eml": Landing(QUARANTINE, reason="bounce for an unknown message"),
    "out_of_office.eml": Landing(
        JOINED,
        ticket=70007,
        shown=(
            "I am out of the office until 17 February with limited access to email. For urgent matters please "
            "contact purchasing@acme.example."
        ),
        status_after=TicketStatus.PENDING,  # an auto-reply never reopens a ticket waiting for the customer
    ),
    "mailing_list.eml": Landing(
        NEW,
        shown="Deliveries will not run on 17 February (Presidents' Day).",
        quoted="--\nYou are receiving this because you subscribed to carriers-news.",
        subject="[carriers-news] Holiday delivery schedule",
        customer="newsletter@carriers.example",
    ),
    "empty_return_path.eml": Landing(
        NEW,
        shown="Shipment 1Z999AA10123456784 could not be delivered: receiver not available.",
        subject="Delivery exception for shipment 1Z999AA10123456784",
        customer="notifications@carrier.example",
    ),
    "malformed_no_from.eml": Landing(QUARANTINE, reason="The message has no sender address (From)."),
    "malformed_boundary.eml": Landing(
        QUARANTINE,
        reason="The MIME structure is broken: the multipart boundary 'declared-boundary' never appears in the body.",
    ),
}


def _attachments_of(message: Message) -> list[tuple]:
    rows = []
    for attachment in message.attachments.all():
        rows.append(
            (
                attachment.filename,
                attachment.content_type,
                attachment.size,
                attachment.content_id,
                attachment.is_inline,
                attachment.refusal_reason,
            )
        )
        assert bool(attachment.file) is (not attachment.refusal_reason)  # a refused file is listed, not kept
    return rows


@pytest.mark.parametrize(("name", "landing"), list(CASES.items()), ids=list(CASES))
def test_each_corpus_email_lands_where_it_belongs(
    name, landing, desk, acknowledgements, django_capture_on_commit_callbacks
):
    raw = corpus_email(name)
    tickets_before = set(Ticket.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        result = email_receive(raw=raw, source=QuarantinedEmail.Source.SMTP, recipients=(SUPPORT,))

    new_tickets = Ticket.objects.exclude(pk__in=tickets_before)
    if landing.where == QUARANTINE:
        assert isinstance(result, QuarantinedEmail)
        quarantined = QuarantinedEmail.objects.get()
        assert quarantined.reason == landing.reason
        assert bytes(quarantined.raw_message) == raw
        assert quarantined.size == len(raw)
        assert not new_tickets.exists()
        assert Message.objects.filter(created_at__gte=quarantined.created_at).count() == 0
        assert acknowledgements == []
        return

    assert not QuarantinedEmail.objects.exists()
    message = result.message
    assert message.body_text == landing.shown
    assert message.quoted_text == landing.quoted
    assert _attachments_of(message) == list(landing.attachments)
    if landing.where == NEW:
        ticket = new_tickets.get()
        assert result.is_new_ticket is True
        assert ticket.subject == landing.subject
        assert ticket.customer.identities.get().value == landing.customer
        assert (ticket.order.number if ticket.order else None) == landing.order
        assert message.direction == MessageDirection.INBOUND
        if "name" in landing.extra:
            assert ticket.customer.name == landing.extra["name"]
        if landing.follows_up:
            assert ticket.customer == desk.tickets[landing.follows_up].customer
            assert Ticket.objects.get(number=landing.follows_up).status == TicketStatus.CLOSED
    else:
        assert not new_tickets.exists()
        ticket = Ticket.objects.get(number=landing.ticket)
        assert message.ticket_id == ticket.pk
        expected_direction = MessageDirection.NOTE if landing.where == NOTE else MessageDirection.INBOUND
        assert message.direction == expected_direction
        if landing.status_after:
            assert ticket.status == landing.status_after
    if "html_has" in landing.extra:
        assert landing.extra["html_has"] in message.body_html
    assert acknowledgements == ([ticket.pk] if landing.is_acknowledged else [])
    assert AutoAcknowledgement.objects.filter(ticket=ticket).exists() is landing.is_acknowledged


@pytest.mark.parametrize("name", [name for name, landing in CASES.items() if landing.where != QUARANTINE])
def test_each_corpus_email_delivered_twice_is_recorded_once(name, desk, acknowledgements):
    raw = corpus_email(name)

    first = email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)
    messages = Message.objects.count()
    second = email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)

    assert second.is_duplicate is True
    assert second.message.pk == first.message.pk
    assert Message.objects.count() == messages


@pytest.mark.parametrize("name", [name for name, landing in CASES.items() if landing.where == QUARANTINE])
def test_a_quarantined_email_arriving_twice_is_kept_once(name, desk):
    raw = corpus_email(name)

    email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)
    email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)

    assert QuarantinedEmail.objects.count() == 1
