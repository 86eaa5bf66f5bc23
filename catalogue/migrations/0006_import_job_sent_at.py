from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0005_import_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="sent_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the broker last took it (empty: never; the beat sends it again).",
                null=True,
            ),
        ),
    ]
