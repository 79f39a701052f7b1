"""Small template helpers for the agent workspace's hot lists."""

from django import template

register = template.Library()


@register.filter
def label(labels: dict[str, str], value: str) -> str:
    """``{{ labels.status|label:ticket.status }}``: a choice's label from a dict built once per page."""
    return labels.get(value, value)
