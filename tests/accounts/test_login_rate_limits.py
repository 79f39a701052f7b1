"""allauth's failed-login limit (ACCOUNT_RATE_LIMITS login_failed "5/5m/ip,5/5m/key") as agents meet it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # UserFactory's
WRONG_PASSWORD = "not the password"
LOGIN_FAILED_LIMIT = 5
BAD_CREDENTIALS = "The email address and/or password you specified are not correct."
TOO_MANY_ATTEMPTS = "Too many failed login attempts. Try again later."


@pytest.fixture(autouse=True)
def _clear_cache():
    # The counters live in the Redis cache, which outlives a test. Clearing flushes this xdist
    # worker's whole Redis database, so only this module does it, around each of its tests.
    cache.clear()
    yield
    cache.clear()


def attempt_login(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("sixth_password", [WRONG_PASSWORD, PASSWORD], ids=["wrong-password", "right-password"])
def test_the_sixth_attempt_after_five_failures_is_refused_whatever_the_password(client, agent, sixth_password):
    failures = [attempt_login(client, agent.email, WRONG_PASSWORD) for _ in range(LOGIN_FAILED_LIMIT)]

    sixth = attempt_login(client, agent.email, sixth_password)

    # allauth re-renders the login form (200) with a form error: it is not an HTTP 429.
    assert [(r.status_code, BAD_CREDENTIALS in r.content.decode()) for r in failures] == [(200, True)] * 5
    assert sixth.status_code == 200
    assert TOO_MANY_ATTEMPTS in sixth.content.decode()
    assert BAD_CREDENTIALS not in sixth.content.decode()
    assert not is_signed_in(client)
    assert client.get("/inbox/").status_code == 302


def test_the_limit_is_per_address_from_another_ip_too(client, agent):
    for _ in range(LOGIN_FAILED_LIMIT):
        attempt_login(client, agent.email, WRONG_PASSWORD)

    elsewhere = client.post(
        reverse("account_login"), {"login": agent.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )

    assert TOO_MANY_ATTEMPTS in elsewhere.content.decode()
    assert not is_signed_in(client)


def test_the_limit_is_per_ip_for_other_addresses_too(client, agent):
    colleague = UserFactory()
    for _ in range(LOGIN_FAILED_LIMIT):
        attempt_login(client, agent.email, WRONG_PASSWORD)

    other_account = attempt_login(client, colleague.email, PASSWORD)

    assert TOO_MANY_ATTEMPTS in other_account.content.decode()
    assert not is_signed_in(client)


def test_fewer_than_five_failures_still_let_the_right_password_in(client, agent):
    for _ in range(LOGIN_FAILED_LIMIT - 1):
        attempt_login(client, agent.email, WRONG_PASSWORD)

    response = attempt_login(client, agent.email, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(agent.pk)


def test_a_successful_login_does_not_use_up_the_allowance(client, agent):
    for _ in range(LOGIN_FAILED_LIMIT + 2):
        client.logout()
        assert attempt_login(client, agent.email, PASSWORD).status_code == 302

    client.logout()
    for _ in range(LOGIN_FAILED_LIMIT - 1):
        attempt_login(client, agent.email, WRONG_PASSWORD)

    assert attempt_login(client, agent.email, PASSWORD).status_code == 302
