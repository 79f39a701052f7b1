import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.choices import Role
from tests.accounts.factories import TeamFactory, UserFactory
from tests.customers.factories import CustomerIdentityFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from tests.surveys.factories import SurveyResponseFactory
from tests.tickets.factories import MessageFactory, TagFactory, TicketFactory
from tickets.choices import MessageDirection, Priority, TicketStatus
from tickets.models import Message, Ticket
from tickets.services.conversation import ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    ticket = TicketFactory(subject="Where is my parcel?")
    CustomerIdentityFactory(customer=ticket.customer, value="ana@example.test")
    MessageFactory(ticket=ticket, body_text="It has been ten days.")
    return ticket


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_ticket_page_shows_timeline_and_the_customers_orders(agent_client, ticket):
    order = OrderFactory(customer=ticket.customer, number="#20431")
    OrderItemFactory(order=order, name="Linen shirt", sku="LIN-1")
    ShipmentFactory(order=order, tracking_number="1Z999", tracking_url="https://track.example.test/1Z999")
    MessageFactory(ticket=ticket, direction=MessageDirection.NOTE, body_text="Checked the warehouse")

    response = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "It has been ten days." in body
    assert "Checked the warehouse" in body
    assert "#20431" in body
    assert "Linen shirt" in body
    assert 'href="https://track.example.test/1Z999"' in body
    assert "ana@example.test" in body


def test_the_timeline_escapes_text_keeps_sanitised_html_and_lists_attachments(
    agent_client, ticket, agent, settings, tmp_path
):
    from django.core.files.base import ContentFile

    from tickets.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    agent.first_name, agent.last_name = "Bea <i>", "Ortiz"
    agent.save()
    text = MessageFactory(
        ticket=ticket, body_text="<script>alert(1)</script>\nSecond line", quoted_text="> earlier <b>mail</b>"
    )
    html = MessageFactory(
        ticket=ticket,
        direction=MessageDirection.OUTBOUND,
        author=agent,
        body_html="<p>Refund <strong>sent</strong></p>",
    )
    kept = Attachment(message=text, filename="invoice <1>.pdf", content_type="application/pdf", size=2048)
    kept.file.save("invoice.pdf", ContentFile(b"%PDF-1.4"), save=False)
    kept.save()
    Attachment.objects.create(
        message=text,
        filename="run.exe",
        content_type="application/x-msdownload",
        size=10,
        refusal_reason="type refused",
    )

    body = agent_client.get(reverse("tickets:ticket", args=[ticket.number])).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>Second line" in body
    assert "<script>alert(1)" not in body
    assert "&gt; earlier &lt;b&gt;mail&lt;/b&gt;" in body
    assert f'id="message-{html.pk}"' in body
    assert "<p>Refund <strong>sent</strong></p>" in body
    assert "Bea &lt;i&gt; Ortiz" in body
    assert "invoice &lt;1&gt;.pdf</a>" in body
    assert "2.0\xa0KB" in body
    assert "run.exe — not kept: type refused" in body
    # each customer message can be split out, with the form's CSRF token; the agent's reply cannot
    assert body.count('/split/" class="inline"><input type="hidden" name="csrfmiddlewaretoken" value="') == 2
    assert f"messages/{html.pk}/split/" not in body


def test_split_is_offered_only_where_the_ticket_keeps_a_customer_message(agent_client):
    ticket = TicketFactory()
    only = MessageFactory(ticket=ticket, body_text="Where is my order?")
    MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND, is_automatic=True, body_text="We got it")
    url = reverse("tickets:ticket", args=[ticket.number])

    alone = agent_client.get(url).content.decode()
    second = MessageFactory(ticket=ticket, body_text="And can I change the address?")
    two = agent_client.get(url).content.decode()

    assert "/split/" not in alone
    assert f"messages/{only.pk}/split/" in two
    assert f"messages/{second.pk}/split/" in two


