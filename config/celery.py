"""The Celery app. Workers import this; tasks live in each app's tasks.py."""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)
app = Celery("photophone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Publishing runs in these threads so that a caller waits at most CELERY_PUBLISH_TIMEOUT_SECONDS, even for a
# broker that accepts connections and never answers (the socket timeouts alone allow several seconds per
# try, and a request would be held that long).
_publisher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="publish")


def publish(task_name: str, *args: object) -> bool:
    """Send a task by name (services never import tasks.py, which imports them). False, with a warning in
    the log, when the broker is unreachable or does not answer in time: the caller's row stays pending
    and a periodic job sends it again. A send that completes after the deadline does no harm: the tasks
    are idempotent (runs are claimed in the database)."""
    from django.conf import settings

    timeout = float(getattr(settings, "CELERY_PUBLISH_TIMEOUT_SECONDS", 2.0))
    future = _publisher.submit(app.send_task, task_name, args=list(args))
    try:
        future.result(timeout=timeout)
    except FutureTimeout:
        future.cancel()  # still queued behind stuck sends: drop it
        logger.warning("broker did not answer within %.1f s; %s%s not sent", timeout, task_name, args)
        return False
    except Exception:
        logger.warning("broker unreachable; %s%s not sent", task_name, args, exc_info=True)
        return False
    return True
