"""Create the photos tables, or adopt them from the old `recommender` Django app.

Until 2026-11 photos, runs, their items and ratings were models of a Django app called `recommender`
(tables recommender_photo, recommender_recommendation, recommender_recommendationitem,
recommender_feedback). That name now belongs to the plain-Python engine, and the models live here,
`Recommendation` renamed `Run`. A database made before the move keeps every row: its tables are renamed,
its content types and permissions follow (admin log entries keep pointing at the right models), and the old
app's migration records are removed. A new database just gets the tables.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

# (old table, model here, old model name, verbose name here)
ADOPTED = [
    ("recommender_photo", "Photo", "photo", "photo"),
    ("recommender_recommendation", "Run", "recommendation", "run"),
    ("recommender_recommendationitem", "RunItem", "recommendationitem", "run item"),
    ("recommender_feedback", "Feedback", "feedback", "feedback"),
]
RUN_STATUS_INDEX_FIELDS = ["status", "dispatched_at"]


def create_or_adopt(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    existing = set(connection.introspection.table_names())
    if not all(old in existing for old, *_ in ADOPTED):
        for _, model_name, *_ in ADOPTED:
            schema_editor.create_model(apps.get_model("photos", model_name))
        return
    for old_table, model_name, *_ in ADOPTED:
        model = apps.get_model("photos", model_name)
        schema_editor.alter_db_table(model, old_table, model._meta.db_table)
    _rename_run_status_index(apps, schema_editor)
    _move_content_types(apps)
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["recommender"])


def drop_tables(apps: Any, schema_editor: Any) -> None:
    for _, model_name, *_ in reversed(ADOPTED):
        schema_editor.delete_model(apps.get_model("photos", model_name))


def _rename_run_status_index(apps: Any, schema_editor: Any) -> None:
    """The (status, dispatched_at) index carries a name derived from the old table: give it the new one."""
    run = apps.get_model("photos", "Run")
    wanted = next(i for i in run._meta.indexes if i.fields == RUN_STATUS_INDEX_FIELDS)
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, run._meta.db_table)
    for name, info in constraints.items():
        if info["index"] and info["columns"] == RUN_STATUS_INDEX_FIELDS and name != wanted.name:
            old = models.Index(fields=RUN_STATUS_INDEX_FIELDS, name=name)
            schema_editor.rename_index(run, old, wanted)


def _move_content_types(apps: Any) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    for _, model_name, old_name, verbose_name in ADOPTED:
        new_name = model_name.lower()
        old = content_type.objects.filter(app_label="recommender", model=old_name).first()
        if old is None:
            continue
        if content_type.objects.filter(app_label="photos", model=new_name).exists():
            old.delete()
            continue
        old.app_label, old.model = "photos", new_name
        old.save(update_fields=["app_label", "model"])
        for perm in permission.objects.filter(content_type=old):
            action = perm.codename.split("_", 1)[0]
            perm.codename = f"{action}_{new_name}"
            perm.name = f"Can {action} {verbose_name}"
            perm.save(update_fields=["codename", "name"])


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_or_adopt, drop_tables)]
