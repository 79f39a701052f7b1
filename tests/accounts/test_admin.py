"""The Django admin's agent profile: languages are stored as customers' languages are."""

import pytest
from django.urls import reverse

from accounts.models import AgentProfile
from tests.accounts.factories import AgentProfileFactory

pytestmark = pytest.mark.django_db


def _profile_form(profile, languages):
    return {
        "user": profile.user.pk,
        "languages": languages,
        "chat_capacity": 3,
        "ticket_capacity": 25,
        "availability": profile.availability,
    }


def test_an_agents_languages_are_stored_in_their_supported_form(client, admin_user):
    profile = AgentProfileFactory(languages=[])
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_agentprofile_change", args=[profile.pk]), _profile_form(profile, "pt-BR,ES,zh_CN")
    )

    assert response.status_code == 302
    assert AgentProfile.objects.get(pk=profile.pk).languages == ["pt", "es", "zh-hans"]


def test_an_unsupported_agent_language_is_refused(client, admin_user):
    profile = AgentProfileFactory(languages=["en"])
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_agentprofile_change", args=[profile.pk]), _profile_form(profile, "en,klingon")
    )

    assert response.status_code == 200
    assert "Unsupported language klingon; use one of en, es," in response.content.decode()
    assert AgentProfile.objects.get(pk=profile.pk).languages == ["en"]
