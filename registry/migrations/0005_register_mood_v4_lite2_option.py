"""Register mood-v4 (EfficientNet-Lite2's mood model, shipped as an encoder option) like the artifacts
before it: register_shipped adds the shipped artifacts not yet in the registry. It is not activatable:
it reads Lite2 photos and is served with ENGINE_ENCODER=efficientnet-lite2 (registry.services.activate)."""

from django.db import migrations


def register(apps, schema_editor):
    from registry.services import register_shipped

    register_shipped(apps.get_model("registry", "ModelVersion"), apps.get_model("registry", "RegistryState"))


def unregister(apps, schema_editor):
    apps.get_model("registry", "ModelVersion").objects.filter(in_repository=True, name="mood-v4").delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_modelversion_started_at")]

    operations = [migrations.RunPython(register, unregister)]
