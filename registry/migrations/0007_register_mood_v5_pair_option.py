"""Register mood-v5 (the mood model of the Lite1 + Lite2 pair at 340 px, shipped as an encoder option) like
the artifacts before it: register_shipped adds the shipped artifacts not yet in the registry. It is not
activatable: it reads the pair's photos and is served with ENGINE_ENCODER=efficientnet-lite1-lite2-340
(registry.services.activate)."""

from django.db import migrations


def register(apps, schema_editor):
    from registry.services import register_shipped

    register_shipped(apps.get_model("registry", "ModelVersion"), apps.get_model("registry", "RegistryState"))


def unregister(apps, schema_editor):
    apps.get_model("registry", "ModelVersion").objects.filter(in_repository=True, name="mood-v5").delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_user_terms")]

    operations = [migrations.RunPython(register, unregister)]
