"""Input serializers for the busiest endpoints: fields built once per thread, not for every request.

DRF deep-copies a serializer's declared fields for every instance, which re-runs each field's
``__init__`` with its validators: for a request that opens a ticket that was a tenth of its Python
time. A serializer with ``FieldsBuiltOncePerThread`` builds and binds its fields on the first
instance in each thread and hands the same fields to the next instance there, pointed at it.

Only for flat input serializers whose fields keep no state between calls and read nothing from the
serializer's context (no nested serializers, no ``HiddenField`` defaults, no unique-together
validators); a thread uses one instance of such a serializer at a time.
"""

from __future__ import annotations

import threading
from typing import Any

from django.utils.functional import cached_property
from rest_framework import serializers

_by_thread = threading.local()


class FieldsBuiltOncePerThread(serializers.Serializer):
    @cached_property
    def fields(self) -> Any:
        built: dict[type, Any] = _by_thread.__dict__.setdefault("fields", {})
        fields = built.get(type(self))
        if fields is None:
            fields = built[type(self)] = serializers.Serializer.__dict__["fields"].func(self)
            return fields
        fields.serializer = self
        for field in fields.values():
            field.parent = self
        return fields
