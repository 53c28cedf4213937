"""The city-wide default visit frequencies a new installation starts with (editable on the rules page)."""

from django.db import migrations

DEFAULTS = {
    "orphan_scattered": 30,
    "orphan_institutional": 90,
    "de_facto_unsupported": 30,
    "guardianship_lacking": 30,
    "left_behind": 30,
    "poor_family": 90,
    "disabled": 90,
    "migrant": 90,
}


def seed(apps, schema_editor):
    VisitRule = apps.get_model("visits", "VisitRule")
    for category, days in DEFAULTS.items():
        if not VisitRule.objects.filter(category=category, district_code="", valid_to__isnull=True).exists():
            VisitRule.objects.create(
                category=category, district_code="", interval_days=days, note="default / 默认"
            )


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
