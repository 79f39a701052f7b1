import pytest
from django.urls import reverse

from tests.customers.factories import CustomerIdentityFactory
from tests.tickets.factories import TagFactory, TicketFactory
from tickets.selectors import ticket_list_for_inbox

pytestmark = pytest.mark.django_db


def test_inbox_lists_tickets_newest_activity_first(client, agent):
    older = TicketFactory(subject="Where is my parcel?")
    newer = TicketFactory(subject="Charged twice")
    client.force_login(agent)

    response = client.get(reverse("tickets:inbox"))

    assert response.status_code == 200
    rows = [ticket.pk for ticket in response.context["page"].tickets]
    assert rows == [newer.pk, older.pk]
    assert b"Charged twice" in response.content


def test_inbox_keyset_pages_cover_every_ticket_once(agent):
    tickets = TicketFactory.create_batch(7)

    first = ticket_list_for_inbox(user=agent, limit=3)
    second = ticket_list_for_inbox(user=agent, cursor=first.next_cursor, limit=3)
    third = ticket_list_for_inbox(user=agent, cursor=second.next_cursor, limit=3)

    seen = [t.pk for t in first.tickets + second.tickets + third.tickets]
    assert sorted(seen) == sorted(t.pk for t in tickets)
    assert len(seen) == 7
    assert third.next_cursor is None


@pytest.mark.parametrize("page_size", [5, 50])
def test_inbox_page_costs_a_fixed_number_of_queries(django_assert_num_queries, agent, page_size):
    tag = TagFactory(name="shipping")
    for ticket in TicketFactory.create_batch(page_size):
        ticket.tags.add(tag)

    # two permission lookups (cached on the user after the first), tickets with their joins, tags.
    agent = type(agent).objects.get(pk=agent.pk)
    with django_assert_num_queries(4):
        page = ticket_list_for_inbox(user=agent, limit=page_size)
    assert len(page.tickets) == page_size
    assert {ticket.tags for ticket in page.tickets} == {("shipping",)}


@pytest.mark.parametrize("page_size", [5, 50])
def test_customers_without_a_name_are_listed_by_email_in_one_more_query(django_assert_num_queries, agent, page_size):
    tickets = TicketFactory.create_batch(page_size, customer__name="", assignee=agent)
    for ticket in tickets:
        CustomerIdentityFactory(customer=ticket.customer, value=f"buyer{ticket.pk}@example.test")

    agent = type(agent).objects.get(pk=agent.pk)
    with django_assert_num_queries(5):
        page = ticket_list_for_inbox(user=agent, limit=page_size)

    assert {row.pk: row.customer_name for row in page.tickets} == {t.pk: f"buyer{t.pk}@example.test" for t in tickets}
    assert {row.assignee_name for row in page.tickets} == {agent.display_name}


def test_a_forged_page_cursor_is_a_clear_400(client, agent):
    client.force_login(agent)

    response = client.get(reverse("tickets:inbox"), {"after": "not-a-cursor"})

    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_inbox_rows_escape_what_customers_and_agents_typed(client, agent):
    ticket = TicketFactory(subject='<img src=x onerror="alert(1)">', customer__name="Ana <b>& Co</b>")
    ticket.tags.add(TagFactory(name="<script>tag</script>"))
    client.force_login(agent)

    body = client.get(reverse("tickets:inbox")).content.decode()

    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert "Ana &lt;b&gt;&amp; Co&lt;/b&gt;" in body
    assert "&lt;script&gt;tag&lt;/script&gt;" in body
    assert "<script>tag" not in body
    assert "<img src=x" not in body


def test_inbox_rows_show_times_in_the_current_time_zone(client, agent, settings):
    from datetime import UTC, datetime

    TicketFactory(
        last_message_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC),
        sla_next_due_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
    )
    client.force_login(agent)
    settings.TIME_ZONE = "Asia/Tokyo"

    body = client.get(reverse("tickets:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<time datetime="2026-03-03T08:30:00+09:00">Mar 3, 08:30</time>' in body
    assert "⏱ Tue 17:00" in body
