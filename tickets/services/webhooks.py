"""Outbound webhooks: the store's systems hear of ticket events, signed, retried, and delivered once.

A ticket change records one pending delivery per subscribed endpoint inside the writing transaction
(so a rolled-back change announces nothing) and enqueues its delivery after commit. Delivering
locks the row and checks its status first, so a repeated or concurrent task never sends twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from customers.choices import IdentityKind
from customers.models import CustomerIdentity
from tickets.choices import TicketStatus
from tickets.events import TicketChange
from tickets.models import Tag, Ticket, WebhookDelivery, WebhookEndpoint
from tickets.rule_cache import cached_rules
from tickets.services.requeue import requeue_untouched
from tickets.webhook_addresses import PrivateAddressRefused, webhook_session, webhook_url_refusal

logger = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status

# 30 s, 1, 2, 4, 8, 16 min, then every 30 min: the last attempt is about a day after the first, so a
# receiver down for a maintenance window still gets every event.
WEBHOOK_MAX_ATTEMPTS = 54
WEBHOOK_TIMEOUT_SECONDS: float = 10
WEBHOOK_RETRY_BASE_SECONDS = 30
WEBHOOK_RETRY_MAX_SECONDS = 1800  # below the broker's visibility timeout, so a waiting retry is not redelivered
RESPONSE_EXCERPT_BYTES = 500
STALE_WEBHOOK_AGE = timedelta(minutes=15)
STALE_WEBHOOK_BATCH = 500
USER_AGENT = "Helpdesk-Webhooks/1.0"
SIGNATURE_PREFIX = "sha256="
# Events that happen once per ticket (created) or once per solve get ids derived from what they are
# about, so recording them twice hits the unique (endpoint, event_id) constraint instead of doubling.
_EVENT_NAMESPACE = uuid.UUID("7d0f4a4e-9a55-4c1b-8f3e-2b7e1c6f0a11")


@dataclass(frozen=True)
class WebhookAttempt:
    status: str
    is_sent: bool
    retry_in_seconds: int | None = None


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over "{timestamp}.{body}" with the endpoint's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def webhook_retry_countdown(*, attempts: int, retry_after: int | None = None) -> int:
    """Exponential backoff after ``attempts`` failed attempts (30 s, 60 s, 120 s ... 30 min), with jitter."""
    base = min(WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), WEBHOOK_RETRY_MAX_SECONDS)
    countdown = base + secrets.randbelow(max(base // 10, 1))
    if retry_after is not None:
        countdown = max(countdown, retry_after)
    return min(countdown, WEBHOOK_RETRY_MAX_SECONDS)


# --- Recording events -------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ticket_snapshot(ticket_id: int) -> dict[str, Any] | None:
    email = CustomerIdentity.objects.filter(customer=OuterRef("customer"), kind=IdentityKind.EMAIL).order_by(
        "-is_primary", "pk"
    )
    row = (
        Ticket.objects.filter(pk=ticket_id)
        .annotate(customer_email=Subquery(email.values("value")[:1]))
        .values(
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "customer_id",
            "customer__store_customer_id",
            "customer_email",
            "assignee_id",
            "team_id",
            "order__number",
            "order__store_order_id",
            "merged_into__number",
            "version",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
        )
        .first()
    )
    if row is None:
        return None
    tags = sorted(Tag.objects.filter(tickets=ticket_id).values_list("name", flat=True))
    return {
        "id": row["id"],
        "number": row["number"],
        "subject": row["subject"],
        "status": row["status"],
        "priority": row["priority"],
        "channel": row["channel"],
        "customer": {
            "id": row["customer_id"],
            "store_customer_id": row["customer__store_customer_id"],
            "email": row["customer_email"],
        },
        "assignee_id": row["assignee_id"],
        "team_id": row["team_id"],
        "order": (
            {"number": row["order__number"], "store_order_id": row["order__store_order_id"]}
            if row["order__number"] is not None
            else None
        ),
        "merged_into_number": row["merged_into__number"],
        "tags": tags,
        "version": row["version"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "solved_at": _iso(row["solved_at"]),
        "closed_at": _iso(row["closed_at"]),
    }


def _events_for(change: TicketChange, snapshot: dict[str, Any]) -> list[tuple[str, uuid.UUID]]:
    events: list[tuple[str, uuid.UUID]] = []
    if change.change == "created":
        events.append((Event.TICKET_CREATED, uuid.uuid5(_EVENT_NAMESPACE, f"ticket.created:{change.ticket_id}")))
    else:
        events.append((Event.TICKET_UPDATED, uuid.uuid4()))
    if snapshot["status"] == TicketStatus.SOLVED and snapshot["solved_at"]:
        # Read from the row, not the caller's instance: (ticket, solved_at) names this one solve, so a
        # later change while still solved (a note, a tag) finds the event recorded and adds nothing.
        solve = f"ticket.solved:{change.ticket_id}:{snapshot['solved_at']}"
        events.append((Event.TICKET_SOLVED, uuid.uuid5(_EVENT_NAMESPACE, solve)))
    return events


@dataclass(frozen=True)
class _Endpoint:
    pk: int
    events: frozenset[str]


def _active_endpoints() -> list[_Endpoint]:
    return [
        _Endpoint(pk=pk, events=frozenset(events))
        for pk, events in WebhookEndpoint.objects.filter(is_active=True, events__overlap=list(Event.values))
        .order_by("pk")
        .values_list("pk", "events")
    ]


def webhook_events_record(change: TicketChange) -> None:
    """Ticket listener: a pending delivery per active endpoint subscribed to what just happened.

    Runs inside the writing transaction (registered with tickets.events in TicketsConfig.ready());
    the deliveries are enqueued only once it commits.
    """
    endpoints = cached_rules("webhook_endpoints", _active_endpoints)
    if not endpoints:
        return
    snapshot = _ticket_snapshot(change.ticket_id)
    if snapshot is None:
        return
    now = timezone.now().isoformat()
    wanted = [
        WebhookDelivery(
            endpoint_id=endpoint.pk,
            event_id=event_id,
            event_type=event_type,
            payload={"id": str(event_id), "type": event_type, "created_at": now, "data": {"ticket": snapshot}},
        )
        for event_type, event_id in _events_for(change, snapshot)
        for endpoint in endpoints
        if event_type in endpoint.events
    ]
    if not wanted:
        return
    recorded = set(
        WebhookDelivery.objects.filter(
            endpoint__in=[row.endpoint_id for row in wanted], event_id__in=[row.event_id for row in wanted]
        ).values_list("endpoint_id", "event_id")
    )
    rows = [row for row in wanted if (row.endpoint_id, row.event_id) not in recorded]
    if not rows:
        return
    try:
        with transaction.atomic():
            created = WebhookDelivery.objects.bulk_create(rows)
    except IntegrityError:
        # A concurrent transaction recorded the same created/solved event first; it delivers it.
        logger.info("webhook events for ticket %s were already recorded", change.ticket_id)
        return
    delivery_ids = [row.pk for row in created]
    transaction.on_commit(lambda: _enqueue(delivery_ids), robust=True)  # a lost enqueue is swept up later


def _enqueue(delivery_ids: list[int]) -> None:
    from tickets.tasks import deliver_webhook_task

    for delivery_id in delivery_ids:
        deliver_webhook_task.delay(delivery_id)


def webhook_deliveries_requeue_stale(*, now: datetime | None = None) -> int:
    """Queue again every pending delivery nothing is going to send (beat, every few minutes).

    The rows are committed before their tasks are queued, and a retry waits in the broker; a process
    that dies between the two, or a lost retry, would leave a delivery pending for ever. A delivery
    is stale when it was last touched, and was due, more than STALE_WEBHOOK_AGE ago. Sending locks
    and checks the row, so queueing one that is merely slow delivers nothing twice.
    """
    now = now or timezone.now()
    cutoff = now - STALE_WEBHOOK_AGE
    due_long_ago = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff)
    return requeue_untouched(
        WebhookDelivery.objects.filter(due_long_ago, status=Status.PENDING, updated_at__lt=cutoff),
        key="pk",
        now=now,
        batch=STALE_WEBHOOK_BATCH,
        queue=_enqueue,
        what="stale webhook deliveries",
    )


# --- Delivering -------------------------------------------------------------------------------------


def _excerpt(response: requests.Response) -> str:
    try:
        raw = response.raw.read(RESPONSE_EXCERPT_BYTES, decode_content=True) if response.raw is not None else b""
    except (requests.RequestException, OSError):
        raw = b""
    finally:
        response.close()
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _private_address_refusal(error: BaseException) -> PrivateAddressRefused | None:
    """The refusal raised at connect time, however many layers requests and urllib3 wrapped it in."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PrivateAddressRefused):
            return current
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return None


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, bool, int | None]:
    """One POST: (status code, error or "", whether to retry, the receiver's Retry-After)."""
    refusal = webhook_url_refusal(url)
    if refusal:  # never sent: an endpoint on a private address is as unusable as a broken URL
        return None, refusal, False, None
    try:
        response = webhook_session().post(
            url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        return None, f"No answer within {WEBHOOK_TIMEOUT_SECONDS:g} s.", True, None
    except SoftTimeLimitExceeded:  # a receiver that trickles its answer, or many unanswered addresses
        return None, "No complete answer within the delivery's time limit.", True, None
    except requests.ConnectionError as exc:
        refused = _private_address_refusal(exc)
        if refused is not None:  # the name now points somewhere private: retrying cannot make it public
            return None, str(refused), False, None
        return None, f"Could not connect: {exc}", True, None
    except (requests.RequestException, ValueError) as exc:  # an unusable URL: retrying cannot help
        return None, f"The request could not be made: {exc}", False, None
    status_code = response.status_code
    excerpt = _excerpt(response)  # read (and so released) whatever the answer
    if 200 <= status_code < 300:
        return status_code, "", False, None
    if status_code == 429 or status_code >= 500:
        return status_code, f"HTTP {status_code}: {excerpt}", True, _retry_after(response)
    # 3xx (redirects are not followed) and 4xx: the receiver refused this delivery
    return status_code, f"HTTP {status_code}: {excerpt}", False, None


def webhook_deliver(*, delivery_id: int) -> WebhookAttempt:
    """One attempt at a pending delivery: delivered on 2xx, retried on 429, 5xx and network errors
    (up to WEBHOOK_MAX_ATTEMPTS), given up on any other answer. A delivered row is never sent again.

    The row stays locked while the request is out, so a duplicate task waits, then finds it delivered.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return WebhookAttempt(status="missing", is_sent=False)
        if delivery.status != Status.PENDING:
            return WebhookAttempt(status=delivery.status, is_sent=False)
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            delivery.status = Status.FAILED
            delivery.last_error = "The endpoint was deactivated before delivery."
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
            return WebhookAttempt(status=delivery.status, is_sent=False)

        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Helpdesk-Event": delivery.event_type,
            "X-Helpdesk-Delivery": str(delivery.event_id),
            "X-Helpdesk-Timestamp": timestamp,
            "X-Helpdesk-Signature": webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        }
        delivery.attempts += 1
        status_code, error, is_retryable, retry_after = _post(endpoint.url, body=body, headers=headers)
        delivery.last_status_code = status_code
        delivery.last_error = error[:2000]
        retry_in: int | None = None
        if status_code is not None and 200 <= status_code < 300:
            delivery.status = Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif is_retryable and delivery.attempts < WEBHOOK_MAX_ATTEMPTS:
            retry_in = webhook_retry_countdown(attempts=delivery.attempts, retry_after=retry_after)
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        else:
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_status_code",
                "last_error",
                "delivered_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
    if delivery.status == Status.FAILED:
        logger.warning("webhook delivery %s to %s failed: %s", delivery.pk, endpoint.url, delivery.last_error)
    return WebhookAttempt(
        status=delivery.status, is_sent=delivery.status == Status.DELIVERED, retry_in_seconds=retry_in
    )
