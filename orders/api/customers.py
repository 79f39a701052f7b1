"""PUT /api/v1/store/customers/{store_customer_id}/: the store creates or updates a customer."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from customers.choices import IdentityKind
from customers.identities import InvalidIdentityError, identity_value_normalize
from customers.models import Customer
from customers.services import customer_upsert
from helpdesk.core.languages import supported_language
from orders.api.common import STORE_SYNC_ERROR_RESPONSES, STORE_SYNC_TAG, StoreSyncApi


class StoreCustomerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True)
    phone = serializers.CharField(max_length=32, required=False, allow_null=True, help_text="E.164, e.g. +14155550123.")
    language = serializers.CharField(max_length=16, required=False, help_text="A language code such as en or pt-BR.")
    is_marketing_consent_given = serializers.BooleanField(required=False)

    def validate_phone(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return identity_value_normalize(kind=IdentityKind.PHONE, value=value)
        except InvalidIdentityError as error:
            raise serializers.ValidationError(error.message) from error

    def validate_language(self, value: str) -> str:
        language = supported_language(value)
        if language is None:
            supported = ", ".join(code for code, _name in settings.LANGUAGES)
            raise serializers.ValidationError(f"Unsupported language {value!r}; use one of {supported}.")
        return language


class StoreCustomerOutputSerializer(serializers.ModelSerializer):
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "store_customer_id", "name", "email", "phone", "language", "is_marketing_consent_given"]

    def _primary(self, customer: Customer, kind: str) -> str | None:
        identities = [identity for identity in customer.identities.all() if identity.kind == kind]
        primary = next((identity for identity in identities if identity.is_primary), None)
        return (primary or identities[0]).value if identities else None

    def get_email(self, customer: Customer) -> str | None:
        return self._primary(customer, IdentityKind.EMAIL)

    def get_phone(self, customer: Customer) -> str | None:
        return self._primary(customer, IdentityKind.PHONE)


class StoreCustomerUpsertApi(StoreSyncApi):
    @extend_schema(
        operation_id="store_customer_upsert",
        tags=[STORE_SYNC_TAG],
        summary="Create or update a customer by the store's id",
        description=(
            "Idempotent on the store's customer id: 201 when created, 200 otherwise (an unchanged payload "
            "writes nothing). Only the fields sent are written. The email (lower-cased) and phone (E.164) "
            "become the customer's primary identities; earlier ones are kept. A customer the helpdesk already "
            "has with that email or phone and no store id is linked; one linked to another store customer is "
            "a 409."
        ),
        request=StoreCustomerInputSerializer,
        responses={
            200: StoreCustomerOutputSerializer,
            201: StoreCustomerOutputSerializer,
            **STORE_SYNC_ERROR_RESPONSES,
        },
    )
    def put(self, request: Request, store_customer_id: str) -> Response:
        serializer = StoreCustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer, created = customer_upsert(store_customer_id=store_customer_id, **serializer.validated_data)
        return Response(StoreCustomerOutputSerializer(customer).data, status=201 if created else 200)
