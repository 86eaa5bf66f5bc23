"""The registry: shipped artifacts registered by migration, activation and rollback in one step, the admin
actions, and workers picking up a new activation without a restart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from inference import adapter
from recommender.config import ACTIVE_FILE, EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR
from registry import services, serving
from registry.models import ModelVersion, RegistryState
from tests.factories import another_servable_mood

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def active(kind: str) -> ModelVersion:
    return ModelVersion.objects.get(kind=kind, status="active")


def test_the_migration_registers_the_shipped_artifacts_as_active_json_marks_them() -> None:
    marked = json.loads(ACTIVE_FILE.read_text())
    for kind in ("mood", "heads"):
        version = active(kind)
        assert version.name == marked[kind]
        assert version.in_repository and (REPO / version.artifact / "card.json").exists()
        assert "weights.npz" in version.files
    shipped = {
        p.name
        for p in (REPO / "recommender" / "artifacts").iterdir()
        if p.is_dir() and p.name.split("-")[0] in services.SHIPPED_KINDS
    }
    assert set(ModelVersion.objects.values_list("name", flat=True)) == shipped
    assert RegistryState.current() >= 1


def test_activating_retires_the_active_version_and_moves_the_state_in_one_step() -> None:
    before, number = active("mood"), RegistryState.current()
    other = another_servable_mood(before)
    services.activate(other.pk)
    assert active("mood") == other
    before.refresh_from_db()
    assert before.status == "retired"
    assert RegistryState.current() == number + 1
    assert ModelVersion.objects.filter(kind="mood", status="active").count() == 1
    # Roll back: the version served before is active again.
    assert services.roll_back("mood") == before
    assert active("mood") == before


def test_a_failed_or_training_version_cannot_be_activated_and_nothing_changes() -> None:
    served = active("mood")
    broken = ModelVersion.objects.create(kind="mood", name="mood-broken", status="failed", reason="NaN loss")
    with pytest.raises(services.RegistryError, match="only a candidate or a retired"):
        services.activate(broken.pk)
    assert active("mood") == served


@pytest.mark.parametrize(
    ("name", "encoder"), [("mood-v4", EFFICIENTNET_LITE2), ("mood-v5", EFFICIENTNET_LITE_PAIR)]
)
def test_an_encoder_options_mood_model_is_registered_but_only_served_through_its_encoder(
    name: str, encoder: str
) -> None:
    served = active("mood")
    option = ModelVersion.objects.get(name=name)
    assert option.status == "retired" and option.data_snapshot["encoder"] == encoder
    assert f"ENGINE_ENCODER={encoder}" in option.reason
    with pytest.raises(services.RegistryError, match=f"reads {encoder} photos"):
        services.activate(option.pk)
    assert active("mood") == served and ModelVersion.objects.get(name=name).status == "retired"


def test_the_database_refuses_two_active_versions_of_one_kind() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(kind="mood", name="mood-x", status="active")


def test_activate_and_roll_back_from_the_admin(admin_client) -> None:
    before = active("heads")
    other = ModelVersion.objects.filter(kind="heads").exclude(pk=before.pk).latest("pk")
    url = "/admin/registry/modelversion/"
    response = admin_client.post(
        url, {"action": "activate", "index": 0, "_selected_action": [other.pk]}, follow=True
    )
    assert f"{other.name} is now active" in response.content.decode().lower()
    assert active("heads") == other
    response = admin_client.post(
        url, {"action": "roll_back", "index": 0, "_selected_action": [other.pk]}, follow=True
    )
    assert f"{before.name} is active again" in response.content.decode().lower()
    assert active("heads") == before
    page = admin_client.get(url).content.decode()
    assert before.name in page and "Active (served)" in page


def test_the_admin_says_why_a_failed_version_cannot_be_activated(admin_client) -> None:
    broken = ModelVersion.objects.create(kind="mood", name="mood-broken", status="failed", reason="NaN loss")
    response = admin_client.post(
        "/admin/registry/modelversion/",
        {"action": "activate", "index": 0, "_selected_action": [broken.pk]},
        follow=True,
    )
    assert "only a candidate or a retired version can be activated" in response.content.decode().lower()


def test_a_worker_serves_a_new_mood_activation_at_its_next_run_without_restarting() -> None:
    serving.use_active_versions()
    assert Path(adapter.engine_config().mood_artifact).name == active("mood").name
    other = another_servable_mood(active("mood"))
    services.activate(other.pk)
    serving.use_active_versions()  # what the worker does before each run
    assert Path(adapter.engine_config().mood_artifact).name == other.name
    assert adapter.engine().mood.version == other.name
    assert f"mood-{other.name}" in adapter.engine_version()


def test_nothing_is_reloaded_while_the_registry_has_not_moved(django_assert_num_queries) -> None:
    serving.use_active_versions()
    with django_assert_num_queries(1):
        serving.use_active_versions()


def test_a_version_in_media_storage_is_fetched_and_fetched_again_when_its_local_copy_goes(caplog) -> None:
    shipped = REPO / active("mood").artifact
    version = ModelVersion.objects.create(
        kind="mood",
        name="mood-stored",
        status="candidate",
        artifact="registry/mood/mood-stored",
        files=["card.json", "weights.npz"],
    )
    for name in version.files:
        default_storage.save(f"{version.artifact}/{name}", ContentFile((shipped / name).read_bytes()))
    services.activate(version.pk)
    serving.use_active_versions()
    local = Path(adapter.engine_config().mood_artifact)
    assert local.name == "mood-stored" and (local / "weights.npz").exists()
    shutil.rmtree(local)
    assert (serving.local_artifact_dir(version) / "weights.npz").exists()


def test_a_version_whose_files_are_gone_leaves_the_previous_one_serving_with_a_log_line(caplog) -> None:
    serving.use_active_versions()
    served = adapter.engine_config().mood_artifact
    lost = ModelVersion.objects.create(
        kind="mood",
        name="mood-lost",
        status="candidate",
        artifact="registry/mood/mood-lost",
        files=["card.json", "weights.npz"],
    )
    services.activate(lost.pk)
    serving.use_active_versions()
    assert adapter.engine_config().mood_artifact == served
    assert "mood-lost cannot be served" in caplog.text


def test_a_run_reads_the_registry_and_the_catalogue_version_in_one_statement(
    django_assert_num_queries,
) -> None:
    from catalogue.models import CatalogueVersion
    from tests.factories import TrackFactory

    TrackFactory.create_batch(3)
    first = serving.active()
    assert first.catalogue_version.startswith(f"{CatalogueVersion.current()}-")
    with django_assert_num_queries(1):
        assert serving.active().catalogue_version == first.catalogue_version
    TrackFactory.create()  # the catalogue moves on
    moved = serving.active()
    assert moved.catalogue_version.startswith(f"{CatalogueVersion.current()}-")
    assert moved.catalogue_version != first.catalogue_version
    other = another_servable_mood(active("mood"))
    services.activate(other.pk)
    assert serving.active().engine.mood.version == other.name


def test_without_the_state_rows_a_run_serves_the_shipped_versions_and_an_empty_catalogue() -> None:
    from catalogue.models import CatalogueVersion

    CatalogueVersion.objects.all().delete()
    RegistryState.objects.all().delete()
    served = serving.active()
    assert served.catalogue_version.startswith("v0-none-") and len(served.catalogue) == 0
    assert serving._served_number == 0
