"""Celery tasks for tickets: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from accounts.models import Team
from tickets.services.acknowledgement import acknowledgement_requests_requeue_stale, acknowledgements_send_owed
from tickets.services.complaints import complaints_send_extension_notices
from tickets.services.delivery import (
    TRANSIENT_DELIVERY_ERRORS,
    deliveries_requeue_stale,
    message_deliver,
    message_delivery_failed,
)
from tickets.services.routing import team_assign_waiting, teams_assign_waiting_everywhere, ticket_route_after_tagging
from tickets.services.sla import sla_mark_breaches, sla_send_warnings
from tickets.services.webhooks import WEBHOOK_MAX_ATTEMPTS, webhook_deliver, webhook_deliveries_requeue_stale
from tickets.status_effects import tickets_close_solved, tickets_remind_pending


@shared_task(acks_late=True, max_retries=3, autoretry_for=(ConnectionError, OperationalError), retry_backoff=True)
def send_owed_acknowledgements_task(grace_seconds: float = 0.0) -> int:
    return acknowledgements_send_owed(grace_seconds=grace_seconds)


@shared_task(bind=True, acks_late=True, max_retries=6)
def deliver_message_task(self, message_id: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return message_deliver(message_id=message_id)
    except (*TRANSIENT_DELIVERY_ERRORS, SoftTimeLimitExceeded) as error:  # a mail server that hangs, too
        if self.request.retries >= self.max_retries:
            message_delivery_failed(message_id=message_id, error=str(error))
            raise
        raise self.retry(exc=error, countdown=min(2**self.request.retries * 5, 600)) from error


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OperationalError,), retry_backoff=True)
def assign_waiting_tickets_task(team_id: int) -> int:
    team = Team.objects.filter(pk=team_id).first()
    return team_assign_waiting(team=team) if team is not None else 0


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OperationalError,), retry_backoff=True)
def route_tagged_ticket_task(ticket_id: int) -> int | None:
    outcome = ticket_route_after_tagging(ticket_id=ticket_id)
    return outcome.team.pk if outcome is not None and outcome.team is not None else None


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OperationalError,), retry_backoff=True)
def assign_waiting_tickets_everywhere_task() -> int:
    """For beat, every few minutes: the safety net for capacity freed where no hook sees it."""
    return teams_assign_waiting_everywhere()


@shared_task(bind=True, acks_late=True, max_retries=WEBHOOK_MAX_ATTEMPTS, soft_time_limit=60, time_limit=90)
def deliver_webhook_task(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    # The service counts attempts on the row and says when to try again; Celery only waits.
    attempt = webhook_deliver(delivery_id=delivery_id)
    if attempt.retry_in_seconds is not None:
        raise self.retry(countdown=attempt.retry_in_seconds)
    return attempt.status


# --- Timers run by beat (CELERY_BEAT_SCHEDULE): each calls one idempotent service -------------
# No retries: the next beat is the retry, and every batch a run finished is already committed.


@shared_task(acks_late=True, soft_time_limit=50, time_limit=55)
def sla_send_warnings_task() -> int:
    return sla_send_warnings()


@shared_task(acks_late=True, soft_time_limit=50, time_limit=55)
def sla_mark_breaches_task() -> int:
    return sla_mark_breaches()


@shared_task(acks_late=True)
def tickets_close_solved_task() -> int:
    return tickets_close_solved()


@shared_task(acks_late=True)
def tickets_remind_pending_task() -> int:
    return tickets_remind_pending()


@shared_task(acks_late=True)
def complaints_send_extension_notices_task() -> int:
    return complaints_send_extension_notices()


@shared_task(acks_late=True)
def deliveries_requeue_stale_task() -> int:
    return deliveries_requeue_stale()


@shared_task(acks_late=True)
def acknowledgement_requests_requeue_stale_task() -> int:
    return acknowledgement_requests_requeue_stale()


@shared_task(acks_late=True)
def webhook_deliveries_requeue_stale_task() -> int:
    return webhook_deliveries_requeue_stale()
