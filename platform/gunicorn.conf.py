"""gunicorn settings for the web service (read with `gunicorn -c platform/gunicorn.conf.py`)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = 60
accesslog = "-"
max_requests = 2000
max_requests_jitter = 200
