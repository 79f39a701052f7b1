"""The per-process copies of the rules read on every ticket: reused, and read again after any change."""

import pytest
from django.core.cache import cache

from tests.accounts.factories import TeamFactory
from tests.tickets.factories import TagFactory, TicketFactory
from tickets import rule_cache
from tickets.choices import Priority
from tickets.models import PriorityRule, RoutingRule, SlaPolicy, WebhookEndpoint
from tickets.rule_cache import GENERATION_CHECK_SECONDS, GENERATION_KEY, RULE_CACHE_SECONDS, cached_rules
from tickets.services.sla import sla_policy_for

pytestmark = pytest.mark.django_db


class Loader:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return [self.calls]


def test_a_copy_is_reused_until_the_shared_generation_moves(monkeypatch):
    load = Loader()
    clock = [1000.0]
    monkeypatch.setattr(rule_cache.time, "monotonic", lambda: clock[0])

    first, second = cached_rules("test", load), cached_rules("test", load)
    cache.incr(GENERATION_KEY)  # what a change in another process does
    clock[0] += GENERATION_CHECK_SECONDS
    third = cached_rules("test", load)

    assert (first, second, third) == ([1], [1], [2])


def test_the_shared_generation_is_read_once_a_second_and_a_change_here_is_seen_at_once(monkeypatch):
    load = Loader()
    clock = [1000.0]
    monkeypatch.setattr(rule_cache.time, "monotonic", lambda: clock[0])
    cached_rules("test", load)

    cache.incr(GENERATION_KEY)  # another process's change: seen after the check interval
    clock[0] += GENERATION_CHECK_SECONDS / 2
    within_the_interval = cached_rules("test", load)
    rule_cache.rules_changed()  # this process's change: seen on the next read
    after_a_local_change = cached_rules("test", load)

    assert (within_the_interval, after_a_local_change) == ([1], [2])


def test_a_copy_is_dropped_when_it_is_old_whatever_the_generation(monkeypatch):
    load = Loader()
    clock = [1000.0]
    monkeypatch.setattr(rule_cache.time, "monotonic", lambda: clock[0])

    cached_rules("test", load)
    clock[0] += RULE_CACHE_SECONDS - 1
    cached_rules("test", load)
    clock[0] += 2
    cached_rules("test", load)

    assert load.calls == 2


def test_a_lost_generation_key_still_forces_a_fresh_read():
    load = Loader()
    cached_rules("test", load)

    cache.delete(GENERATION_KEY)
    rule_cache.rules_changed()

    assert cached_rules("test", load) == [2]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: PriorityRule.objects.create(name="VIP", priority=Priority.HIGH), id="priority-rule"),
        pytest.param(lambda: SlaPolicy.objects.create(name="Email"), id="sla-policy"),
        pytest.param(
            lambda: WebhookEndpoint.objects.create(url="https://erp.example.test/hook", secret="s", events=["x"]),
            id="webhook-endpoint",
        ),
        pytest.param(lambda: RoutingRule.objects.create(team=TeamFactory()).delete(), id="routing-rule-deleted"),
        pytest.param(lambda: RoutingRule.objects.create(team=TeamFactory()).tags.add(TagFactory()), id="rule-tags"),
        pytest.param(lambda: TeamFactory().save(), id="team"),
    ],
)
def test_every_change_to_a_cached_rule_moves_the_generation_now_and_on_commit(
    change, django_capture_on_commit_callbacks
):
    before = rule_cache._generation.current()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        change()
    during = rule_cache._generation.current()
    for callback in callbacks:
        callback()

    assert before < during < rule_cache._generation.current()


def test_a_new_sla_policy_applies_to_the_next_ticket_at_once():
    ticket = TicketFactory(priority=Priority.URGENT)
    assert sla_policy_for(ticket=ticket) is None

    policy = SlaPolicy.objects.create(name="Urgent", priorities=[Priority.URGENT], first_response_minutes=30)

    assert sla_policy_for(ticket=ticket) == policy
    policy.is_active = False
    policy.save()
    assert sla_policy_for(ticket=ticket) is None
