"""An input serializer with fields built once per thread validates each instance on its own data."""

import threading

from rest_framework import serializers

from helpdesk.core.input_serializers import FieldsBuiltOncePerThread


class _Contact(FieldsBuiltOncePerThread):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=5, required=False, default="")


def test_each_instance_validates_its_own_data_with_the_same_fields():
    first = _Contact(data={"email": "ana@example.test", "name": "Ana"})
    assert first.is_valid()
    second = _Contact(data={"email": "not an address", "name": "Bartholomew"})

    assert second.is_valid() is False
    assert set(second.errors) == {"email", "name"}
    assert first.validated_data == {"email": "ana@example.test", "name": "Ana"}  # untouched by the second
    assert second.fields["email"] is first.fields["email"]  # built once
    assert second.fields["email"].parent is second  # pointed at the instance using it
    assert _Contact(data={"email": "bea@example.test"}).is_valid()


def test_another_thread_builds_its_own_fields():
    here = _Contact(data={"email": "ana@example.test"}).fields["email"]
    there = []
    thread = threading.Thread(target=lambda: there.append(_Contact(data={"email": "x@example.test"}).fields["email"]))
    thread.start()
    thread.join()

    assert len(there) == 1
    assert there[0] is not here
