"""The visit tally (visits.tally): its two tables, the triggers on the schedule that append every change,
and the tally of the schedule as it stands.

The triggers are written here, not in the app: a migration must keep doing what it did. On SQLite, a
later migration that rebuilds visits_visitschedule (Django remakes a table to alter it) drops them: such a
migration must create them again (visits/tests/test_tally.py fails without them)."""

from django.db import migrations, models

KEY = "SUBSTR({row}.division_code, 1, 9), {row}.next_due_on, {row}.last_visit_on IS NOT NULL"

# PostgreSQL: statement-level triggers with transition tables, so a statement that writes many schedule rows
# (a rule change rescheduling a district, the demo's COPY) appends one change per key, not one per child.
# An INSERT ... ON CONFLICT DO UPDATE fires the INSERT trigger with the rows it inserted and the UPDATE
# trigger with those it updated.
POSTGRES = [
    """
    CREATE FUNCTION visits_tally_append() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO visits_visittallychange (street_code, next_due_on, visited, children)
        SELECT SUBSTR(division_code, 1, 9), next_due_on, last_visit_on IS NOT NULL, COUNT(*)
        FROM tally_new GROUP BY 1, 2, 3;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO visits_visittallychange (street_code, next_due_on, visited, children)
        SELECT SUBSTR(division_code, 1, 9), next_due_on, last_visit_on IS NOT NULL, -COUNT(*)
        FROM tally_old GROUP BY 1, 2, 3;
      ELSE
        INSERT INTO visits_visittallychange (street_code, next_due_on, visited, children)
        SELECT street_code, next_due_on, visited, SUM(children) FROM (
          SELECT SUBSTR(division_code, 1, 9) AS street_code, next_due_on,
                 last_visit_on IS NOT NULL AS visited, 1 AS children FROM tally_new
          UNION ALL
          SELECT SUBSTR(division_code, 1, 9), next_due_on, last_visit_on IS NOT NULL, -1 FROM tally_old
        ) AS moved GROUP BY 1, 2, 3 HAVING SUM(children) <> 0;
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER visits_tally_insert AFTER INSERT ON visits_visitschedule REFERENCING NEW TABLE AS tally_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION visits_tally_append()",
    "CREATE TRIGGER visits_tally_update AFTER UPDATE ON visits_visitschedule "
    "REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new FOR EACH STATEMENT EXECUTE FUNCTION visits_tally_append()",
    "CREATE TRIGGER visits_tally_delete AFTER DELETE ON visits_visitschedule REFERENCING OLD TABLE AS tally_old "
    "FOR EACH STATEMENT EXECUTE FUNCTION visits_tally_append()",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER visits_tally_insert ON visits_visitschedule",
    "DROP TRIGGER visits_tally_update ON visits_visitschedule",
    "DROP TRIGGER visits_tally_delete ON visits_visitschedule",
    "DROP FUNCTION visits_tally_append()",
]

# SQLite has row triggers only (an UPSERT that updates fires the UPDATE trigger alone).
_APPEND = "INSERT INTO visits_visittallychange (street_code, next_due_on, visited, children) VALUES"
SQLITE = [
    f"CREATE TRIGGER visits_tally_insert AFTER INSERT ON visits_visitschedule BEGIN "
    f"{_APPEND} ({KEY.format(row='NEW')}, 1); END",
    f"CREATE TRIGGER visits_tally_update AFTER UPDATE ON visits_visitschedule "
    f"WHEN SUBSTR(OLD.division_code, 1, 9) IS NOT SUBSTR(NEW.division_code, 1, 9) "
    f"OR OLD.next_due_on IS NOT NEW.next_due_on OR (OLD.last_visit_on IS NULL) <> (NEW.last_visit_on IS NULL) "
    f"BEGIN {_APPEND} ({KEY.format(row='OLD')}, -1), ({KEY.format(row='NEW')}, 1); END",
    f"CREATE TRIGGER visits_tally_delete AFTER DELETE ON visits_visitschedule BEGIN "
    f"{_APPEND} ({KEY.format(row='OLD')}, -1); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER visits_tally_insert",
    "DROP TRIGGER visits_tally_update",
    "DROP TRIGGER visits_tally_delete",
]

# After the triggers, in the same transaction (PostgreSQL's CREATE TRIGGER holds writers off until COMMIT).
FILL = (
    "INSERT INTO visits_visittally (street_code, next_due_on, visited, children) "
    "SELECT SUBSTR(division_code, 1, 9), next_due_on, last_visit_on IS NOT NULL, COUNT(*) "
    "FROM visits_visitschedule GROUP BY 1, 2, 3"
)


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    statements = POSTGRES if postgres else SQLITE
    # Statistics at once: planned as an empty table, a city's rollup sorts its ~65,000 rows on disk.
    for statement in [*statements, FILL, *(["ANALYZE visits_visittally"] if postgres else [])]:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    statements = POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for statement in [*statements, "DELETE FROM visits_visittallychange", "DELETE FROM visits_visittally"]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0005_visit_fk_indexes_covered"),
    ]

    operations = [
        migrations.CreateModel(
            name="VisitTallyChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("street_code", models.CharField(max_length=9)),
                ("next_due_on", models.DateField()),
                ("visited", models.BooleanField()),
                ("children", models.IntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="VisitTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("street_code", models.CharField(max_length=9)),
                ("next_due_on", models.DateField()),
                ("visited", models.BooleanField()),
                ("children", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("street_code", "next_due_on", "visited"), name="tally_key"
                    )
                ],
            },
        ),
        migrations.RunPython(create, drop),
    ]
