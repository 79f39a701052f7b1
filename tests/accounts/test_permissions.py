"""Who reaches which staff page and API, login rate limits, and mandatory MFA for staff."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from accounts.choices import Role
from accounts.models import StaffSecuritySettings
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SECURITY_SETTINGS_URL = "/staff/settings/security/"
STAFF_PAGES = ("/inbox/", SECURITY_SETTINGS_URL)
PASSWORD = "correct horse battery staple"  # UserFactory's


def mfa_required(*, required: bool) -> None:
    StaffSecuritySettings.objects.update_or_create(pk=1, defaults={"is_mfa_required_for_staff": required})


# --- The admin settings page ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_cannot_open_the_security_settings(client, staff_by_role, role):
    client.force_login(staff_by_role[role])

    response = client.get(SECURITY_SETTINGS_URL)

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_cannot_change_the_security_settings(client, staff_by_role, role):
    mfa_required(required=False)
    client.force_login(staff_by_role[role])

    response = client.post(SECURITY_SETTINGS_URL, {"is_mfa_required_for_staff": "on"})

    assert response.status_code == 403
    assert StaffSecuritySettings.load().is_mfa_required_for_staff is False


@pytest.mark.parametrize(("sent", "stored"), [({"is_mfa_required_for_staff": "on"}, True), ({}, False)])
def test_an_admin_changes_the_security_settings(client, admin_user, sent, stored):
    mfa_required(required=not stored)
    TOTP.activate(admin_user, generate_totp_secret())  # or, with MFA required, the admin must set it up first
    client.force_login(admin_user)

    page = client.get(SECURITY_SETTINGS_URL)
    response = client.post(SECURITY_SETTINGS_URL, sent)

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:security-settings")
    assert StaffSecuritySettings.load().is_mfa_required_for_staff is stored


def test_every_role_sees_the_settings_link_only_if_it_may_open_the_page(client, staff_by_role):
    shown = {}
    for role, user in staff_by_role.items():
        client.force_login(user)
        shown[role] = SECURITY_SETTINGS_URL in client.get("/inbox/").content.decode()

    assert shown == {Role.AGENT: False, Role.SUPERVISOR: False, Role.ADMIN: True}


# --- Staff pages and the staff API without a staff login ------------------------------------------


@dataclass(frozen=True)
class ApiEndpoint:
    name: str
    path: str
    view_class: type

    def __str__(self) -> str:
        return self.path


# Public by design, with their own check instead of a staff login: the store's signed webhook.
PUBLIC_API_NAMES = frozenset({"store-webhook"})
SAMPLE_PATH_VALUES = ("1", "sample-1", "00000000-0000-0000-0000-000000000000")


def _sample_path(name: str, pattern) -> str | None:
    arguments = list(pattern.regex.groupindex)
    for values in itertools.product(SAMPLE_PATH_VALUES, repeat=len(arguments)):
        try:
            return reverse(name, kwargs=dict(zip(arguments, values, strict=True)))
        except NoReverseMatch:
            continue
    return None


def _endpoints(resolver: URLResolver) -> list[ApiEndpoint]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found.extend(_endpoints(entry))
        elif isinstance(entry, URLPattern) and entry.name and hasattr(entry.callback, "view_class"):
            path = _sample_path(entry.name, entry.pattern)
            assert path is not None, f"no sample path for the API route {entry.name!r}"
            found.append(ApiEndpoint(name=entry.name, path=path, view_class=entry.callback.view_class))
    return found


def api_endpoints() -> list[ApiEndpoint]:
    """Every named route of helpdesk/api_urls.py (what /api/v1/ serves), with sample path values."""
    api = next(entry for entry in get_resolver().url_patterns if str(entry.pattern) == "api/v1/")
    return sorted(_endpoints(api), key=lambda endpoint: endpoint.path)


STAFF_API = [endpoint for endpoint in api_endpoints() if endpoint.name not in PUBLIC_API_NAMES] or [
    pytest.param(None, marks=pytest.mark.skip(reason="helpdesk/api_urls.py has no staff API routes yet"))
]
METHODS = ["get", "post", "put", "patch", "delete"]


def test_only_the_listed_public_api_routes_allow_anyone():
    allowing_anyone = {
        endpoint.name
        for endpoint in api_endpoints()
        if AllowAny in getattr(endpoint.view_class, "permission_classes", ())
    }

    assert allowing_anyone <= PUBLIC_API_NAMES


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_staff_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={path}"


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_signed_in_non_staff_user_gets_403_on_every_staff_page(client, path):
    client.force_login(UserFactory(is_staff=False, role=""))

    assert client.get(path).status_code == 403


def test_an_anonymous_post_to_the_settings_changes_nothing(client):
    mfa_required(required=False)

    response = client.post(SECURITY_SETTINGS_URL, {"is_mfa_required_for_staff": "on"})

    assert response.status_code == 302
    assert StaffSecuritySettings.load().is_mfa_required_for_staff is False


def status_by_method(client, path: str) -> dict[str, int]:
    # Every method, allowed or not: DRF checks authentication and permissions before it answers 405.
    return {method: getattr(client, method)(path, {}, format="json").status_code for method in METHODS}


@pytest.mark.parametrize("endpoint", STAFF_API, ids=str)
def test_the_staff_api_refuses_anonymous_requests(api_client, endpoint):
    statuses = status_by_method(api_client, endpoint.path)

    assert statuses == dict.fromkeys(METHODS, 401)
    assert api_client.get(endpoint.path)["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", STAFF_API, ids=str)
def test_the_staff_api_refuses_a_non_staff_users_token(token_client_for, endpoint):
    client = token_client_for(UserFactory(is_staff=False, role=""))

    assert status_by_method(client, endpoint.path) == dict.fromkeys(METHODS, 403)


@pytest.mark.parametrize("endpoint", STAFF_API, ids=str)
def test_the_staff_api_refuses_a_signed_in_non_staff_user(api_client, endpoint):
    api_client.force_login(UserFactory(is_staff=False, role=""))

    # 403 where the view accepts a session; 401 where only a token authenticates.
    expected = 403 if SessionAuthentication in endpoint.view_class.authentication_classes else 401
    assert status_by_method(api_client, endpoint.path) == dict.fromkeys(METHODS, expected)


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_and_docs_are_public_by_design(client, path):
    assert client.get(path).status_code == 200


# --- Mandatory MFA for staff ---------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_with_mfa_required_staff_without_totp_are_sent_to_set_it_up(client, staff_by_role, role):
    mfa_required(required=True)
    client.force_login(staff_by_role[role])

    response = client.get("/inbox/")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_with_mfa_required_signing_in_without_totp_leads_to_the_setup_page(client, agent, path):
    mfa_required(required=True)
    activate = reverse("mfa_activate_totp")
    reauthenticate = f"{reverse('account_reauthenticate')}?next={quote(activate, safe='')}"

    signed_in = client.post(
        f"{reverse('account_login')}?next={path}", {"login": agent.email, "password": PASSWORD}, follow=True
    )
    # allauth asks for the password once more before an authenticator is added (a fresh
    # reauthentication, not the sign-in), and the MFA rule lets those /accounts/ pages through.
    confirmed = client.post(reauthenticate, {"password": PASSWORD}, follow=True)

    assert signed_in.redirect_chain == [(path, 302), (activate, 302), (reauthenticate, 302)]
    assert signed_in.status_code == 200
    assert confirmed.redirect_chain == [(activate, 302)]
    assert confirmed.status_code == 200
    assert 'name="code"' in confirmed.content.decode()
    assert not Authenticator.objects.filter(user=agent).exists()


@pytest.mark.parametrize("role", list(Role))
def test_with_mfa_required_staff_with_totp_reach_the_inbox(client, staff_by_role, role):
    mfa_required(required=True)
    user = staff_by_role[role]
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)

    response = client.get("/inbox/")

    assert response.status_code == 200


def test_with_mfa_optional_staff_without_totp_reach_the_inbox(client, agent):
    mfa_required(required=False)
    client.force_login(agent)

    assert client.get("/inbox/").status_code == 200
    assert not Authenticator.objects.filter(user=agent).exists()


def test_recovery_codes_alone_do_not_satisfy_mandatory_totp(client, agent):
    mfa_required(required=True)
    Authenticator.objects.create(user=agent, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00" * 20})
    client.force_login(agent)

    response = client.get("/inbox/")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
