"""The Celery app. Workers import this; tasks live in each app's tasks.py."""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)
app = Celery("photophone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def publish(task_name: str, *args: object) -> bool:
    """Send a task by name (services never import tasks.py, which imports them). False, with a warning in
    the log, when the broker is unreachable: the caller's row stays pending and a periodic job sends it
    again."""
    try:
        app.send_task(task_name, args=list(args))
    except Exception:
        logger.warning("broker unreachable; %s%s not sent", task_name, args, exc_info=True)
        return False
    return True
