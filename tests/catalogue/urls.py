"""A URLconf with only what the catalogue tests need (admin and the tracks API), so these tests do not
depend on the rest of the project's URLs."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalogue.api import TrackViewSet

router = DefaultRouter()
router.register("tracks", TrackViewSet, basename="track")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
    path("", include("catalogue.urls")),
]
