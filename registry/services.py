"""Registry writes: register the shipped artifacts, activate a version, roll back to the previous one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.config import EFFICIENTNET_LITE0
from registry.models import ModelVersion, RegistryState

SHIPPED_KINDS = ("mood", "heads")


class RegistryError(Exception):
    """A registry action that cannot be done, said in words the admin shows."""


def shipped_artifacts(artifacts_dir: Path, active: dict[str, str]) -> list[dict[str, Any]]:
    """The artifact directories shipped in the repository (recommender/artifacts/<kind>-vN), as field
    values for ModelVersion: the ones active.json marks are active, the others retired."""
    found = []
    for directory in sorted(artifacts_dir.iterdir()):
        kind = directory.name.split("-")[0]
        if kind not in SHIPPED_KINDS or not (directory / "card.json").exists():
            continue
        card = json.loads((directory / "card.json").read_text())
        is_active = active.get(kind) == directory.name
        encoder = card.get("encoder", EFFICIENTNET_LITE0)
        found.append(
            {
                "kind": kind,
                "name": directory.name,
                "status": ModelVersion.Status.ACTIVE if is_active else ModelVersion.Status.RETIRED,
                "reason": ""
                if is_active
                else "shipped, not marked active in recommender/artifacts/active.json"
                if encoder == EFFICIENTNET_LITE0
                else f"reads {encoder} photos: served with ENGINE_ENCODER={encoder}, not by activation",
                "in_repository": True,
                "artifact": str(directory.relative_to(Path(settings.BASE_DIR))),
                "files": sorted(p.name for p in directory.iterdir() if p.is_file()),
                "data_snapshot": {
                    "source": "shipped in the repository",
                    "training_data": card.get("training_data", {}),
                    "trained_at": card.get("trained_at", ""),
                    "encoder": encoder,
                },
                "metrics": card.get("cv_metrics") or card.get("metrics") or {},
                "progress": 100,
            }
        )
    return found


def register_shipped(model: Any = ModelVersion, state: Any = RegistryState) -> int:
    """Register the shipped artifacts not yet in the registry (a migration passes its historical models).
    Which are active comes from active.json, through recommender.config.active_artifact. Returns how many
    versions it added."""
    from recommender.config import ARTIFACTS_DIR, active_artifact

    active = {kind: active_artifact(kind).name for kind in SHIPPED_KINDS}
    added = 0
    with transaction.atomic():
        for values in shipped_artifacts(ARTIFACTS_DIR, active):
            if model.objects.filter(kind=values["kind"], name=values["name"]).exists():
                continue
            if (
                values["status"] == ModelVersion.Status.ACTIVE
                and model.objects.filter(kind=values["kind"], status=ModelVersion.Status.ACTIVE).exists()
            ):
                values["status"] = ModelVersion.Status.RETIRED
            now = timezone.now()
            active_now = values["status"] == ModelVersion.Status.ACTIVE
            model.objects.create(**values, finished_at=now, activated_at=now if active_now else None)
            added += 1
        if not state.objects.filter(pk=RegistryState.ROW).exists():
            state.objects.create(pk=RegistryState.ROW, number=1)
    return added


ACTIVATABLE = (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED)


def activate(version_id: int) -> ModelVersion:
    """Make this version the served one of its kind, retiring the one served before, in one transaction.
    Workers pick it up at their next run (RegistryState moves on)."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.status == ModelVersion.Status.ACTIVE:
            raise RegistryError(f"{version.name} is already active.")
        if version.status not in ACTIVATABLE:
            raise RegistryError(
                f"{version.name} is {version.get_status_display().lower()}: only a candidate or a retired "
                "version can be activated."
            )
        encoder = (version.data_snapshot or {}).get("encoder", EFFICIENTNET_LITE0)
        if encoder != EFFICIENTNET_LITE0:
            raise RegistryError(
                f"{version.name} reads {encoder} photos, and the registry serves {EFFICIENTNET_LITE0}: "
                f"it is served with ENGINE_ENCODER={encoder} instead."
            )
        ModelVersion.objects.select_for_update().filter(
            kind=version.kind, status=ModelVersion.Status.ACTIVE
        ).update(status=ModelVersion.Status.RETIRED)
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.reason = ""
        version.save(update_fields=["status", "activated_at", "reason"])
        RegistryState.bump()
    return version


def roll_back(kind: str) -> ModelVersion:
    """Serve again the version of this kind that was active before the current one."""
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(kind=kind, status=ModelVersion.Status.ACTIVE)
            .first()
        )
        previous = (
            ModelVersion.objects.filter(
                kind=kind, status=ModelVersion.Status.RETIRED, activated_at__isnull=False
            )
            .exclude(pk=current.pk if current is not None else 0)
            .order_by("-activated_at")
            .first()
        )
        if previous is None:
            raise RegistryError(f"No earlier {kind} version was ever active: nothing to roll back to.")
        return activate(previous.pk)


def deactivate(kind: str) -> None:
    """Serve no version of this kind (only the reranker may be absent: the engine ranks without it)."""
    if kind != ModelVersion.Kind.RERANKER:
        raise RegistryError(f"The engine needs a {kind} model: activate another version instead.")
    with transaction.atomic():
        ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        RegistryState.bump()
