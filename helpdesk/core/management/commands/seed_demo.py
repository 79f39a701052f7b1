"""``manage.py seed_demo``: write the demo store (staff, customers, orders, tickets) once."""

import time

from django.core.management.base import BaseCommand, CommandParser

from helpdesk.demo_data import demo_store_is_seeded, demo_store_seed


class Command(BaseCommand):
    help = "Create the demo store: staff logins, 200 customers, 50 products, 500 orders and 300 tickets."
    # `make run` calls this right after `migrate`, which has just run the checks; skipping them keeps --once quick.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Return at once if the demo data is already there (what `make run` calls on every start).",
        )

    def handle(self, *args: object, once: bool, **options: object) -> None:
        if once and demo_store_is_seeded():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        started = time.monotonic()
        result = demo_store_seed()
        elapsed = time.monotonic() - started
        if not result.is_anything_created:
            self.stdout.write(f"Demo data already complete; nothing created ({elapsed:.1f}s).")
            return
        summary = ", ".join(f"{name}={count}" for name, count in result.created.items() if count)
        self.stdout.write(self.style.SUCCESS(f"Demo data created in {elapsed:.1f}s: {summary}."))
