from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete


class CatalogueConfig(AppConfig):
    name = "catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalogue.models import ImportJob
        from catalogue.services import import_jobs

        def import_job_deleted(sender: Any, instance: ImportJob, **kwargs: Any) -> None:
            import_jobs.deleted(instance)

        post_delete.connect(import_job_deleted, sender=ImportJob, dispatch_uid="import_job_file")
