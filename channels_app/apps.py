from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from functools import partial

        from anymail.signals import inbound

        from channels_app import realtime
        from channels_app.providers.email import send_email_message
        from channels_app.webhooks import inbound_email_received
        from tickets.choices import Channel
        from tickets.delivery import register_channel_sender
        from tickets.events import (
            register_inbox_sequence_reader,
            register_staff_notifier,
            register_ticket_listener,
            register_ticket_sequence_reader,
        )

        register_ticket_listener(realtime.publish_ticket_change)
        register_inbox_sequence_reader(partial(realtime.latest_sequence, group=realtime.AGENT_INBOX_GROUP))
        register_ticket_sequence_reader(realtime.latest_ticket_sequence)
        register_staff_notifier(realtime.publish_staff_notification)
        # Tickets opened through the API or the web form come with the customer's email address: replies go there.
        for channel in (Channel.EMAIL, Channel.API, Channel.WEB):
            register_channel_sender(channel, send_email_message)
        inbound.connect(inbound_email_received, dispatch_uid="channels_app.inbound_email_received")
