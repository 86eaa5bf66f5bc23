from django.apps import AppConfig
from django.db.models.signals import post_delete


class PhotosConfig(AppConfig):
    name = "photos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inference import adapter
        from photos.models import Photo
        from photos.selectors import recent_photo_embeddings
        from photos.services import photo_files

        adapter.calibrate_with(recent_photo_embeddings)

        post_delete.connect(photo_files.remove_when_deleted, sender=Photo, dispatch_uid="photo-file-removal")
