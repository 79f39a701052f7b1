import pytest
from django.urls import reverse

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

    # tickets+joins, tags, customer identities; permission checks are cached on the user after the first.
    agent = type(agent).objects.get(pk=agent.pk)
    with django_assert_num_queries(5):
        page = ticket_list_for_inbox(user=agent, limit=page_size)
        for ticket in page.tickets:
            list(ticket.tags.all())
            _ = ticket.customer.primary_email
    assert len(page.tickets) == page_size


def test_a_forged_page_cursor_is_a_clear_400(client, agent):
    client.force_login(agent)

    response = client.get(reverse("tickets:inbox"), {"after": "not-a-cursor"})

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
