from django.urls import path

from . import views

app_name = "playlists"
urlpatterns = [
    path("playlists/", views.playlist_list, name="list"),
    path("playlists/new/", views.create, name="create"),
    path("playlists/import/", views.import_view, name="import"),
    path("playlists/add-item/", views.add_item, name="add_item"),
    path("playlists/from-run/<int:run_pk>/", views.from_run, name="from_run"),
    path("playlists/<int:pk>/", views.detail, name="detail"),
    path("playlists/<int:pk>/edit/", views.edit, name="edit"),
    path("playlists/<int:pk>/delete/", views.delete, name="delete"),
    path("playlists/<int:pk>/export/<str:fmt>/", views.export, name="export"),
    path("p/<str:token>/", views.shared, name="shared"),
    path("p/<str:token>/cover/", views.shared_cover, name="shared_cover"),
    path("p/<str:token>/export/<str:fmt>/", views.shared_export, name="shared_export"),
    path("soundtracks/", views.soundtrack_new, name="soundtracks"),
    path("soundtracks/<int:pk>/", views.soundtrack_detail, name="soundtrack"),
    path("soundtracks/<int:pk>/status/", views.soundtrack_status, name="soundtrack_status"),
    path("soundtracks/<int:pk>/swap/<int:entry>/", views.soundtrack_swap, name="soundtrack_swap"),
]
