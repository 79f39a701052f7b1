"""Permissions cached between requests: no queries once known, and every change seen at once."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.choices import Role
from accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user):
    return User.objects.get(pk=user.pk)  # a new request loads the user again, without Django's per-object cache


@pytest.mark.django_db(transaction=True)  # each change commits at once, as in a request
def test_a_known_user_s_permissions_cost_no_query(django_assert_num_queries):
    agent = UserFactory(role=Role.AGENT)
    assert _fresh(agent).has_perm("tickets.view_ticket")  # computed and kept

    user = _fresh(agent)
    with django_assert_num_queries(0):
        assert user.has_perm("tickets.view_ticket")
        assert not user.has_perm("accounts.manage_settings")


def test_a_permission_taken_from_a_role_s_group_is_gone_on_the_next_request():
    agent = UserFactory(role=Role.AGENT)
    assert _fresh(agent).has_perm("tickets.change_ticket")

    group = Group.objects.get(name=Role.AGENT.label)
    group.permissions.remove(Permission.objects.get(codename="change_ticket", content_type__app_label="tickets"))

    assert not _fresh(agent).has_perm("tickets.change_ticket")


def test_leaving_a_role_and_being_deactivated_take_effect_at_once():
    supervisor = UserFactory(role=Role.SUPERVISOR)
    assert _fresh(supervisor).has_perm("tickets.view_all_tickets")

    supervisor.groups.remove(Group.objects.get(name=Role.SUPERVISOR.label))
    assert not _fresh(supervisor).has_perm("tickets.view_all_tickets")

    supervisor.is_active = False
    supervisor.save()
    assert not _fresh(supervisor).has_perm("tickets.view_ticket")


def test_a_direct_permission_given_to_a_user_is_seen_on_the_next_request():
    agent = UserFactory(role=Role.AGENT)
    assert not _fresh(agent).has_perm("orders.change_order")

    agent.user_permissions.add(Permission.objects.get(codename="change_order", content_type__app_label="orders"))

    assert _fresh(agent).has_perm("orders.change_order")


def test_nothing_computed_in_a_transaction_that_changed_permissions_is_kept(django_assert_num_queries):
    agent = UserFactory(role=Role.AGENT)  # this test's transaction changed a membership
    assert _fresh(agent).has_perm("tickets.view_ticket")

    user = _fresh(agent)
    with django_assert_num_queries(2):  # computed again: the change could still roll back
        assert user.has_perm("tickets.view_ticket")


def test_making_mfa_mandatory_applies_to_the_next_request_despite_the_cache(client):
    from accounts.models import StaffSecuritySettings

    agent = UserFactory(role=Role.AGENT)
    client.force_login(agent)
    assert client.get("/inbox/").status_code == 200  # the switch (off) is now cached

    StaffSecuritySettings.objects.update_or_create(pk=1, defaults={"is_mfa_required_for_staff": True})

    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