def test_ticket_page_costs_the_same_queries_for_5_or_100_messages(agent_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for message_count in (5, 100):
        ticket = TicketFactory()
        CustomerIdentityFactory(customer=ticket.customer)
        MessageFactory.create_batch(message_count, ticket=ticket)
        for order in OrderFactory.create_batch(3, customer=ticket.customer):
            OrderItemFactory(order=order)
            ShipmentFactory(order=order)
        url = reverse("tickets:ticket", args=[ticket.number])
        agent_client.get(url)  # warm the session and permission caches
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(url)
        assert response.status_code == 200
        counts[message_count] = len(queries)

    assert counts[5] == counts[100]
    # user (session and security setting come from the cache), 2 permission lookups (computed: this
    # test's transaction changed roles), the ticket's id (its live number is read before the ticket),
    # the ticket (access check), its tags, messages, attachments,
    # activities, SLA targets, identities, orders, items, shipments, earlier tickets, past ratings (the
    # pickers' macros, staff, teams and tags come from the rule cache)
    assert counts == {5: 16, 100: 16}


def test_a_long_conversation_shows_its_newest_messages_oldest_first_and_says_older_ones_are_not_shown(
    agent_client, monkeypatch
):
    from tickets import selectors

    monkeypatch.setattr(selectors, "TIMELINE_LIMIT", 3)
    ticket = TicketFactory()
    written = [MessageFactory(ticket=ticket, body_text=f"message {index}") for index in range(5)]

    response = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))

    body = response.content.decode()
    shown = [message.pk for message in response.context["detail"].messages]
    assert shown == [written[2].pk, written[3].pk, written[4].pk]
    assert body.index("message 2") < body.index("message 3") < body.index("message 4")
    assert "message 1" not in body
    assert (
        '<p class="muted" id="older-messages">Older messages are not shown: '
        "these are the newest 3 messages of a longer conversation.</p>"
    ) in body
    assert response.context["reply_form"].initial == {
        "expected_version": ticket.version,
        "last_seen_message_id": written[4].pk,
    }


def test_a_conversation_within_the_limit_shows_everything_without_a_notice(agent_client, ticket, monkeypatch):
    from tickets import selectors

    monkeypatch.setattr(selectors, "TIMELINE_LIMIT", 3)
    MessageFactory.create_batch(2, ticket=ticket)

    response = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))

    assert len(response.context["detail"].messages) == 3
    assert 'id="older-messages"' not in response.content.decode()


def test_reply_from_the_page_goes_to_the_customer(agent_client, ticket):
    url = reverse("tickets:reply", args=[ticket.number])

    response = agent_client.post(url, {"body": "It is on its way!", "expected_version": ticket.version})

    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert reply.body_text == "It is on its way!"


def test_a_stale_reply_is_held_back_with_the_new_messages_shown(agent_client, ticket, agent):
    colleague = UserFactory(role=Role.AGENT)
    team = TeamFactory()
    team.members.add(agent, colleague)
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    ticket.refresh_from_db()
    loaded_version = ticket.version
    last_seen = ticket.messages.last().pk
    colleague_reply = ticket_reply(ticket_id=ticket.pk, author=colleague, body_text="Already refunded you.")

    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.number]),
        {"body": "Let me look into it.", "expected_version": loaded_version, "last_seen_message_id": last_seen},
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert "changed while you were writing" in body
    assert f'id="message-{colleague_reply.pk}"' in body
    assert "message-new" in body
    assert "Let me look into it." in body  # the draft is kept in the box
    assert not Message.objects.filter(body_text="Let me look into it.").exists()


def test_a_macro_picked_after_a_colleague_answered_is_held_back_with_the_new_messages_shown(
    agent_client, ticket, agent
):
    from tickets.models import Macro

    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    macro = Macro.objects.create(name="Refund", body="We will refund you.")
    page = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))
    loaded = page.context["reply_form"].initial
    colleague_reply = ticket_reply(ticket_id=ticket.pk, author=UserFactory(role=Role.AGENT), body_text="Refunded.")

    preview = agent_client.get(
        reverse("tickets:macro-preview", args=[ticket.number]),
        {
            "macro": macro.pk,
            "expected_version": loaded["expected_version"],
            "last_seen_message_id": loaded["last_seen_message_id"],
        },
    )
    apply_form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="(\d+)">', preview.content.decode()))
    response = agent_client.post(reverse("tickets:macro-apply", args=[ticket.number]), apply_form)

    body = response.content.decode()
    assert apply_form == {
        "macro": str(macro.pk),
        "expected_version": str(loaded["expected_version"]),
        "last_seen_message_id": str(loaded["last_seen_message_id"]),
    }
    assert response.status_code == 409
    assert "changed while you were writing" in body
    assert f'id="message-{colleague_reply.pk}"' in body
    assert "message-new" in body
    assert response.context["reply_form"].initial["body"] == "We will refund you."
    assert response.context["reply_form"].initial["last_seen_message_id"] == colleague_reply.pk
    assert not Message.objects.filter(body_text="We will refund you.").exists()
    assert Macro.objects.get(pk=macro.pk).usage_count == 0


