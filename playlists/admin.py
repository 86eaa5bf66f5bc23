from django.contrib import admin

from playlists.models import Playlist, PlaylistTrack, Soundtrack


class EntryInline(admin.TabularInline[PlaylistTrack, Playlist]):
    model = PlaylistTrack
    fields = ("position", "track", "title", "artist", "added_by", "added_at", "photo", "run", "note")
    readonly_fields = ("title", "artist", "added_at")
    raw_id_fields = ("track", "added_by", "photo", "run")
    extra = 0
    ordering = ("position",)


@admin.register(Playlist)
class PlaylistAdmin(admin.ModelAdmin[Playlist]):
    list_display = ("id", "title", "owner", "visibility", "created_at", "updated_at")
    list_filter = ("visibility",)
    search_fields = ("title", "description", "owner__username")
    raw_id_fields = ("owner", "cover")
    readonly_fields = ("share_token", "created_at", "updated_at")
    inlines = [EntryInline]


@admin.register(Soundtrack)
class SoundtrackAdmin(admin.ModelAdmin[Soundtrack]):
    list_display = ("id", "title", "owner", "status", "progress", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("title", "owner__username", "error")
    readonly_fields = [f.name for f in Soundtrack._meta.fields if f.name != "title"]
