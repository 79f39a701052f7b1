"""The one place that says what each role may do, as Django groups and permissions."""

from django.contrib.auth.models import Group, Permission

from accounts.choices import Role

# Each role holds its own permissions plus those of the roles below it.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.AGENT: (
        "tickets.view_ticket",
        "tickets.change_ticket",
        "tickets.add_ticket",
        "tickets.add_message",
        "tickets.view_message",
        "customers.view_customer",
        "customers.change_customer",
        "orders.view_order",
        "orders.view_shipment",
        "orders.view_product",
    ),
    Role.SUPERVISOR: (
        "tickets.view_all_tickets",
        "tickets.delete_ticket",
        "accounts.view_team",
        "accounts.view_dashboards",
    ),
    Role.ADMIN: (
        "accounts.manage_settings",
        "accounts.add_team",
        "accounts.change_team",
        "accounts.change_staffsecuritysettings",
        "customers.delete_customer",
        "orders.add_order",
        "orders.change_order",
    ),
}
ROLE_ORDER = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


def permissions_for_role(role: str) -> set[str]:
    granted: set[str] = set()
    for each in ROLE_ORDER:
        granted.update(ROLE_PERMISSIONS[each])
        if each == role:
            return granted
    raise ValueError(f"Unknown role: {role}")


def sync_role_groups() -> None:
    """Create or update one group per role with exactly its permissions."""
    for role in ROLE_ORDER:
        group, _created = Group.objects.get_or_create(name=role.label)
        wanted = permissions_for_role(role)
        # Permissions appear app by app during migrate; each post_migrate syncs what exists so far.
        available = Permission.objects.select_related("content_type").filter(
            codename__in={dotted.split(".")[1] for dotted in wanted}
        )
        group.permissions.set([p for p in available if f"{p.content_type.app_label}.{p.codename}" in wanted])
