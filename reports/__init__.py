"""Read-only dashboards for managers."""
