"""Macros: canned replies with placeholders, rendered in a sandbox, and the changes they make to a ticket.

The sandbox is a template engine of its own: no loaders, no built-in tags or filters except ``if`` /
``elif`` / ``else`` and the filters default, upper, lower, title and date, and a context of plain
dicts and strings built here. A macro can therefore name only the placeholders below; nothing in it
can reach a model, a setting or a file. Saving refuses any other tag, filter or placeholder, a
placeholder as a filter's argument, and a time of day printed from a date; rendering reports every
placeholder that would come out empty, and any text that cannot render, so the agent sees it before
anything is sent.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import (
    FilterExpression,
    Lexer,
    Node,
    NodeList,
    TokenType,
    Variable,
    VariableDoesNotExist,
    VariableNode,
)
from django.template.defaulttags import IfNode, TemplateLiteral
from django.utils import dateformat, timezone, translation
from django.utils.formats import FORMAT_SETTINGS
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from orders.models import Order, Shipment
from tickets.choices import Priority, TicketStatus
from tickets.models import Macro, MacroTranslation, Message, Tag, Ticket
from tickets.services.conversation import StaleTicketError, ticket_reply
from tickets.services.lifecycle import ticket_lock, ticket_set_priority, ticket_set_tags
from tickets.services.tags import tags_named

PLACEHOLDERS = (
    "customer.first_name",
    "order.number",
    "order.tracking_link",
    "order.expected_delivery",
    "ticket.number",
    "agent.first_name",
)
ALLOWED_TAG_ORDER = ("if", "elif", "else", "endif")
ALLOWED_TAGS = frozenset(ALLOWED_TAG_ORDER)
ALLOWED_FILTERS = ("default", "upper", "lower", "title", "date")
# Placeholders whose value is a calendar date, not a moment: a time of day cannot be printed from them.
DATE_PLACEHOLDERS = frozenset({"order.expected_delivery"})
MANAGE_SETTINGS = "accounts.manage_settings"

logger = logging.getLogger(__name__)

# The sandbox engine's only library (passed to the engine by this module's dotted path).
register = Library()
register.tag("if", defaulttags.do_if)
for _name in ALLOWED_FILTERS:
    register.filter(_name, getattr(defaultfilters, _name))


class _SandboxEngine(Engine):
    default_builtins = []  # not even Django's defaulttags: no {% load %}, {% include %}, {% url %}


@functools.cache
def _engine() -> Engine:
    return _SandboxEngine(loaders=[], libraries={}, builtins=[__name__], autoescape=False, string_if_invalid="")


class MacroTemplateError(ApplicationError):
    """The macro text uses something the sandbox does not offer."""


class MacroPlaceholderMissingError(ApplicationError):
    """Sending would leave a placeholder empty; the agent fills it in by hand instead."""


@dataclass(frozen=True)
class MacroActions:
    set_status: str | None
    set_priority: str | None
    add_tags: tuple[str, ...]


@dataclass(frozen=True)
class RenderedMacro:
    text: str
    missing_placeholders: tuple[str, ...]
    actions: MacroActions
    language: str  # the translation used, or "" for the macro's own text


# --- Reading a macro's text -------------------------------------------------------------------------


def _lookup(variable: Variable) -> str | None:
    """The dotted name of a variable, or None for a literal such as "there"."""
    return ".".join(variable.lookups) if variable.lookups is not None else None


def _expression_lookups(expression: FilterExpression) -> Iterator[str]:
    if isinstance(expression.var, Variable) and (name := _lookup(expression.var)) is not None:
        yield name
    for _func, args in expression.filters:
        for _is_lookup, arg in args:
            if isinstance(arg, Variable) and (name := _lookup(arg)) is not None:
                yield name


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    """The expressions inside an {% if %} condition (a tree of smartif operators over literals)."""
    if condition is None:
        return
    if isinstance(condition, TemplateLiteral):
        value: FilterExpression = condition.value  # type: ignore[assignment]  # the stubs say a constant
        yield value
        return
    for operand in (getattr(condition, "first", None), getattr(condition, "second", None)):
        yield from _condition_expressions(operand)


def _template_expressions(template: Template) -> Iterator[FilterExpression]:
    """Every placeholder expression in the text: those printed and those inside {% if %} conditions."""
    # get_nodes_by_type returns only nodes of that type; the isinstance checks narrow the stubs' Node.
    for variable_node in template.nodelist.get_nodes_by_type(VariableNode):
        if isinstance(variable_node, VariableNode):
            yield variable_node.filter_expression
    for if_node in template.nodelist.get_nodes_by_type(IfNode):
        if not isinstance(if_node, IfNode):
            continue
        for condition, _branch in if_node.conditions_nodelists:
            yield from _condition_expressions(condition)


def _template_lookups(template: Template) -> set[str]:
    names: set[str] = set()
    for expression in _template_expressions(template):
        names.update(_expression_lookups(expression))
    return names


def _time_specifiers(date_format: str) -> list[str]:
    """The time-of-day letters in a date filter's format (a named format such as TIME_FORMAT is all time)."""
    if date_format in FORMAT_SETTINGS:
        return [date_format] if "TIME" in date_format else []
    pieces = dateformat.re_formatchars.split(date_format)
    return [piece for index, piece in enumerate(pieces) if index % 2 and hasattr(dateformat.TimeFormat, piece)]


