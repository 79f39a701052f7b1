"""Contact reasons: one reason whatever its case or spacing, when kept and when named."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError

from helpdesk.core.exceptions import ConflictError
from tests.tickets.factories import TagFactory, TicketFactory
from tickets.models import Tag, TicketActivity
from tickets.services.lifecycle import ticket_set_tags
from tickets.services.macros import macro_create
from tickets.services.tags import tag_create

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("tickets.migrations.0014_tag_name_unique_ignoring_case")


def test_a_name_is_kept_with_single_spaces(admin_user):
    tag = tag_create(actor=admin_user, name="  refund \t  request ")

    assert tag.name == "refund request"


@pytest.mark.parametrize("name", ["refund request", "REFUND REQUEST", " Refund  request", "refund\u00a0request"])
def test_a_reason_differing_only_by_case_or_spacing_is_refused(admin_user, name):
    tag_create(actor=admin_user, name="Refund request")

    with pytest.raises(ConflictError) as error:
        tag_create(actor=admin_user, name=name)

    assert error.value.message == "There already is a contact reason named Refund request."
    assert list(Tag.objects.values_list("name", flat=True)) == ["Refund request"]


def test_the_database_refuses_two_names_differing_only_by_case():
    Tag.objects.create(name="Refund")

    with pytest.raises(IntegrityError):
        Tag.objects.create(name="REFUND")


def test_a_ticket_is_tagged_by_a_name_in_any_case_or_spacing(agent):
    refund = TagFactory(name="Refund request")
    ticket = TicketFactory()

    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["refund  REQUEST"])

    assert list(ticket.tags.all()) == [refund]
    assert TicketActivity.objects.get(ticket=ticket, kind=TicketActivity.Kind.TAGS).details == {
        "added": ["Refund request"],
        "removed": [],
    }


def test_a_macro_names_its_reasons_in_any_case(agent):
    refund = TagFactory(name="Refund")

    macro = macro_create(actor=agent, name="Refund", body="On it.", add_tags=["REFUND", "refund"])

    assert list(macro.add_tags.all()) == [refund]


def test_the_migration_tidies_spacing_in_existing_names():
    tag = TagFactory(name="late   parcel")

    MIGRATION.tidy_names_or_refuse_duplicates(apps, None)

    tag.refresh_from_db()
    assert tag.name == "late parcel"


def test_the_migration_stops_on_reasons_differing_only_by_spacing_and_names_them():
    TagFactory(name="refund request")
    TagFactory(name="Refund  request")

    with pytest.raises(RuntimeError) as error:
        MIGRATION.tidy_names_or_refuse_duplicates(apps, None)

    assert str(error.value) == (
        "Contact reasons that differ only by case or spacing must become one before this migration: "
        "'refund request' / 'Refund  request'. Rename one of each, or move its tickets to the other and delete it, "
        "then migrate again."
    )
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Refund  request", "refund request"]
