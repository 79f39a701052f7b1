import pytest
from django.contrib.auth.models import Permission

from accounts.choices import Role
from accounts.models import User
from tests.accounts.factories import TeamFactory, UserFactory
from tests.tickets.factories import TicketFactory
from tickets.access import staff_who_may_see, tickets_visible_to
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_who_may_see_a_ticket_agrees_with_what_each_user_may_see():
    team_a, team_b = TeamFactory(), TeamFactory()
    in_a, in_b, no_team = UserFactory(role=Role.AGENT), UserFactory(role=Role.AGENT), UserFactory(role=Role.AGENT)
    team_a.members.add(in_a)
    team_b.members.add(in_b)
    reader = UserFactory(role="")
    reader.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    users = [
        in_a,
        in_b,
        no_team,
        reader,
        UserFactory(role=Role.SUPERVISOR),
        UserFactory(role=Role.ADMIN),
        UserFactory(role="", is_superuser=True),
        UserFactory(role=""),  # staff without any permission
        UserFactory(role=Role.AGENT, is_active=False),
        UserFactory(role=Role.SUPERVISOR, is_staff=False),
    ]
    tickets = [
        TicketFactory(),
        TicketFactory(team=team_a),
        TicketFactory(assignee=no_team),
        TicketFactory(assignee=in_b, team=team_a),
        TicketFactory(assignee=UserFactory(role=Role.AGENT), team=team_b),
    ]

    for ticket in tickets:
        expected = {user.pk for user in users if Ticket.objects.filter(tickets_visible_to(user), pk=ticket.pk).exists()}
        candidates = User.objects.filter(pk__in=[user.pk for user in users])
        assert set(candidates.filter(staff_who_may_see(ticket)).values_list("pk", flat=True)) == expected
