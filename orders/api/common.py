"""What every store sync endpoint shares: money and currency fields, error shapes, token auth."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from accounts.permissions import CanSyncStore
from accounts.token_authentication import CachedTokenAuthentication

STORE_ID_PATTERN = r"[^/]{1,100}"
STORE_SYNC_TAG = "store sync"


class MoneyField(serializers.DecimalField):
    """An amount as a decimal string ("19.99"): a JSON number could already have lost cents."""

    default_error_messages = {"not_a_string": 'Send amounts as decimal strings such as "19.99", never as numbers.'}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": 'Use a three-letter ISO 4217 code in capitals, such as "USD".'})
        kwargs.setdefault("help_text", "ISO 4217 code, e.g. USD.")
        super().__init__(r"^[A-Z]{3}$", **kwargs)


class StoreSyncErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


STORE_SYNC_ERROR_RESPONSES = {
    400: OpenApiResponse(
        description="The payload is not valid (field errors), or names a store record not synced yet."
    ),
    401: OpenApiResponse(StoreSyncErrorOutputSerializer, description="No or an unknown token."),
    403: OpenApiResponse(StoreSyncErrorOutputSerializer, description="The token may not sync store data."),
    409: OpenApiResponse(
        StoreSyncErrorOutputSerializer,
        description="An identity, SKU or order number already belongs to another record.",
    ),
}


class StoreSyncApi(APIView):
    """Store sync is machine to machine: the store's integration user sends its token."""

    authentication_classes = [CachedTokenAuthentication]
    permission_classes = [CanSyncStore]
    parser_classes = [JSONParser]
