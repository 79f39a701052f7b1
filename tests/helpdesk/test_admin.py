import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

MODELS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model in admin.site._registry
    if model._meta.app_label in {"accounts", "customers", "orders", "tickets", "channels_app", "surveys"}
)


@pytest.mark.parametrize(("app_label", "model_name"), MODELS)
def test_every_core_model_has_a_working_admin_list(client, app_label, model_name):
    client.force_login(User.objects.create_superuser("root@example.test", "pw-long-enough-1"))

    response = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))

    assert response.status_code == 200


def test_the_admin_covers_the_core_data_model():
    assert {("accounts", "user"), ("customers", "customer"), ("orders", "order"), ("tickets", "ticket")} <= set(MODELS)
