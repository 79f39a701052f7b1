"""A ticket's timeline: GET .../messages/, POST .../reply/ (to the customer), POST .../notes/ (staff only)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.access import access_ticket
from tickets.api.common import (
    MAX_PAGE_SIZE,
    TICKETS_TAG,
    MessageOutputSerializer,
    MessagePageOutputSerializer,
    StaleTicketOutputSerializer,
    TicketsApi,
    TicketWithMessageOutputSerializer,
    error_responses,
    next_page_url,
)
from tickets.choices import TicketStatus
from tickets.selectors import API_PAGE_SIZE, message_list_for_ticket, ticket_get_for_api
from tickets.services.conversation import ticket_add_note, ticket_reply


class TicketMessageListQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(max_length=200, required=False, help_text="next_cursor of the previous page.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=API_PAGE_SIZE)


class TicketMessageListApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_messages_list",
        tags=[TICKETS_TAG],
        summary="A ticket's messages, oldest first",
        description="Every channel's messages on one timeline, internal notes included (the API is staff only).",
        parameters=[TicketMessageListQuerySerializer],
        responses={200: MessagePageOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id)
        query = TicketMessageListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = message_list_for_ticket(
            ticket_id=ticket.pk,
            cursor=query.validated_data.get("cursor"),
            limit=query.validated_data["limit"],
            include_notes=True,
        )
        return Response(
            {
                "results": MessageOutputSerializer(page.messages, many=True).data,
                "next_cursor": page.next_cursor,
                "next": next_page_url(request, page.next_cursor),
            }
        )


class TicketReplyInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=100_000, help_text="Plain text; sent through the ticket's channel.")
    body_html = serializers.CharField(max_length=200_000, required=False, default="", allow_blank=True)
    expected_version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The ticket's version when the reply was written; if it moved on, nothing is sent (409).",
    )
    last_seen_message_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=TicketStatus.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Change the status with the reply, e.g. pending or solved.",
    )


class TicketReplyApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_reply",
        tags=[TICKETS_TAG],
        summary="Reply to the customer",
        description=(
            "Sent through the channel the customer used, once. With expected_version, a ticket that "
            "changed since (a new customer message, a colleague's reply, a new status or owner) holds the "
            "reply back: 409 with current_version and the ids of the messages to read first."
        ),
        request=TicketReplyInputSerializer,
        responses={
            201: TicketWithMessageOutputSerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                e409=OpenApiResponse(StaleTicketOutputSerializer, description="The ticket changed; nothing sent."),
            ),
        },
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketReplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = ticket_reply(
            ticket_id=ticket.pk,
            author=request.user,
            body_text=data["body"],
            body_html=data["body_html"],
            expected_version=data["expected_version"],
            last_seen_message_id=data["last_seen_message_id"],
            status=data["status"],
        )
        output = {"message": message, "ticket": ticket_get_for_api(ticket_id=ticket.pk)}
        return Response(TicketWithMessageOutputSerializer(output).data, status=201)


class TicketNoteInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=100_000, help_text="Staff only; @alex notifies a colleague.")


class TicketNoteCreateApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_notes_create",
        tags=[TICKETS_TAG],
        summary="Add an internal note",
        description="Visible to staff only, never sent to the customer. Each @mentioned colleague is notified once.",
        request=TicketNoteInputSerializer,
        responses={201: MessageOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketNoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = ticket_add_note(ticket_id=ticket.pk, author=request.user, body_text=serializer.validated_data["body"])
        return Response(MessageOutputSerializer(note).data, status=201)
