"""Store the languages of routing rules in their supported form ("pt-BR" -> "pt"), as customers' languages are.

A code that is not supported is left as it was: it matched no customer before and matches none now,
and dropping it could turn a rule into one that matches every language. Saving the row again asks for
a supported code.
"""

from django.db import migrations
from django.utils.translation import get_supported_language_variant


def _supported(code):
    try:
        return get_supported_language_variant(code.strip().replace("_", "-").lower())
    except LookupError:
        return code


def normalise_languages(apps, schema_editor):
    model = apps.get_model("tickets", "RoutingRule")
    for row in model.objects.exclude(languages=[]).only("pk", "languages"):
        languages = list(dict.fromkeys(_supported(code) for code in row.languages if code.strip()))
        if languages != row.languages:
            model.objects.filter(pk=row.pk).update(languages=languages)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_acknowledgement_claims")]

    operations = [migrations.RunPython(normalise_languages, migrations.RunPython.noop)]
