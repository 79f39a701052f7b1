"""Celery tasks for channels: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from channels_app.imap_poller import imap_mailbox_ids_to_poll, mailbox_poll


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def poll_imap_mailboxes_task() -> int:
    """Beat, every minute: one poll per active mailbox, each its own task so a slow server delays only itself."""
    mailbox_ids = imap_mailbox_ids_to_poll()
    for mailbox_id in mailbox_ids:
        poll_imap_mailbox_task.apply_async(args=(mailbox_id,), expires=55)
    return len(mailbox_ids)


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def poll_imap_mailbox_task(mailbox_id: int) -> int:
    return mailbox_poll(mailbox_id=mailbox_id).received
