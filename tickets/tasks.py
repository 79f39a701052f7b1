"""Celery tasks for tickets: thin wrappers that take ids and call one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from accounts.models import Team
from tickets.services.acknowledgement import ticket_send_auto_acknowledgement
from tickets.services.delivery import message_deliver, message_delivery_failed
from tickets.services.routing import team_assign_waiting, teams_assign_waiting_everywhere

TRANSIENT_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)


@shared_task(acks_late=True, max_retries=3, autoretry_for=(ConnectionError,), retry_backoff=True)
def send_auto_acknowledgement_task(ticket_id: int) -> int | None:
    message = ticket_send_auto_acknowledgement(ticket_id=ticket_id)
    return message.pk if message else None


@shared_task(bind=True, acks_late=True, max_retries=6)
def deliver_message_task(self, message_id: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return message_deliver(message_id=message_id)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            message_delivery_failed(message_id=message_id, error=str(error))
            raise
        raise self.retry(exc=error, countdown=min(2**self.request.retries * 5, 600)) from error


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OperationalError,), retry_backoff=True)
def assign_waiting_tickets_task(team_id: int) -> int:
    team = Team.objects.filter(pk=team_id).first()
    return team_assign_waiting(team=team) if team is not None else 0


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OperationalError,), retry_backoff=True)
def assign_waiting_tickets_everywhere_task() -> int:
    """For beat, every few minutes: the safety net for capacity freed where no hook sees it."""
    return teams_assign_waiting_everywhere()
