"""Admin for the catalogue: the Track list, bulk (de)activation and edit, export, and an "Add track from
audio" page (features computed from the audio by a worker). Imports are ImportJobs (admin_import_jobs)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import (
    admin_actions,
    admin_import_jobs,  # noqa: F401 - registers ImportJob's admin
    audio,
)
from .forms import AddAudioTrackForm
from .models import Track


class TagsField(forms.CharField):
    """The track's tags as comma-separated words (the model keeps a JSON list)."""

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: object) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        tags: list[str] = []
        for tag in (t.strip() for t in text.split(",")):
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        return tags


class TrackAdminForm(forms.ModelForm[Track]):
    """The admin's track form: every editable field, as the default one (no Meta: the admin builds it for
    the fields of its page), with the tags as comma-separated words."""

    tags = TagsField(required=False, help_text="Comma-separated, e.g. 'chill, night drive'.")


class ValuesFilter(admin.AllValuesFieldListFilter):
    """Each value of the field, as Django's own filter, with the empty value named: a link with no text
    is no use to anyone (and axe-core counts it as a serious violation)."""

    def choices(self, changelist: Any) -> Iterator[Any]:
        for choice in super().choices(changelist):
            if choice["display"] == "":
                choice["display"] = "(none)"
            yield choice


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin[Track]):
    form = TrackAdminForm
    exclude = ("audio",)  # shown as a link to the signed-in audio view (audio_file); set through "Add audio"
    list_display = (
        "title",
        "artist",
        "genre",
        "language",
        "valence",
        "arousal",
        "is_active",
        "provenance",
        "audio_status",
    )
    list_filter = (
        "is_active",
        ("genre", ValuesFilter),
        ("language", ValuesFilter),
        "provenance",
        "audio_status",
        "year",
    )
    search_fields = ("title", "artist", "album", "external_id", "isrc", "tags", "language")
    # Audio goes through the "Add track from audio" page (checked, stored by hash, analysed by a worker).
    readonly_fields = (
        "created_at",
        "updated_at",
        "audio_file",
        "audio_status",
        "audio_message",
        "audio_requested_at",
        "audio_resends",
        "audio_analysed_at",
        "audio_model",
    )
    actions = (
        "activate",
        "deactivate",
        "analyse_audio_again",
        admin_actions.export_selected,
        admin_actions.bulk_edit,
    )
    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) per page is wasted on a large catalogue

    @admin.display(description="Audio")
    def audio_file(self, track: Track) -> str:
        if not track.audio:
            return "-"
        return format_html(
            '<a href="{}">Listen</a> <audio controls preload="none" src="{}"></audio>',
            reverse("catalogue:track_audio", args=[track.pk]),
            reverse("catalogue:track_audio", args=[track.pk]),
        )

    @admin.action(description="Activate selected tracks", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description="Deactivate selected tracks", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Analyse audio again", permissions=["change"])
    def analyse_audio_again(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        count = audio.request_analysis(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} track(s) with audio queued for analysis.")

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Track], *, active: bool) -> None:
        # update() skips auto_now: set updated_at by hand. (Track's QuerySet moves the catalogue version.)
        count = queryset.exclude(is_active=active).update(is_active=active, updated_at=timezone.now())
        self.message_user(request, f"{count} track(s) {'activated' if active else 'deactivated'}.")

    def get_urls(self) -> list[URLPattern]:
        import_view = self.admin_site.admin_view(self.import_view)
        audio_view = self.admin_site.admin_view(self.add_audio_view)
        export_view = self.admin_site.admin_view(partial(admin_actions.export_all_view, self))
        index_view = self.admin_site.admin_view(partial(admin_actions.index_view, self))
        return [
            path("import/", import_view, name="catalogue_track_import"),
            path("export/", export_view, name="catalogue_track_export"),
            path("index/", index_view, name="catalogue_track_index"),
            path("add-audio/", audio_view, name="catalogue_track_add_audio"),
            *super().get_urls(),
        ]

    def add_audio_view(self, request: HttpRequest) -> HttpResponse:
        """A new track from an audio file; a worker computes its features (the track page shows when)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AddAudioTrackForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                track = audio.add_track_from_audio(
                    form.cleaned_data["file"],
                    title=form.cleaned_data["title"],
                    artist=form.cleaned_data["artist"],
                    genre=form.cleaned_data["genre"],
                    tags=form.tag_list(),
                )
            except audio.AudioUploadError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, f"Added '{track}'. Its features are being computed from the audio.")
                return redirect("admin:catalogue_track_change", track.pk)
        return self._page(request, "add_audio.html", "Add track from audio", form)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """The old address of the import page: every import runs on a worker (ImportJob) now. 307 keeps a
        POST's method and file, so an upload sent here is queued as a job, not lost."""
        return HttpResponseRedirect(reverse("admin:catalogue_importjob_add"), status=307)

    def _page(
        self, request: HttpRequest, template: str, title: str, form: forms.Form, **extra: object
    ) -> HttpResponse:
        """One of the pages this admin adds (templates/admin/catalogue/track/), inside the admin's frame."""
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta}
        return render(request, f"admin/catalogue/track/{template}", {**context, "form": form, **extra})
