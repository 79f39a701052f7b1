"""Shared fixtures: staff users per role and API clients."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.choices import Role
from tests.accounts.factories import UserFactory


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT)


@pytest.fixture
def supervisor(db):
    return UserFactory(role=Role.SUPERVISOR)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def staff_by_role(agent, supervisor, admin_user):
    return {Role.AGENT: agent, Role.SUPERVISOR: supervisor, Role.ADMIN: admin_user}


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client_for():
    def make(user):
        client = APIClient()
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
