"""The registry in the admin: versions with their status, reason, progress, data and metrics; activate or
roll back in one action; start a retraining."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from registry import services, training
from registry.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ("name", "kind", "status", "progress_shown", "reason", "created_at", "activated_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate", "roll_back", "retrain_reranker"]

    @admin.display(description="progress")
    def progress_shown(self, version: ModelVersion) -> str:
        if version.status != ModelVersion.Status.TRAINING:
            return ""
        return f"{version.progress}% {version.progress_note}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training or the migration

    @admin.action(description="Activate the selected version (retires the active one of its kind)")
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            version = services.activate(queryset.get().pk)
        except services.RegistryError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{version.name} is now active; workers serve it from their next run.")

    @admin.action(description="Roll back: serve again the version active before (per selected kind)")
    def roll_back(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                version = services.roll_back(kind)
            except services.RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(request, f"Rolled back: {version.name} is active again.")

    @admin.action(description="Retrain the reranker from ratings now (the selection does not matter)")
    def retrain_reranker(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        version = training.start_retraining()
        self.message_user(
            request, f"{version.name} is training on the training queue; its progress shows here."
        )
