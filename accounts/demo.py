"""The demo staff accounts that ``seed_demo`` creates and ``make run`` prints."""

from accounts.choices import Role

DEMO_PASSWORD = "helpdesk-demo"  # noqa: S105 - demo data only, printed for the developer
DEMO_STAFF = (
    ("agent@demo.helpdesk.test", "Alex", "Agent", Role.AGENT),
    ("agent2@demo.helpdesk.test", "Bea", "Agent", Role.AGENT),
    ("agent3@demo.helpdesk.test", "Chen", "Agent", Role.AGENT),
    ("supervisor@demo.helpdesk.test", "Sam", "Supervisor", Role.SUPERVISOR),
    ("admin@demo.helpdesk.test", "Ada", "Admin", Role.ADMIN),
)
