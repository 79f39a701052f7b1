"""GET /api/v1/tickets/ (list), POST /api/v1/tickets/ (create through ingest), GET /api/v1/tickets/{id}/."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from customers.choices import IdentityKind
from helpdesk.core.exceptions import ConflictError, PermissionDeniedError
from helpdesk.core.input_serializers import FieldsBuiltOncePerThread
from helpdesk.core.languages import supported_language
from tickets.access import ADD_TICKET, access_ticket, tickets_visible_to
from tickets.api.common import (
    MAX_PAGE_SIZE,
    TICKETS_TAG,
    TicketOutputSerializer,
    TicketPageOutputSerializer,
    TicketsApi,
    error_responses,
    next_page_url,
)
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models import Ticket
from tickets.selectors import API_PAGE_SIZE, TicketListFilters, ticket_get_for_api, ticket_list_for_api
from tickets.services.ingest import InboundMessage, ingest

# --- List -----------------------------------------------------------------------------------------


def _as_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class TicketListQuerySerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(
        choices=TicketStatus.choices, required=False, help_text="Repeat for several: ?status=new&status=open"
    )
    priority = serializers.MultipleChoiceField(choices=Priority.choices, required=False)
    channel = serializers.MultipleChoiceField(choices=Channel.choices, required=False)
    assignee = serializers.RegexField(
        r"^(me|none|\d{1,18})$", required=False, help_text='"me", "none" (unassigned) or a staff user id.'
    )
    team = serializers.RegexField(r"^(none|\d{1,18})$", required=False, help_text='"none" or a team id.')
    tag = serializers.CharField(max_length=64, required=False, help_text="A contact reason's name.")
    q = serializers.CharField(
        max_length=200,
        required=False,
        help_text="A ticket number (1042 or #1042), an order number, a customer's email address, "
        "a customer's name, or words from the messages.",
    )
    cursor = serializers.CharField(max_length=200, required=False, help_text="next_cursor of the previous page.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=API_PAGE_SIZE)

    def to_filters(self, *, user: User) -> TicketListFilters:
        data: dict[str, Any] = self.validated_data
        assignee, team = data.get("assignee"), data.get("team")
        return TicketListFilters(
            statuses=tuple(sorted(data.get("status", ()))),
            priorities=tuple(sorted(data.get("priority", ()))),
            channels=tuple(sorted(data.get("channel", ()))),
            is_unassigned=assignee == "none",
            assignee_id=user.pk if assignee == "me" else _as_id(assignee),
            is_without_team=team == "none",
            team_id=_as_id(team),
            tag=data.get("tag", ""),
            search=data.get("q", ""),
        )


class TicketListApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_list",
        tags=[TICKETS_TAG],
        summary="List the tickets the caller may see",
        description=(
            "Newest activity first, paged by keyset: follow `next` (or pass `next_cursor` as `?cursor=`) "
            "until it is null. Agents see tickets assigned to them, their teams' tickets and unrouted "
            "tickets (no assignee, no team); supervisors and admins see every ticket. Merged tickets are "
            "left out (they live on in the ticket they were merged into)."
        ),
        parameters=[TicketListQuerySerializer],
        responses={200: TicketPageOutputSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = TicketListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = ticket_list_for_api(
            user=request.user,
            filters=query.to_filters(user=request.user),
            cursor=query.validated_data.get("cursor"),
            limit=query.validated_data["limit"],
        )
        return Response(
            {
                "results": TicketOutputSerializer(page.tickets, many=True).data,
                "next_cursor": page.next_cursor,
                "next": next_page_url(request, page.next_cursor),
            }
        )


# --- Create ---------------------------------------------------------------------------------------


class TicketCreateInputSerializer(FieldsBuiltOncePerThread):
    customer_email = serializers.EmailField(max_length=254)
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=100_000, help_text="The customer's message, plain text.")
    channel = serializers.ChoiceField(
        choices=Channel.choices, default=Channel.API, help_text="Where the customer wrote; api unless told."
    )
    language = serializers.CharField(
        max_length=16, required=False, help_text="The customer's language (en, pt-BR ...), for a new customer."
    )
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Your id for this request. Sending the same id again returns the ticket it made, not a second.",
    )

    def validate_language(self, value: str) -> str:
        language = supported_language(value)
        if language is None:
            supported = ", ".join(code for code, _name in settings.LANGUAGES)
            raise serializers.ValidationError(f"Unsupported language {value!r}; use one of {supported}.")
        return language


class TicketCreateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    message_id = serializers.IntegerField()
    is_new_ticket = serializers.BooleanField(help_text="False when the message joined an open conversation.")
    is_duplicate = serializers.BooleanField(help_text="True when external_id was sent before.")


class TicketCreateApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_create",
        tags=[TICKETS_TAG],
        summary="Open a ticket for a customer's message",
        description=(
            "The message enters through the same door as every channel (ingest): the customer is found "
            "by email or created, the desk's rules run, and the customer gets the usual acknowledgement. "
            "201 with the ticket's number when a ticket was opened. 200 when nothing new was opened: the "
            "external_id was sent before (is_duplicate), or the message continues the customer's open "
            "conversation on that channel (is_new_ticket false), exactly as it would arriving by itself. "
            "It joins only conversations the caller may see; otherwise it opens a ticket of its own. "
            "Needs the tickets.add_ticket permission; 409 when the external_id was already used for a "
            "ticket the caller may not see."
        ),
        request=TicketCreateInputSerializer,
        responses={
            201: TicketCreateOutputSerializer,
            200: OpenApiResponse(TicketCreateOutputSerializer, description="Duplicate, or joined a ticket."),
            **error_responses(400, 401, 403, 409),
        },
    )
    def post(self, request: Request) -> Response:
        if not request.user.has_perm(ADD_TICKET):
            raise PermissionDeniedError(_("You may not open tickets."))
        serializer = TicketCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = ingest(
            staff_caller=request.user,
            inbound=InboundMessage(
                channel=data["channel"],
                sender_kind=IdentityKind.EMAIL,
                sender_address=data["customer_email"],
                sender_name=data["customer_name"],
                subject=data["subject"],
                body_text=data["body"],
                external_message_id=data.get("external_id"),
                language=data.get("language"),
            ),
        )
        if (
            result.is_duplicate
            and not Ticket.objects.filter(tickets_visible_to(request.user), pk=result.ticket.pk).exists()
        ):
            raise ConflictError(_("This external_id was already used, for a ticket you may not see."))
        output = {
            "id": result.ticket.pk,
            "number": result.ticket.number,
            "status": result.ticket.status,
            "message_id": result.message.pk,
            "is_new_ticket": result.is_new_ticket,
            "is_duplicate": result.is_duplicate,
        }
        return Response(output, status=201 if result.is_new_ticket else 200)


# --- Detail ---------------------------------------------------------------------------------------


class TicketDetailApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_retrieve",
        tags=[TICKETS_TAG],
        summary="One ticket",
        responses={200: TicketOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id)
        return Response(TicketOutputSerializer(ticket_get_for_api(ticket_id=ticket.pk)).data)
