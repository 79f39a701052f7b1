"""Changes to a ticket: POST .../status/, .../priority/, .../tags/, .../assignment/, .../escalate/, .../merge/."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Team, User
from tickets.access import access_ticket
from tickets.api.common import (
    TICKETS_TAG,
    StaffOutputSerializer,
    TeamOutputSerializer,
    TicketOutputSerializer,
    TicketsApi,
    error_responses,
)
from tickets.choices import Priority, TicketStatus
from tickets.models import Escalation
from tickets.selectors import ticket_get_for_api
from tickets.services.lifecycle import (
    ticket_assign,
    ticket_change_status,
    ticket_escalate,
    ticket_set_priority,
    ticket_set_tags,
)
from tickets.services.merge import ticket_merge

TICKET_CHANGE_ERRORS = error_responses(400, 401, 403, 404)


def _ticket_response(ticket_id: int) -> Response:
    return Response(TicketOutputSerializer(ticket_get_for_api(ticket_id=ticket_id)).data)


class TicketStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)


class TicketStatusApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_status_change",
        tags=[TICKETS_TAG],
        summary="Change the status",
        description=(
            "Checked against the status machine: new -> open/pending/on hold/solved; open, pending and on "
            "hold move among themselves or to solved; solved -> open or closed; closed never changes. A "
            "refused transition is a 400 whose detail says why. Solving asks the customer to confirm."
        ),
        request=TicketStatusInputSerializer,
        responses={200: TicketOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketStatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket_change_status(ticket_id=ticket.pk, status=serializer.validated_data["status"], actor=request.user)
        return _ticket_response(ticket.pk)


class TicketPriorityInputSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class TicketPriorityApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_priority_set",
        tags=[TICKETS_TAG],
        summary="Set the priority",
        request=TicketPriorityInputSerializer,
        responses={200: TicketOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketPriorityInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket_set_priority(ticket_id=ticket.pk, priority=serializer.validated_data["priority"], actor=request.user)
        return _ticket_response(ticket.pk)


class TicketTagsInputSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    remove = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError("Name contact reasons to add or to remove.")
        return attrs


class TicketTagsApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_tags_change",
        tags=[TICKETS_TAG],
        summary="Add and remove contact reasons",
        description="Only contact reasons admins keep (GET /api/v1/tags/) may be added; an unknown name is a 400.",
        request=TicketTagsInputSerializer,
        responses={200: TicketOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketTagsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket_set_tags(
            ticket_id=ticket.pk,
            actor=request.user,
            add=serializer.validated_data["add"],
            remove=serializer.validated_data["remove"],
        )
        return _ticket_response(ticket.pk)


def _active_staff() -> Any:
    return User.objects.filter(is_active=True, is_staff=True)


class TicketAssignmentInputSerializer(serializers.Serializer):
    assignee_id = serializers.PrimaryKeyRelatedField(
        queryset=_active_staff(), allow_null=True, help_text="An active staff member, or null to unassign."
    )
    team_id = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        allow_null=True,
        required=False,
        help_text="Leave out to keep the ticket's team; null takes it off its team.",
    )


class TicketAssignmentApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_assign",
        tags=[TICKETS_TAG],
        summary="Assign to a colleague and/or a team",
        description="Assigning a new ticket opens it.",
        request=TicketAssignmentInputSerializer,
        responses={200: TicketOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketAssignmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket_assign(
            ticket_id=ticket.pk,
            actor=request.user,
            assignee=data["assignee_id"],
            team=data.get("team_id"),
            keep_team="team_id" not in data,
        )
        return _ticket_response(ticket.pk)


class TicketEscalateInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    team_id = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    supervisor_id = serializers.PrimaryKeyRelatedField(
        queryset=_active_staff(), allow_null=True, required=False, help_text="A supervisor or admin."
    )


class EscalationOutputSerializer(serializers.ModelSerializer):
    escalated_by = StaffOutputSerializer()
    to_team = TeamOutputSerializer(allow_null=True)
    to_supervisor = StaffOutputSerializer(allow_null=True)

    class Meta:
        model = Escalation
        fields = ["id", "ticket_id", "escalated_by", "to_team", "to_supervisor", "reason", "created_at"]


class TicketEscalateApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_escalate",
        tags=[TICKETS_TAG],
        summary="Escalate to a team or a supervisor",
        description="Records who escalated, when and why; the ticket moves to that team and/or supervisor.",
        request=TicketEscalateInputSerializer,
        responses={201: EscalationOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketEscalateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        escalation = ticket_escalate(
            ticket_id=ticket.pk,
            actor=request.user,
            reason=data["reason"],
            team=data.get("team_id"),
            supervisor=data.get("supervisor_id"),
        )
        return Response(EscalationOutputSerializer(escalation).data, status=201)


class TicketMergeInputSerializer(serializers.Serializer):
    into_ticket_id = serializers.IntegerField(min_value=1, help_text="The ticket that carries on.")
    merge_customers = serializers.BooleanField(
        default=False,
        help_text=(
            "The two tickets' customers are one person: fold this ticket's customer (identities, orders, "
            "other tickets) into the other ticket's. Without it, tickets of different customers are refused."
        ),
    )


class TicketMergeApi(TicketsApi):
    @extend_schema(
        operation_id="tickets_merge",
        tags=[TICKETS_TAG],
        summary="Merge this ticket into another",
        description=(
            "This ticket's messages, tags and order move to the other one; this ticket closes and points "
            "to it. Both tickets must be ones the caller may change. Tickets of different customers need "
            "merge_customers. Answers with the ticket that carries on."
        ),
        request=TicketMergeInputSerializer,
        responses={200: TicketOutputSerializer, **TICKET_CHANGE_ERRORS},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        source = access_ticket(request.user, ticket_id, for_change=True)
        serializer = TicketMergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = access_ticket(request.user, serializer.validated_data["into_ticket_id"], for_change=True)
        merged = ticket_merge(
            source_id=source.pk,
            target_id=target.pk,
            actor=request.user,
            merge_customers=serializer.validated_data["merge_customers"],
        )
        return _ticket_response(merged.pk)
