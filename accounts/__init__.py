"""Staff users, roles, teams, MFA and agent availability."""
