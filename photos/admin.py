from django.contrib import admin

from photos.models import Feedback, Photo, Run, RunItem


class ItemInline(admin.TabularInline[RunItem, Run]):
    model = RunItem
    fields = ("rank", "track", "score", "strategy_scores", "reasons")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin[Run]):
    list_display = (
        "id",
        "user",
        "status",
        "mode",
        "mood_summary",
        "engine_version",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "mode", "engine_version")
    search_fields = ("user__username", "error")
    readonly_fields = [f.name for f in Run._meta.fields]
    inlines = [ItemInline]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin[Photo]):
    list_display = ("id", "owner", "original_name", "width", "height", "created_at")
    search_fields = ("owner__username", "sha256", "original_name")
    readonly_fields = ("owner", "image", "sha256", "width", "height", "original_name", "created_at")


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin[Feedback]):
    list_display = ("user", "track", "rating", "photo_valence", "photo_arousal", "updated_at")
    list_filter = ("rating",)
    search_fields = ("user__username", "track__title", "track__artist")
    raw_id_fields = ("user", "item", "track")