def test_a_macro_preview_without_the_pages_version_offers_nothing_to_send(agent_client, ticket):
    from tickets.models import Macro

    macro = Macro.objects.create(name="Refund", body="We will refund you.")

    response = agent_client.get(reverse("tickets:macro-preview", args=[ticket.number]), {"macro": macro.pk})

    assert response.status_code == 400
    assert response.content.decode() == "Reload the page to use a macro."


def test_applying_a_macro_without_the_pages_version_sends_nothing(agent_client, ticket, agent):
    from tickets.models import Macro

    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    macro = Macro.objects.create(name="Refund", body="We will refund you.")

    response = agent_client.post(reverse("tickets:macro-apply", args=[ticket.number]), {"macro": macro.pk})

    assert response.status_code == 400
    assert "Nothing was sent: reload the page and pick the macro again." in response.content.decode()
    assert not Message.objects.filter(body_text="We will refund you.").exists()


def test_a_macro_applied_from_an_up_to_date_page_is_sent(agent_client, ticket, agent):
    from tickets.models import Macro

    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    macro = Macro.objects.create(name="Refund", body="We will refund you.")
    loaded = agent_client.get(reverse("tickets:ticket", args=[ticket.number])).context["reply_form"].initial

    response = agent_client.post(
        reverse("tickets:macro-apply", args=[ticket.number]),
        {"macro": macro.pk, "expected_version": loaded["expected_version"]},
    )

    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text="We will refund you.").count() == 1


def test_an_invalid_transition_from_the_page_is_explained(agent_client, ticket):
    response = agent_client.post(reverse("tickets:status", args=[ticket.number]), {"status": TicketStatus.CLOSED})

    assert response.status_code == 409
    assert "Only a solved ticket can close" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_page_actions_change_the_ticket(agent_client, ticket, agent):
    TagFactory(name="shipping")
    team = TeamFactory(name="Orders")
    base = [ticket.number]

    agent_client.post(reverse("tickets:priority", args=base), {"priority": Priority.HIGH})
    agent_client.post(reverse("tickets:tags", args=base), {"add": "shipping"})
    agent_client.post(reverse("tickets:assign", args=base), {"assignee": agent.pk, "team": team.pk})
    agent_client.post(reverse("tickets:note", args=base), {"body": "Carrier says Tuesday"})
    agent_client.post(reverse("tickets:escalate", args=base), {"reason": "VIP", "team": team.pk})

    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert list(ticket.tags.values_list("name", flat=True)) == ["shipping"]
    assert (ticket.assignee, ticket.team) == (agent, team)
    assert ticket.messages.filter(direction=MessageDirection.NOTE, body_text="Carrier says Tuesday").exists()
    assert ticket.escalations.get().reason == "VIP"


def test_merge_from_the_page_lands_on_the_survivor(agent_client, ticket):
    survivor = TicketFactory(customer=ticket.customer)

    response = agent_client.post(reverse("tickets:merge", args=[ticket.number]), {"into_number": survivor.number})

    assert response.status_code == 302
    assert response.url == reverse("tickets:ticket", args=[survivor.number])
    ticket.refresh_from_db()
    assert ticket.merged_into == survivor


