"""Register the artifacts shipped in recommender/artifacts: active.json (read now, through
recommender.config.active_artifact) says which are active. Their files stay where they are in the
repository (in_repository=True); versions trained later live in media storage."""

from django.db import migrations


def register(apps, schema_editor):
    from registry.services import register_shipped

    register_shipped(apps.get_model("registry", "ModelVersion"), apps.get_model("registry", "RegistryState"))


def unregister(apps, schema_editor):
    apps.get_model("registry", "ModelVersion").objects.filter(in_repository=True).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(register, unregister)]
