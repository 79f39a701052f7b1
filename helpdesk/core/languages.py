"""Language codes as the helpdesk stores them: the supported variant from settings.LANGUAGES."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext as _

from helpdesk.core.exceptions import ApplicationError


def supported_language(code: str) -> str | None:
    """The supported form of a language code ("pt-BR" -> "pt", "zh_CN" -> "zh-hans"), or None."""
    code = code.strip().replace("_", "-").lower()
    if not code:
        return None
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return None


def supported_languages(codes: Iterable[str]) -> list[str]:
    """Codes in their supported form, in order and without repeats; any unsupported code is refused.

    Customers' languages are stored this way, so a stored code compares with theirs as it is.
    """
    cleaned: list[str] = []
    unsupported: list[str] = []
    for code in codes:
        if not code.strip():
            continue
        variant = supported_language(code)
        if variant is None:
            unsupported.append(code.strip())
        elif variant not in cleaned:
            cleaned.append(variant)
    if unsupported:
        raise ApplicationError(
            _("Unsupported language %(codes)s; use one of %(supported)s.")
            % {"codes": ", ".join(unsupported), "supported": ", ".join(code for code, _name in settings.LANGUAGES)}
        )
    return cleaned