def test_merge_from_the_page_folds_two_records_of_one_person_when_ticked(agent_client, ticket):
    survivor = TicketFactory()
    url = reverse("tickets:merge", args=[ticket.number])

    refused = agent_client.post(url, {"into_number": survivor.number}, follow=True)
    merged = agent_client.post(url, {"into_number": survivor.number, "merge_customers": "1"})

    assert "different customers" in refused.content.decode()
    assert merged.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.merged_into, ticket.customer) == (survivor, survivor.customer)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine"}),
        ("unassigned", {"unassigned", "urgent"}),
        ("urgent", {"urgent"}),
        ("waiting", {"waiting"}),
        ("all", {"mine", "unassigned", "urgent", "waiting", "closed"}),
    ],
)
def test_inbox_views(agent_client, agent, view, expected):
    team = TeamFactory()
    team.members.add(agent)
    made = {
        "mine": TicketFactory(subject="mine", assignee=agent),
        "unassigned": TicketFactory(subject="unassigned"),
        "urgent": TicketFactory(subject="urgent", priority=Priority.URGENT),
        "waiting": TicketFactory(subject="waiting", status=TicketStatus.PENDING, assignee=UserFactory(), team=team),
        "closed": TicketFactory(subject="closed", status=TicketStatus.CLOSED, assignee=UserFactory(), team=team),
    }

    response = agent_client.get(reverse("tickets:inbox"), {"view": view})

    shown = {t.subject for t in response.context["page"].tickets}
    assert shown == {made[name].subject for name in expected}


def test_search_finds_tickets_by_number_order_email_name_and_words(agent_client):
    by_words = TicketFactory(subject="a")
    MessageFactory(ticket=by_words, body_text="the zipper broke after one wash")
    by_order = TicketFactory(subject="b", order=OrderFactory(number="#77123"))
    by_email = TicketFactory(subject="c")
    CustomerIdentityFactory(customer=by_email.customer, value="lena@example.test")
    by_name = TicketFactory(subject="d")
    by_name.customer.name = "Kenji Watanabe"
    by_name.customer.save()
    other = TicketFactory(subject="e")

    def found(query):
        response = agent_client.get(reverse("tickets:inbox"), {"q": query})
        return {t.pk for t in response.context["page"].tickets}

    assert found("zipper") == {by_words.pk}
    assert found("77123") == {by_order.pk}
    assert found("#77123") == {by_order.pk}
    assert found("LENA@example.test") == {by_email.pk}
    assert found("watanabe") == {by_name.pk}
    assert found(str(other.number)) == {other.pk}


def test_bulk_actions_change_every_selected_ticket(agent_client, agent):
    first, second, untouched = TicketFactory.create_batch(3)

    response = agent_client.post(
        reverse("tickets:bulk"), {"ticket_ids": f"{first.pk},{second.pk}", "action": "assign_me"}
    )

    assert response.status_code == 302
    assert set(Ticket.objects.filter(assignee=agent).values_list("pk", flat=True)) == {first.pk, second.pk}
    untouched.refresh_from_db()
    assert untouched.assignee is None


def test_bulk_status_reports_the_tickets_that_refused(agent_client):
    open_ticket = TicketFactory(status=TicketStatus.OPEN)
    closed_ticket = TicketFactory(status=TicketStatus.CLOSED)

    response = agent_client.post(
        reverse("tickets:bulk"),
        {"ticket_ids": f"{open_ticket.pk},{closed_ticket.pk}", "action": "status", "status": TicketStatus.SOLVED},
        follow=True,
    )

    body = response.content.decode()
    assert "1 tickets updated" in body
    assert "closed ticket cannot change" in body
    open_ticket.refresh_from_db()
    assert open_ticket.status == TicketStatus.SOLVED


