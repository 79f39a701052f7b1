"""Tickets, their one timeline of messages, and the agent workspace."""
