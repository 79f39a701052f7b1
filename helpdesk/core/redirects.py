"""Where a form sends the browser afterwards."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def posted_next(request: HttpRequest, *, default: str) -> str:
    """The posted ``next`` if it stays on this site, else ``default``: never a redirect elsewhere."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default
