"""API tokens: the token's user is kept between requests, and revoking or deactivating takes effect at once."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.token_authentication import _cache_key
from tests.accounts.factories import UserFactory

# Each change commits at once, as in a request: a transaction still open with a user change keeps nothing.
pytestmark = pytest.mark.django_db(transaction=True)
ME = "/api/v1/tickets/?page_size=1"


def _client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _token_queries(client: APIClient) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ME)
    return response.status_code, [q["sql"] for q in captured.captured_queries if "authtoken_token" in q["sql"]]


@pytest.fixture
def agent_token():
    return Token.objects.create(user=UserFactory(role=Role.AGENT))


def test_a_known_token_is_not_read_from_the_database_again(agent_token):
    client = _client(agent_token)

    first_status, first_reads = _token_queries(client)
    second_status, second_reads = _token_queries(client)

    assert (first_status, second_status) == (200, 200)
    assert (len(first_reads), len(second_reads)) == (1, 0)
    assert cache.get(_cache_key(agent_token.key))[0].pk == agent_token.user_id  # kept under a digest of the token


def test_a_deleted_token_stops_working_on_the_next_request(agent_token):
    client = _client(agent_token)
    assert client.get(ME).status_code == 200

    agent_token.delete()

    assert client.get(ME).status_code == 401


def test_deactivating_the_user_stops_their_token_on_the_next_request(agent_token):
    client = _client(agent_token)
    assert client.get(ME).status_code == 200

    user = agent_token.user
    user.is_active = False
    user.save()

    assert client.get(ME).status_code == 401


def test_a_role_change_is_seen_by_the_next_request(agent_token):
    client = _client(agent_token)
    assert client.get(ME).status_code == 200

    user = agent_token.user
    user.is_staff = False
    user.save()

    assert client.get(ME).status_code == 403


def test_a_wrong_token_is_refused_and_nothing_is_kept():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get(ME).status_code == 401
    assert cache.get(_cache_key("0" * 40)) is None


def test_a_permission_taken_from_the_role_is_seen_by_the_next_request(agent_token):
    from django.contrib.auth.models import Group, Permission

    client = _client(agent_token)
    body = {"customer_email": "ana@shop.test", "body": "Where is my parcel?"}
    assert client.post("/api/v1/tickets/", body, format="json").status_code == 201
    assert client.get(ME).status_code == 200  # the copy now carries the role's permissions

    Group.objects.get(name=Role.AGENT.label).permissions.remove(Permission.objects.get(codename="add_ticket"))

    refused = client.post("/api/v1/tickets/", {**body, "customer_email": "bea@shop.test"}, format="json")
    assert refused.status_code == 403


def test_a_token_revoked_while_a_request_was_reading_it_is_not_kept(agent_token, monkeypatch):
    from rest_framework.authentication import TokenAuthentication

    read_from_database = TokenAuthentication.authenticate_credentials

    def revoked_meanwhile(self, key):
        found = read_from_database(self, key)
        Token.objects.filter(key=key).get().delete()  # another request revokes it and commits, now
        return found

    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", revoked_meanwhile)
    client = _client(agent_token)
    assert client.get(ME).status_code == 200  # this request had read the token before it was revoked
    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", read_from_database)

    assert client.get(ME).status_code == 401
