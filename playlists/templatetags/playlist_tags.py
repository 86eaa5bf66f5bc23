from __future__ import annotations

from django import template
from django.db.models import QuerySet

from playlists.models import Playlist

register = template.Library()


@register.simple_tag(takes_context=True)
def my_playlists(context: template.Context) -> QuerySet[Playlist] | list[Playlist]:
    """The signed-in user's playlists, most recently changed first (for "add to playlist")."""
    user = context["request"].user
    if not user.is_authenticated:
        return []
    return Playlist.objects.filter(owner=user).only("pk", "title").order_by("-updated_at")[:50]
