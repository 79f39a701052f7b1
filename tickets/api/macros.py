"""Macros: GET/POST /api/v1/macros/, PATCH /api/v1/macros/{id}/, and preview/apply on a ticket."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.access import access_macro, access_ticket
from tickets.api.common import (
    MACROS_TAG,
    ErrorOutputSerializer,
    TicketsApi,
    TicketWithMessageOutputSerializer,
    error_responses,
)
from tickets.choices import Priority, TicketStatus
from tickets.models import Macro
from tickets.selectors import macro_list_for_user, ticket_get_for_api
from tickets.services.macros import PLACEHOLDERS, macro_apply, macro_create, macro_render, macro_update

TEXT_HELP = (
    "Text with placeholders: "
    + ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)
    + '. Filters: default ({{ customer.first_name|default:"there" }}), upper, lower, title, date. '
    "Tags: {% if %} / {% elif %} / {% else %} / {% endif %} only."
)


class MacroOutputSerializer(serializers.ModelSerializer):
    is_shared = serializers.SerializerMethodField()
    add_tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    translations = serializers.SerializerMethodField()

    class Meta:
        model = Macro
        fields = [
            "id",
            "name",
            "is_shared",
            "owner_id",
            "body",
            "translations",
            "set_status",
            "set_priority",
            "add_tags",
            "is_active",
            "usage_count",
            "created_at",
            "updated_at",
        ]

    def get_is_shared(self, macro: Macro) -> bool:
        return macro.owner_id is None

    def get_translations(self, macro: Macro) -> dict[str, str]:
        return {row.language: row.body for row in macro.translations.all()}


class MacroListQuerySerializer(serializers.Serializer):
    include_inactive = serializers.BooleanField(default=False)


class MacroListApi(TicketsApi):
    @extend_schema(
        operation_id="macros_list",
        tags=[MACROS_TAG],
        summary="Shared macros and the caller's personal ones",
        parameters=[MacroListQuerySerializer],
        responses={200: MacroOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = MacroListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        macros = macro_list_for_user(
            user=request.user, is_active=None if query.validated_data["include_inactive"] else True
        )
        return Response(MacroOutputSerializer(macros, many=True).data)


class MacroCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    body = serializers.CharField(max_length=20_000, trim_whitespace=False, help_text=TEXT_HELP)
    is_shared = serializers.BooleanField(default=False, help_text="Shared with everyone (admins only).")
    translations = serializers.DictField(
        child=serializers.CharField(max_length=20_000, trim_whitespace=False),
        required=False,
        default=dict,
        help_text='The text per customer language, e.g. {"es": "Hola {{ customer.first_name }}"}.',
    )
    set_status = serializers.ChoiceField(
        choices=TicketStatus.choices, allow_blank=True, default="", help_text="Empty: the status stays."
    )
    set_priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, default="", help_text="Empty: the priority stays."
    )
    add_tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    is_active = serializers.BooleanField(default=True)


class MacroCreateApi(TicketsApi):
    @extend_schema(
        operation_id="macros_create",
        tags=[MACROS_TAG],
        summary="Save a macro",
        description=(
            "A personal macro for the caller, or a shared one (accounts.manage_settings). The text and every "
            "translation are checked: a tag other than if/elif/else/endif, an unknown filter or an unknown "
            "placeholder is a 400 saying which."
        ),
        request=MacroCreateInputSerializer,
        responses={201: MacroOutputSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = MacroCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        macro = macro_create(actor=request.user, **serializer.validated_data)
        return Response(MacroOutputSerializer(macro).data, status=201)


class MacroUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    body = serializers.CharField(max_length=20_000, trim_whitespace=False, required=False, help_text=TEXT_HELP)
    translations = serializers.DictField(
        child=serializers.CharField(max_length=20_000, trim_whitespace=False),
        required=False,
        help_text="Replaces every translation: languages left out are removed.",
    )
    set_status = serializers.ChoiceField(choices=TicketStatus.choices, allow_blank=True, required=False)
    set_priority = serializers.ChoiceField(choices=Priority.choices, allow_blank=True, required=False)
    add_tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    is_active = serializers.BooleanField(required=False)


class MacroUpdateApi(TicketsApi):
    @extend_schema(
        operation_id="macros_update",
        tags=[MACROS_TAG],
        summary="Change a macro",
        description="Only the fields sent change. Shared macros are changed by admins; personal ones by their owner.",
        request=MacroUpdateInputSerializer,
        responses={200: MacroOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, macro_id: int) -> Response:
        macro = access_macro(request.user, macro_id)
        serializer = MacroUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        macro = macro_update(macro_id=macro.pk, actor=request.user, **serializer.validated_data)
        return Response(MacroOutputSerializer(macro).data)


class MacroActionsOutputSerializer(serializers.Serializer):
    set_status = serializers.CharField(allow_null=True)
    set_priority = serializers.CharField(allow_null=True)
    add_tags = serializers.ListField(child=serializers.CharField())


class RenderedMacroOutputSerializer(serializers.Serializer):
    text = serializers.CharField()
    missing_placeholders = serializers.ListField(
        child=serializers.CharField(), help_text="Placeholders with no value for this ticket; apply refuses."
    )
    actions = MacroActionsOutputSerializer()
    language = serializers.CharField(help_text="The translation used; empty for the macro's own text.")
    ticket_version = serializers.IntegerField(help_text="Send it back as expected_version to apply.")


class TicketMacroPreviewApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_macro_preview",
        tags=[MACROS_TAG],
        summary="The macro as it would be sent on this ticket",
        description="Rendered in the customer's language, with any placeholder that would come out empty listed.",
        responses={200: RenderedMacroOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, ticket_id: int, macro_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id)
        macro = access_macro(request.user, macro_id, for_use=True)
        rendered = macro_render(macro=macro, ticket=ticket, agent=request.user)
        output = {
            "text": rendered.text,
            "missing_placeholders": list(rendered.missing_placeholders),
            "actions": {
                "set_status": rendered.actions.set_status,
                "set_priority": rendered.actions.set_priority,
                "add_tags": list(rendered.actions.add_tags),
            },
            "language": rendered.language,
            "ticket_version": ticket.version,
        }
        return Response(RenderedMacroOutputSerializer(output).data)


class TicketMacroApplyInputSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=1, allow_null=True, default=None, help_text="ticket_version from the preview."
    )


class MissingPlaceholdersOutputSerializer(ErrorOutputSerializer):
    missing_placeholders = serializers.ListField(child=serializers.CharField())


class TicketMacroApplyApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_macro_apply",
        tags=[MACROS_TAG],
        summary="Send the macro as a reply and make its changes",
        description=(
            "Sends the rendered text as the caller's reply, then applies the macro's status, priority and "
            "contact reasons, all or nothing. A placeholder with no value sends nothing (400 listing them); "
            "a ticket that changed since expected_version sends nothing (409)."
        ),
        request=TicketMacroApplyInputSerializer,
        responses={
            201: TicketWithMessageOutputSerializer,
            **error_responses(
                401,
                403,
                404,
                409,
                e400=OpenApiResponse(
                    MissingPlaceholdersOutputSerializer,
                    description="Placeholders without a value, an invalid status change, or field errors.",
                ),
            ),
        },
    )
    def post(self, request: Request, ticket_id: int, macro_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        macro = access_macro(request.user, macro_id, for_use=True)
        serializer = TicketMacroApplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = macro_apply(
            macro_id=macro.pk,
            ticket_id=ticket.pk,
            agent=request.user,
            expected_version=serializer.validated_data["expected_version"],
        )
        output = {"message": message, "ticket": ticket_get_for_api(ticket_id=ticket.pk)}
        return Response(TicketWithMessageOutputSerializer(output).data, status=201)
