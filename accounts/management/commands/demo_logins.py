"""Prints the demo sign-ins for each role and the useful URLs."""

from django.core.management.base import BaseCommand, CommandParser

from accounts.demo import DEMO_PASSWORD, DEMO_STAFF
from accounts.models import User


class Command(BaseCommand):
    help = "Print the demo logins for agent, supervisor and admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: object, base_url: str, **options: object) -> None:
        existing = set(User.objects.filter(email__in=[row[0] for row in DEMO_STAFF]).values_list("email", flat=True))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Helpdesk: {base_url}/"))
        self.stdout.write(f"  Demo store page:  {base_url}/store/demo/")
        self.stdout.write(f"  API docs:         {base_url}/api/docs/")
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD})")
        for email, _first, _last, role in DEMO_STAFF:
            if email in existing:
                self.stdout.write(f"    {role.label:<11} {email}")
        self.stdout.write("")
