from django.urls import path

from . import views

app_name = "photos"
urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/status/", views.run_status, name="run_status"),
    path("runs/<int:pk>/again/", views.rerun, name="rerun"),
    path("items/<int:pk>/rate/", views.rate, name="rate"),
    path("history/", views.history, name="history"),
    path("tracks/<int:pk>/photos/", views.track_photos, name="track_photos"),
    path("photos/<int:pk>/image/", views.photo_image, name="photo_image"),
    path("photos/<int:pk>/delete/", views.delete_photo, name="delete_photo"),
]
