"""Runs the inbound SMTP listener until interrupted."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from channels_app.smtp_listener import smtp_controller


class Command(BaseCommand):
    help = "Accept inbound email over SMTP and turn each message into a ticket message."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SMTP_INBOUND_HOST)
        parser.add_argument("--port", type=int, default=settings.SMTP_INBOUND_PORT)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        controller = smtp_controller(host=host, port=port)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        controller.start()
        self.stdout.write(f"SMTP listener accepting mail on {host}:{port}")
        try:
            stop.wait()
        finally:
            controller.stop()
