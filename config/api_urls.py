"""One router for the whole REST API; each app registers its viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import TokenView
from catalogue.api import TrackViewSet
from photos.api import FeedbackViewSet, PhotoViewSet, RunViewSet
from playlists.api import PlaylistViewSet, SoundtrackViewSet

router = DefaultRouter()
router.register("tracks", TrackViewSet, basename="track")
router.register("photos", PhotoViewSet, basename="photo")
router.register("runs", RunViewSet, basename="run")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("playlists", PlaylistViewSet, basename="playlist")
router.register("soundtracks", SoundtrackViewSet, basename="soundtrack")

urlpatterns = [path("token/", TokenView.as_view(), name="api-token"), *router.urls]