def test_bulk_changes_need_the_change_permission_like_the_ticket_page(client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    reader = UserFactory(role=Role.AGENT)
    reader.groups.clear()
    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_ticket"]))
    client.force_login(reader)

    response = client.post(
        reverse("tickets:bulk"),
        {"ticket_ids": str(ticket.pk), "action": "status", "status": TicketStatus.SOLVED},
        follow=True,
    )

    assert "You may read this ticket but not change it." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_the_inbox_works_on_a_phone_sized_layout_without_horizontal_markup(agent_client, ticket):
    response = agent_client.get(reverse("tickets:inbox"))

    body = response.content.decode()
    assert 'name="viewport"' in body
    assert 'data-label="Subject"' in body


def test_a_ticket_the_agent_may_not_see_is_a_404_page(agent_client, agent):
    elsewhere = TicketFactory(assignee=UserFactory(role=Role.AGENT), team=TeamFactory())

    response = agent_client.get(reverse("tickets:ticket", args=[elsewhere.number]))

    assert response.status_code == 404
    assert "not yours to see" in response.content.decode()


def test_the_inbox_lists_only_tickets_the_agent_may_open(agent_client, agent):
    team = TeamFactory()
    team.members.add(agent)
    mine = TicketFactory(subject="mine", assignee=agent)
    my_team = TicketFactory(subject="my team", team=team, assignee=UserFactory(role=Role.AGENT))
    unowned = TicketFactory(subject="unowned")
    TicketFactory(subject="other team", team=TeamFactory(), assignee=UserFactory(role=Role.AGENT))

    response = agent_client.get(reverse("tickets:inbox"))

    shown = {t.subject for t in response.context["page"].tickets}
    assert shown == {mine.subject, my_team.subject, unowned.subject}


def test_a_colleagues_personal_macro_is_neither_listed_nor_previewed(agent_client, ticket):
    from tickets.models import Macro

    shared = Macro.objects.create(name="Shared answer", body="Hello")
    personal = Macro.objects.create(name="Bea's own", body="Hi", owner=UserFactory(role=Role.AGENT))

    page = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))
    preview = agent_client.get(reverse("tickets:macro-preview", args=[ticket.number]), {"macro": personal.pk})

    assert page.context["macro_choices"] == [(shared.pk, "Shared answer")]
    assert "Bea&#x27;s own" not in page.content.decode()
    assert preview.status_code == 404


def test_a_switched_off_macro_is_not_previewed(agent_client, ticket):
    from tickets.models import Macro

    switched_off = Macro.objects.create(name="Old answer", body="Hello", is_active=False)

    preview = agent_client.get(reverse("tickets:macro-preview", args=[ticket.number]), {"macro": switched_off.pk})

    assert preview.status_code == 404
    assert "There is no such macro, or it is someone else&#x27;s personal macro." in preview.content.decode()


def test_the_pickers_mark_the_assignee_and_offer_only_supervisors_for_escalation(agent_client, ticket, agent):
    supervisor = UserFactory(role=Role.SUPERVISOR, first_name="Sam", last_name="Lead")
    colleague = UserFactory(role=Role.AGENT, first_name="Cleo", last_name="Agent")
    team = TeamFactory(name="Billing & Co")
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, team=team)

    response = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))

    body = response.content.decode()
    assert f'<option value="{agent.pk}" selected>' in body
    assert f'<option value="{team.pk}" selected>Billing &amp; Co</option>' in body
    escalate_to = response.context["supervisor_choices"]
    assert (supervisor.pk, "Sam Lead") in escalate_to
    assert colleague.pk not in {pk for pk, _name in escalate_to}
    assert (colleague.pk, "Cleo Agent") in response.context["staff_choices"]


def test_the_pickers_show_a_change_on_the_next_page_though_they_are_kept_between_pages(agent_client, ticket, agent):
    from tickets.models import Macro

    url = reverse("tickets:ticket", args=[ticket.number])
    leaving = UserFactory(role=Role.AGENT, first_name="Lou", last_name="Leaving")
    first = agent_client.get(url).context

    Macro.objects.create(name="Returns label", body="Here it is")
    Macro.objects.create(name="My own reply", body="Hi", owner=agent)
    TagFactory(name="warranty")
    TeamFactory(name="Warehouse")
    leaving.is_active = False
    leaving.save(update_fields=["is_active"])
    second = agent_client.get(url).context

    assert (leaving.pk, "Lou Leaving") in first["staff_choices"]
    assert leaving.pk not in {pk for pk, _name in second["staff_choices"]}
    assert {name for _pk, name in second["macro_choices"]} >= {"Returns label", "My own reply"}
    assert ("warranty", "") in second["tag_choices"]
    assert "Warehouse" in {name for _pk, name in second["team_choices"]}


