"""Contact reasons differing only by case or spacing are one reason: names are tidied, then kept unique.

Runs of spaces in existing names become one space. If two existing reasons then differ only by case
or spacing, the migration stops and names them instead of merging them: merging would move their
tickets, routing rules and macros onto one and change what the reports counted, which an admin
should decide (rename one, or move its tickets and delete it), then run the migration again.
"""

import django.db.models.functions.text
from django.db import migrations, models


def tidy_names_or_refuse_duplicates(apps, schema_editor):
    tag_model = apps.get_model("tickets", "Tag")
    tags = list(tag_model.objects.order_by("pk"))
    by_key = {}
    for tag in tags:
        by_key.setdefault(" ".join(tag.name.split()).upper(), []).append(tag.name)
    duplicates = [names for names in by_key.values() if len(names) > 1]
    if duplicates:
        listed = "; ".join(" / ".join(repr(name) for name in names) for names in duplicates)
        raise RuntimeError(
            "Contact reasons that differ only by case or spacing must become one before this migration: "
            f"{listed}. Rename one of each, or move its tickets to the other and delete it, then migrate again."
        )
    for tag in tags:
        tidy = " ".join(tag.name.split())
        if tidy != tag.name:
            tag_model.objects.filter(pk=tag.pk).update(name=tidy)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0013_routing_rule_languages_supported")]

    operations = [
        migrations.RunPython(tidy_names_or_refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Upper("name"), name="tag_name_unique_ignoring_case"
            ),
        ),
    ]