def _check_filter_arguments(template: Template) -> None:
    """Filter arguments are quoted text; a date placeholder's format prints no time of day."""
    for expression in _template_expressions(template):
        name = _lookup(expression.var) if isinstance(expression.var, Variable) else None
        for func, args in expression.filters:
            for _is_lookup, arg in args:
                if isinstance(arg, Variable) and (argument := _lookup(arg)) is not None:
                    raise MacroTemplateError(
                        _(
                            "%(argument)s cannot be a filter's argument; write quoted text instead, "
                            'such as default:"there".'
                        )
                        % {"argument": _braced(argument)}
                    )
                if func is defaultfilters.date and name in DATE_PLACEHOLDERS and isinstance(arg, str):
                    found = _time_specifiers(arg)
                    if found:
                        raise MacroTemplateError(
                            _(
                                "%(placeholder)s is a date without a time of day; its date format cannot use "
                                "%(specifiers)s. Use letters such as D j M Y."
                            )
                            % {"placeholder": _braced(name), "specifiers": ", ".join(found)}
                        )


def _compile(source: str) -> Template:
    """Compile macro text in the sandbox, or say exactly what it may not use."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            command = (token.contents.split() or [""])[0]
            if command not in ALLOWED_TAGS:
                raise MacroTemplateError(
                    _("%(tag)s is not allowed in a macro; the only tags are %(allowed)s.")
                    % {
                        "tag": "{% " + command + " %}",
                        "allowed": ", ".join("{% " + t + " %}" for t in ALLOWED_TAG_ORDER),
                    }
                )
    try:
        return _engine().from_string(source)
    except TemplateSyntaxError as error:
        raise MacroTemplateError(
            _(
                "The macro cannot be read: %(error)s. Placeholders look like {{ order.number }}; "
                "the filters are %(filters)s."
            )
            % {"error": error, "filters": ", ".join(ALLOWED_FILTERS)}
        ) from error


def _braced(name: str) -> str:
    return "{{ " + name + " }}"


def macro_text_validate(source: str) -> None:
    """Refuse macro text using a tag, filter or placeholder the sandbox does not offer."""
    template = _compile(source)
    unknown = sorted(_template_lookups(template) - set(PLACEHOLDERS))
    if unknown:
        raise MacroTemplateError(
            _("Unknown placeholders: %(unknown)s. A macro may use %(known)s.")
            % {
                "unknown": ", ".join(_braced(name) for name in unknown),
                "known": ", ".join(_braced(name) for name in PLACEHOLDERS),
            }
        )
    _check_filter_arguments(template)


# --- Rendering for one ticket -----------------------------------------------------------------------


def _customer_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _order_for(ticket: Ticket) -> Order | None:
    """The ticket's order, or else the customer's latest: what a customer writing in usually means."""
    if ticket.order_id is not None:
        return Order.objects.filter(pk=ticket.order_id).first()
    return Order.objects.filter(customer_id=ticket.customer_id).order_by("-placed_at", "-id").first()


def _placeholder_values(*, ticket: Ticket, agent: User) -> dict[str, dict[str, Any]]:
    """Plain values only: the sandbox never sees a model instance."""
    customer = ticket.customer
    order = _order_for(ticket)
    shipment = (
        Shipment.objects.filter(order=order).order_by("-created_at", "-id").first() if order is not None else None
    )
    expected: date | None = None
    if shipment is not None and shipment.estimated_delivery_at is not None:
        expected = shipment.estimated_delivery_at.astimezone(_customer_zone(customer.timezone)).date()
    return {
        "customer": {"first_name": customer.first_name},
        "order": {
            "number": order.number if order is not None else "",
            "tracking_link": shipment.tracking_url if shipment is not None else "",
            "expected_delivery": expected if expected is not None else "",  # never printed as "None"
        },
        "ticket": {"number": str(ticket.number)},
        "agent": {"first_name": agent.first_name},
    }


def _rendered_variable_nodes(nodelist: NodeList, context: Context) -> Iterator[VariableNode]:
    """The placeholders that actually print, following {% if %} exactly as rendering does."""
    node: Node
    for node in nodelist:
        if isinstance(node, VariableNode):
            yield node
        elif isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                try:
                    matched = True if condition is None else condition.eval(context)  # type: ignore[arg-type]
                except VariableDoesNotExist:  # as IfNode.render: a condition that cannot resolve is false
                    matched = False
                if matched:
                    yield from _rendered_variable_nodes(branch, context)
                    break


def _missing_placeholders(template: Template, context: Context) -> tuple[str, ...]:
    """Unknown placeholders, and those whose printed output is empty: what the customer would read is
    what counts, after every filter (a default that is itself empty, a date of a text)."""
    missing = set(_template_lookups(template) - set(PLACEHOLDERS))
    with context.bind_template(template):
        for node in _rendered_variable_nodes(template.nodelist, context):
            names = [name for name in _expression_lookups(node.filter_expression) if name in PLACEHOLDERS]
            if names and not node.render(context).strip():
                missing.update(names)
    return tuple(sorted(missing))


def _text_for_language(macro: Macro, language: str) -> tuple[str, str]:
    """The customer's translation (exact, then the base language: pt-br -> pt), else the macro's text."""
    language = (language or "").lower()
    candidates = [language, language.split("-")[0]] if language else []
    translations = {
        row.language.lower(): row.body for row in MacroTranslation.objects.filter(macro=macro, language__in=candidates)
    }
    for candidate in candidates:
        if candidate in translations:
            return translations[candidate], candidate
    return macro.body, ""


def _actions(macro: Macro) -> MacroActions:
    return MacroActions(
        set_status=macro.set_status or None,
        set_priority=macro.set_priority or None,
        add_tags=tuple(macro.add_tags.order_by("name").values_list("name", flat=True)),
    )


def macro_render(*, macro: Macro, ticket: Ticket, agent: User) -> RenderedMacro:
    """The macro's text for this ticket in the customer's language when it has a translation, and what would
    still be empty."""
    customer = ticket.customer
    source, used_language = _text_for_language(macro, customer.language)
    values = _placeholder_values(ticket=ticket, agent=agent)
    try:
        template = _compile(source)
    except MacroTemplateError as error:
        # Saved before a rule tightened, or written around the services: never rendered, always blocked.
        return RenderedMacro(
            text=source, missing_placeholders=(error.message,), actions=_actions(macro), language=used_language
        )
    # Dates and numbers are written in the language of the text sent: the customer's (the variant they
    # speak, pt-br for a pt translation) when a translation is used, else the desk's own.
    with (
        translation.override(customer.language if used_language else settings.LANGUAGE_CODE),
        timezone.override(_customer_zone(customer.timezone)),
    ):
        try:
            text = template.render(Context(values, autoescape=False)).strip()
            missing = _missing_placeholders(template, Context(values, autoescape=False))
        except Exception as error:  # whatever a stored text trips on, the agent sees it instead
            logger.warning("macro %s cannot be rendered for ticket %s: %r", macro.pk, ticket.pk, error)
            problem = _("This macro cannot be rendered for this ticket, so nothing can be sent: %(error)s") % {
                "error": error
            }
            return RenderedMacro(
                text=source, missing_placeholders=(problem,), actions=_actions(macro), language=used_language
            )
    return RenderedMacro(text=text, missing_placeholders=missing, actions=_actions(macro), language=used_language)


@transaction.atomic
def macro_apply(
    *,
    macro_id: int,
    ticket_id: int,
    agent: User,
    expected_version: int | None,
    last_seen_message_id: int | None = None,
) -> Message:
    """Send the macro as the agent's reply and make its changes, or send nothing if a placeholder is empty.

    A ticket that moved on since ``expected_version`` gets nothing: the StaleTicketError carries the
    text that was held back (``held_back_text``) so the agent can reread it against the new messages.
    """
    macro = Macro.objects.filter(pk=macro_id, is_active=True).first()
    if macro is None or (macro.owner_id is not None and macro.owner_id != agent.pk):
        raise NotFoundError(_("There is no such macro, or it is someone else's personal macro."))
    ticket = ticket_lock(ticket_id=ticket_id)
    rendered = macro_render(macro=macro, ticket=ticket, agent=agent)
    if rendered.missing_placeholders:
        raise MacroPlaceholderMissingError(
            _("Nothing was sent: these placeholders have no value for this ticket: %(names)s. Write the reply by hand.")
            % {"names": ", ".join(rendered.missing_placeholders)},
            extra={"missing_placeholders": list(rendered.missing_placeholders)},
        )
    try:
        message = ticket_reply(
            ticket_id=ticket.pk,
            author=agent,
            body_text=rendered.text,
            expected_version=expected_version,
            last_seen_message_id=last_seen_message_id,
            status=rendered.actions.set_status,
        )
    except StaleTicketError as error:
        error.extra["held_back_text"] = rendered.text
        raise
    if rendered.actions.set_priority:
        ticket_set_priority(ticket_id=ticket.pk, priority=rendered.actions.set_priority, actor=agent)
    if rendered.actions.add_tags:
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=rendered.actions.add_tags)
    Macro.objects.filter(pk=macro.pk).update(usage_count=F("usage_count") + 1)
    return message


# --- Keeping macros ---------------------------------------------------------------------------------


def _check_may_keep(*, actor: User, is_shared: bool) -> None:
    if is_shared and not actor.has_perm(MANAGE_SETTINGS):
        raise PermissionDeniedError(_("Only admins keep shared macros; save it as a personal macro instead."))


def _validated_actions(*, set_status: str, set_priority: str) -> None:
    if set_status and (set_status not in TicketStatus.values or set_status == TicketStatus.NEW):
        raise ApplicationError(_("A macro cannot set the status %(status)s.") % {"status": set_status})
    if set_priority and set_priority not in Priority.values:
        raise ApplicationError(_("Unknown priority: %(priority)s") % {"priority": set_priority})


def _tags_named(names: Iterable[str]) -> list[Tag]:
    found, unknown = tags_named(names)
    if unknown:
        raise ApplicationError(_("Unknown contact reasons: %(names)s") % {"names": ", ".join(unknown)})
    return sorted(set(found.values()), key=lambda tag: tag.pk)


def _validated_translations(translations: Mapping[str, str]) -> dict[str, str]:
    supported = {code for code, _label in settings.LANGUAGES}
    cleaned: dict[str, str] = {}
    for language, body in translations.items():
        code = language.strip().lower().replace("_", "-")
        if code not in supported:
            raise ApplicationError(
                _("Unsupported language %(language)s; use one of %(supported)s.")
                % {"language": language, "supported": ", ".join(sorted(supported))}
            )
        if not body.strip():
            raise ApplicationError(_("The %(language)s translation is empty.") % {"language": code})
        try:
            macro_text_validate(body)
        except MacroTemplateError as error:
            raise MacroTemplateError(f"{code}: {error.message}") from error
        cleaned[code] = body
    return cleaned


def _check_name_free(*, name: str, owner: User | None, exclude_pk: int | None = None) -> None:
    # The unique (name, owner) constraint cannot see shared macros (owner NULL), so check here too.
    taken = Macro.objects.filter(name=name, owner=owner)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ConflictError(_("There already is a macro named %(name)s.") % {"name": name})


def _save_translations(macro: Macro, translations: dict[str, str]) -> None:
    MacroTranslation.objects.filter(macro=macro).exclude(language__in=list(translations)).delete()
    for language, body in translations.items():
        MacroTranslation.objects.update_or_create(macro=macro, language=language, defaults={"body": body})


@transaction.atomic
def macro_create(
    *,
    actor: User,
    name: str,
    body: str,
    is_shared: bool = False,
    set_status: str = "",
    set_priority: str = "",
    add_tags: Iterable[str] = (),
    translations: Mapping[str, str] | None = None,
    is_active: bool = True,
) -> Macro:
    """A personal macro for the actor, or a shared one (admins only); its text is checked before saving."""
    _check_may_keep(actor=actor, is_shared=is_shared)
    name = name.strip()
    if not name or not body.strip():
        raise ApplicationError(_("A macro needs a name and some text."))
    macro_text_validate(body)
    _validated_actions(set_status=set_status, set_priority=set_priority)
    tags = _tags_named(add_tags)
    cleaned_translations = _validated_translations(translations or {})
    owner = None if is_shared else actor
    _check_name_free(name=name, owner=owner)
    try:
        with transaction.atomic():
            macro = Macro.objects.create(
                name=name,
                owner=owner,
                body=body,
                set_status=set_status,
                set_priority=set_priority,
                is_active=is_active,
            )
    except IntegrityError as error:
        raise ConflictError(_("There already is a macro named %(name)s.") % {"name": name}) from error
    macro.add_tags.set(tags)
    _save_translations(macro, cleaned_translations)
    return macro


@transaction.atomic
def macro_update(
    *,
    macro_id: int,
    actor: User,
    name: str | None = None,
    body: str | None = None,
    set_status: str | None = None,
    set_priority: str | None = None,
    add_tags: Iterable[str] | None = None,
    translations: Mapping[str, str] | None = None,
    is_active: bool | None = None,
) -> Macro:
    """Change what is given (None leaves a field as it is); shared macros are for admins to change."""
    macro = Macro.objects.select_for_update().filter(pk=macro_id).first()
    if macro is None or (macro.owner_id is not None and macro.owner_id != actor.pk):
        raise NotFoundError(_("There is no such macro, or it is someone else's personal macro."))
    _check_may_keep(actor=actor, is_shared=macro.owner_id is None)
    if name is not None:
        name = name.strip()
        if not name:
            raise ApplicationError(_("A macro needs a name."))
        _check_name_free(name=name, owner=macro.owner, exclude_pk=macro.pk)
        macro.name = name
    if body is not None:
        if not body.strip():
            raise ApplicationError(_("A macro needs some text."))
        macro_text_validate(body)
        macro.body = body
    _validated_actions(set_status=set_status or "", set_priority=set_priority or "")
    if set_status is not None:
        macro.set_status = set_status
    if set_priority is not None:
        macro.set_priority = set_priority
    if is_active is not None:
        macro.is_active = is_active
    tags = _tags_named(add_tags) if add_tags is not None else None
    cleaned_translations = _validated_translations(translations) if translations is not None else None
    try:
        with transaction.atomic():
            macro.save()
    except IntegrityError as error:
        raise ConflictError(_("There already is a macro named %(name)s.") % {"name": macro.name}) from error
    if tags is not None:
        macro.add_tags.set(tags)
    if cleaned_translations is not None:
        _save_translations(macro, cleaned_translations)
    return macro