def test_escalating_to_a_team_or_supervisor_that_does_not_exist_is_refused(agent_client, ticket):
    from tickets.models import Escalation

    url = reverse("tickets:escalate", args=[ticket.number])

    to_no_team = agent_client.post(url, {"reason": "Needs billing", "team": 999_999}, follow=True)
    to_no_one = agent_client.post(url, {"reason": "Needs a lead", "supervisor": 999_999}, follow=True)

    assert "That team does not exist; nothing was changed." in to_no_team.content.decode()
    assert "That colleague does not exist or is not active staff" in to_no_one.content.decode()
    assert not Escalation.objects.filter(ticket=ticket).exists()


# --- Looking up an order by its number from the sidebar -----------------------------------------


def _order_with_tracking(customer, number):
    order = OrderFactory(customer=customer, number=number)
    OrderItemFactory(order=order, name=f"Item of {number}")
    ShipmentFactory(order=order, tracking_number=f"TRK{number}", tracking_url=f"https://track.example.test/{number}")
    return order


def test_an_older_order_not_listed_in_the_sidebar_is_found_by_its_number(agent_client, ticket):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.selectors import SIDEBAR_ORDER_LIMIT

    oldest = _order_with_tracking(ticket.customer, "1000")
    oldest.placed_at = timezone.now() - timedelta(days=900)
    oldest.save()
    for index in range(SIDEBAR_ORDER_LIMIT):
        OrderFactory(customer=ticket.customer, number=f"2{index:03d}")

    page = agent_client.get(reverse("tickets:ticket", args=[ticket.number])).content.decode()
    found = agent_client.get(
        reverse("tickets:order-lookup", args=[ticket.number]), {"order": "#1000"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "Older orders are not listed" in page
    assert "Item of 1000" not in page
    assert "Item of 1000" in found
    assert 'href="https://track.example.test/1000"' in found
    assert "another customer" not in found


def test_another_customers_order_is_shown_with_a_warning_and_a_missing_one_is_said_so(agent_client, ticket):
    _order_with_tracking(TicketFactory().customer, "5555")
    url = reverse("tickets:order-lookup", args=[ticket.number])

    other = agent_client.get(url, {"order": "5555"}, HTTP_HX_REQUEST="true").content.decode()
    missing = agent_client.get(url, {"order": "9999"}, HTTP_HX_REQUEST="true").content.decode()

    assert "This order belongs to another customer." in other
    assert "Item of 5555" in other
    assert "No order 9999." in missing


def test_without_javascript_the_lookup_returns_the_ticket_page_with_the_order(agent_client, ticket):
    _order_with_tracking(ticket.customer, "7777")

    response = agent_client.get(reverse("tickets:order-lookup", args=[ticket.number]), {"order": "7777"})

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="order-lookup-result"' in body
    assert body.count("Item of 7777") == 2  # in the sidebar's list and in the lookup result


def test_the_order_lookup_needs_the_ticket_and_the_order_permission(client, ticket):
    other_team = TeamFactory(name="Elsewhere")
    outsider = UserFactory(role=Role.AGENT)
    Ticket.objects.filter(pk=ticket.pk).update(team=other_team)
    client.force_login(outsider)
    url = reverse("tickets:order-lookup", args=[ticket.number])

    assert client.get(url, {"order": "1"}).status_code == 404

    Ticket.objects.filter(pk=ticket.pk).update(team=None)
    outsider.groups.clear()
    outsider.user_permissions.add(*Permission.objects.filter(codename__in=["view_ticket"]))
    assert client.get(url, {"order": "1"}).status_code == 403


# --- The sidebar shows only what the agent may see ------------------------------------------------


@pytest.fixture
def customer_history(ticket, agent):
    """The customer's other tickets (the agent's team's, unrouted, another team's), each rated."""
    team = TeamFactory()
    team.members.add(agent)
    tickets = {
        "my team": TicketFactory(
            customer=ticket.customer, subject="Team parcel", team=team, assignee=UserFactory(role=Role.AGENT)
        ),
        "unrouted": TicketFactory(customer=ticket.customer, subject="Unrouted parcel"),
        "other team": TicketFactory(
            customer=ticket.customer, subject="Secret parcel", team=TeamFactory(), assignee=UserFactory(role=Role.AGENT)
        ),
    }
    for name, rated in tickets.items():
        SurveyResponseFactory(customer=ticket.customer, ticket=rated, score=3, comment=f"Rated {name}")
    SurveyResponseFactory(customer=ticket.customer, score=4, comment="Rated no ticket")
    return tickets


def test_the_sidebar_shows_an_agent_only_the_earlier_tickets_and_ratings_they_may_see(
    agent_client, ticket, customer_history
):
    response = agent_client.get(reverse("tickets:ticket", args=[ticket.number]))

    body = response.content.decode()
    sidebar = response.context["detail"].sidebar
    mine, unrouted, hidden = customer_history["my team"], customer_history["unrouted"], customer_history["other team"]
    assert {t.pk for t in sidebar.earlier_tickets} == {mine.pk, unrouted.pk}
    assert {r.ticket_number for r in sidebar.ratings} == {mine.number, unrouted.number, None}
    assert "Team parcel" in body
    assert "Unrouted parcel" in body
    assert "Rated no ticket" in body
    assert "Secret parcel" not in body
    assert "Rated other team" not in body
    assert f'href="{reverse("tickets:ticket", args=[hidden.number])}"' not in body


def test_the_sidebar_shows_a_supervisor_every_earlier_ticket_and_rating(client, supervisor, ticket, customer_history):
    client.force_login(supervisor)

    response = client.get(reverse("tickets:ticket", args=[ticket.number]))

    body = response.content.decode()
    sidebar = response.context["detail"].sidebar
    assert {t.pk for t in sidebar.earlier_tickets} == {t.pk for t in customer_history.values()}
    assert {r.ticket_number for r in sidebar.ratings} == {t.number for t in customer_history.values()} | {None}
    assert "Secret parcel" in body
    assert "Rated other team" in body


# --- Bulk actions and assignment refuse what they cannot do ---------------------------------------


def test_bulk_never_redirects_to_another_site(agent_client):
    ticket = TicketFactory()
    data = {"ticket_ids": str(ticket.pk), "action": "assign_me"}

    elsewhere = agent_client.post(reverse("tickets:bulk"), {**data, "next": "https://evil.test/"})
    no_scheme = agent_client.post(reverse("tickets:bulk"), {**data, "next": "//evil.test/"})
    here = agent_client.post(reverse("tickets:bulk"), {**data, "next": "/tickets/?view=mine"})

    assert elsewhere.url == reverse("tickets:inbox")
    assert no_scheme.url == reverse("tickets:inbox")
    assert here.url == "/tickets/?view=mine"


@pytest.mark.parametrize("someone", [None, {"is_staff": False, "role": ""}, {"is_active": False}])
def test_bulk_assign_to_someone_who_is_not_active_staff_is_refused(agent_client, agent, someone):
    ticket = TicketFactory(assignee=agent)
    assignee_id = UserFactory(**someone).pk if someone else 987654321

    response = agent_client.post(
        reverse("tickets:bulk"),
        {"ticket_ids": str(ticket.pk), "action": "assign", "assignee": assignee_id, "next": "https://evil.test/"},
        follow=True,
    )

    assert response.redirect_chain[0][0] == reverse("tickets:inbox")
    assert "not active staff; nothing was changed" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_bulk_assign_to_a_colleague_still_works(agent_client):
    ticket = TicketFactory()
    colleague = UserFactory(role=Role.AGENT)

    agent_client.post(
        reverse("tickets:bulk"), {"ticket_ids": str(ticket.pk), "action": "assign", "assignee": colleague.pk}
    )

    ticket.refresh_from_db()
    assert ticket.assignee == colleague


def test_assigning_from_the_page_to_an_unknown_id_is_refused(agent_client, ticket, agent):
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    url = reverse("tickets:assign", args=[ticket.number])

    unknown = agent_client.post(url, {"assignee": 987654321})
    no_team = agent_client.post(url, {"assignee": agent.pk, "team": 987654321})

    assert unknown.status_code == 400
    assert "not active staff; nothing was changed" in unknown.content.decode()
    assert no_team.status_code == 400
    assert "That team does not exist" in no_team.content.decode()
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.team) == (agent, None)


def test_the_empty_choice_on_the_page_still_unassigns(agent_client, ticket, agent):
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)

    agent_client.post(reverse("tickets:assign", args=[ticket.number]), {"assignee": ""})

    ticket.refresh_from_db()
    assert ticket.assignee is None
