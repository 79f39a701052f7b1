"""Reads for the channel pages."""

from __future__ import annotations

from django.db.models import QuerySet

from channels_app.models import QuarantinedEmail


def quarantined_email_list(*, is_resolved: bool = False) -> QuerySet[QuarantinedEmail]:
    """Quarantined emails for review, newest first; the raw bytes stay in the database until downloaded."""
    return (
        QuarantinedEmail.objects.filter(is_resolved=is_resolved)
        .defer("raw_message")
        .select_related("resolved_message__ticket", "resolved_by")
        .order_by("-created_at", "-id")
    )
