"""Contact reasons: GET /api/v1/tags/ (everyone on staff), POST /api/v1/tags/ (admins)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.api.common import CONTACT_REASONS_TAG, TicketsApi, error_responses
from tickets.models import Tag
from tickets.selectors import tag_list
from tickets.services.tags import TAG_NAME_MAX_LENGTH, tag_create


class TagOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "is_complaint"]


class TagListApi(TicketsApi):
    @extend_schema(
        operation_id="tags_list",
        tags=[CONTACT_REASONS_TAG],
        summary="The contact reasons tickets may be tagged with",
        responses={200: TagOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(TagOutputSerializer(tag_list(), many=True).data)


class TagCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=TAG_NAME_MAX_LENGTH)
    is_complaint = serializers.BooleanField(
        default=False, help_text="Tagging a ticket with it starts the complaint clock."
    )


class TagCreateApi(TicketsApi):
    @extend_schema(
        operation_id="tags_create",
        tags=[CONTACT_REASONS_TAG],
        summary="Add a contact reason",
        description="Admins only (accounts.manage_settings).",
        request=TagCreateInputSerializer,
        responses={201: TagOutputSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = TagCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = tag_create(actor=request.user, **serializer.validated_data)
        return Response(TagOutputSerializer(tag).data, status=201)
