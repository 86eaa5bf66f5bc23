from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [path("tracks/<int:pk>/audio/", views.track_audio, name="track_audio")]
