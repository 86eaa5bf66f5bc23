"""Photophone settings, read from the environment.

Embedded default (no variables set): SQLite under var/, a filesystem Celery broker under var/broker,
local-memory cache. The full stack sets DATABASE_URL, CELERY_BROKER_URL and REDIS_URL.
Production: DJANGO_DEBUG=0 with DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from recommender.config import EngineConfig
from recommender.threads import set_thread_environment, thread_budget

# Lets classes such as ModelSerializer[Track] be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PHOTOPHONE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_KEY = "dev-only-insecure-key-change-me-for-any-deployment-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "catalogue",
    "photos",
    "playlists",
    "registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.RequestLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:  # runserver serves static files in development; whitenoise does it in production
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'photophone.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: wait for locks instead of failing at once.
    # Write-ahead logging: readers never wait for the writer, and a commit is one sequential write
    # instead of a rollback-journal fsync pair (synchronous=NORMAL is durable against process crashes).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Mail (password reset links): printed on the console in development; SMTP from the environment otherwise.
_MAIL_BACKEND = "console" if DEBUG else "smtp"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", f"django.core.mail.backends.{_MAIL_BACKEND}.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Photophone <noreply@localhost>")
PASSWORD_RESET_TIMEOUT = 3 * 3600  # a reset link works for three hours
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "photos:home"
LOGOUT_REDIRECT_URL = "login"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Uploads: Django keeps up to 5 MB in memory; the photo limit is checked by the upload service.
PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(15 * 1024 * 1024)))
# The most pixels decoded for one photo (a JPEG is decoded at a reduced scale first, so a 48 MP phone
# photo decodes 12 MP at most): ~100 MB of RGBA at most, on a worker (see the next setting).
PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", str(24_000_000)))
# The most pixels the web request decodes (a JPEG at a reduced scale to fit, when it can): bigger images are
# checked from their header only, kept as uploaded and re-encoded by the worker before their first run.
PHOTO_REQUEST_DECODE_MAX_PIXELS = int(os.environ.get("PHOTO_REQUEST_DECODE_MAX_PIXELS", str(2048 * 2048)))
# A photo file no photo names (its upload's transaction rolled back) is deleted once it is this old (beat,
# hourly; or `manage.py sweep_photo_files`). Files of deleted photos go as the deletion commits.
PHOTO_ORPHAN_AFTER_SECONDS = int(os.environ.get("PHOTO_ORPHAN_AFTER_SECONDS", str(3600)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A request body over this (by its Content-Length) is refused before it is read (config/middleware.py):
# a photo and the form around it. Staff upload catalogue files and audio through the admin.
REQUEST_MAX_BYTES = int(os.environ.get("REQUEST_MAX_BYTES", str(PHOTO_MAX_BYTES + 1024 * 1024)))
STAFF_REQUEST_MAX_BYTES = int(os.environ.get("STAFF_REQUEST_MAX_BYTES", str(1024 * 1024 * 1024)))

# Celery. The embedded default is kombu's filesystem transport: no broker process needed.
# Every task stops after CELERY_TASK_TIME_LIMIT seconds unless it sets its own (longer) limit.
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "150"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - min(30, CELERY_TASK_TIME_LIMIT // 5)
# Redis hands a message that was never acknowledged to another worker this long after its delivery: longer
# than any photo run can take (the time limit), so a run is redelivered only when its worker is gone.
# Tasks with longer limits (retraining, soundtracks, imports) may be delivered twice while they run; each
# claims its row in the database first, so the second delivery does nothing.
BROKER_VISIBILITY_TIMEOUT_SECONDS = int(
    os.environ.get("BROKER_VISIBILITY_TIMEOUT_SECONDS", str(CELERY_TASK_TIME_LIMIT + 30))
)
BROKER_RESTORE_INTERVAL_SECONDS = int(os.environ.get("BROKER_RESTORE_INTERVAL_SECONDS", "10"))
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # else kombu writes ./control in the working folder
        "store_processed": False,
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        # A message a worker took and never acknowledged (the whole worker was killed) goes back on its
        # queue this long after it was delivered; every live worker looks for such messages every
        # unacked_restore_interval seconds (the throttle of 1 makes each look a real one).
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
        "unacked_restore_interval": BROKER_RESTORE_INTERVAL_SECONDS,
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_IGNORE_RESULT = True  # results live in the database, not in a result backend
CELERY_RESULT_BACKEND = None
# A task's message is acknowledged when it ends; a pool process killed mid-task (OOM killer, a crash) puts
# it back on the queue and another process runs it (runs are claimed in the database, so a redelivered
# run is taken over at most MAX_ATTEMPTS times: photos/services/runs.py). A whole worker lost with its
# messages: Redis redelivers them after BROKER_VISIBILITY_TIMEOUT_SECONDS (+ the restore interval), and
# the run finishes on another worker; runs it had claimed in a batch are taken over when their own task
# looks again after the time limit (photos/services/execution.py); the stale-run reaper stays the last resort.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The most a web request waits for the broker to take a task (config/celery.py publish()).
CELERY_PUBLISH_TIMEOUT_SECONDS = float(os.environ.get("CELERY_PUBLISH_TIMEOUT_SECONDS", "2"))
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "photos.tasks.run_recommendation": {"queue": os.environ.get("INFERENCE_QUEUE", "inference")},
    "catalogue.tasks.analyse_track_audio": {"queue": os.environ.get("INFERENCE_QUEUE", "inference")},
    "playlists.tasks.build_soundtrack": {"queue": os.environ.get("INFERENCE_QUEUE", "inference")},
    # Retraining has its own queue (a GPU node in production): it never holds up photo runs.
    "registry.tasks.retrain": {"queue": os.environ.get("TRAINING_QUEUE", "training")},
}
CELERY_BEAT_SCHEDULE = {
    "reap-stale-runs": {"task": "photos.tasks.reap_stale_runs", "schedule": 60.0},
    "sweep-photo-files": {"task": "photos.tasks.sweep_photo_files", "schedule": 3600.0},
    "resend-pending-audio": {"task": "catalogue.tasks.resend_pending_audio", "schedule": 60.0},
    "resend-queued-imports": {"task": "catalogue.tasks.resend_queued_imports", "schedule": 60.0},
    "tidy-import-jobs": {"task": "catalogue.tasks.tidy_import_jobs", "schedule": 300.0},
    "reap-soundtracks": {"task": "playlists.tasks.reap_soundtracks", "schedule": 60.0},
    "retrain-reranker": {
        "task": "registry.tasks.start_scheduled_retraining",
        "schedule": float(os.environ.get("RETRAIN_EVERY_SECONDS", str(24 * 3600))),
    },
    "fail-stopped-training": {"task": "registry.tasks.fail_stopped_training", "schedule": 60.0},
}
# Model registry: trained versions' files are copied from media storage into this directory where they
# are served; a retraining runs at most TRAINING_TIME_LIMIT_SECONDS. A running training moves its heartbeat
# on every TRAINING_HEARTBEAT_SECONDS: one whose heartbeat is older than TRAINING_HEARTBEAT_STALE_SECONDS
# (its worker died) is marked failed, and so is one queued but never started after
# TRAINING_STALE_AFTER_SECONDS.
REGISTRY_CACHE_DIR = Path(os.environ.get("REGISTRY_CACHE_DIR", VAR_DIR / "registry"))
TRAINING_TIME_LIMIT_SECONDS = int(os.environ.get("TRAINING_TIME_LIMIT_SECONDS", "3600"))
TRAINING_STALE_AFTER_SECONDS = int(os.environ.get("TRAINING_STALE_AFTER_SECONDS", "4000"))
TRAINING_HEARTBEAT_SECONDS = float(os.environ.get("TRAINING_HEARTBEAT_SECONDS", "15"))
TRAINING_HEARTBEAT_STALE_SECONDS = int(os.environ.get("TRAINING_HEARTBEAT_STALE_SECONDS", "90"))
# The reranker gate's fixed offline evaluation (built by python -m recommender.lab.rerank_offline).
RERANKER_OFFLINE_EVALUATION = Path(
    os.environ.get("RERANKER_OFFLINE_EVALUATION", BASE_DIR / "recommender" / "artifacts" / "offline-eval-v1")
)

# Photo runs: a run still `running` after this many seconds is failed (its worker died). The last resort:
# a whole lost worker's run is redelivered before (the visibility timeout and restore interval), and this
# leaves another two minutes for an idle worker to take it over.
_RUN_REDELIVERED_BY = BROKER_VISIBILITY_TIMEOUT_SECONDS + BROKER_RESTORE_INTERVAL_SECONDS
RUN_STALE_AFTER_SECONDS = int(os.environ.get("RUN_STALE_AFTER_SECONDS", str(_RUN_REDELIVERED_BY + 120)))
# A run never handed to the broker (it was down) is re-sent after this many seconds.
RUN_REDISPATCH_AFTER_SECONDS = int(os.environ.get("RUN_REDISPATCH_AFTER_SECONDS", "5"))
# A run sent to the broker but not picked up by any worker within this time is failed (it can be retried).
RUN_PENDING_TIMEOUT_SECONDS = int(os.environ.get("RUN_PENDING_TIMEOUT_SECONDS", "600"))
# PostgreSQL: a worker's run writes (the claim, the result) commit without waiting for the WAL to reach
# the disk (synchronous_commit off for those transactions only: an fsync is about 4 ms here, two per run).
# Visible to every session at once; a database server crash may lose the last fraction of a second of
# them, which leaves a run pending (re-sent) or running (failed as a lost worker, retryable): the same
# promise as SQLite's synchronous=NORMAL above. 0 waits for the disk on every run write.
RUN_WRITES_ASYNC_COMMIT = env_bool("RUN_WRITES_ASYNC_COMMIT", True)
# Fault injection for tests only: the worker sleeps this long before analysing (0 = off).
RUN_FAULT_DELAY_SECONDS = float(os.environ.get("PHOTOPHONE_RUN_FAULT_DELAY", "0"))
# Tracks added as audio: upload limit, and when a still-pending analysis is sent to the workers again.
AUDIO_UPLOAD_MAX_BYTES = int(os.environ.get("AUDIO_UPLOAD_MAX_BYTES", str(60 * 1024 * 1024)))
AUDIO_REDISPATCH_AFTER_SECONDS = int(os.environ.get("AUDIO_REDISPATCH_AFTER_SECONDS", "120"))
# An import job still queued this long after it was created or last sent is sent to the workers again.
IMPORT_JOB_RESEND_AFTER_SECONDS = int(os.environ.get("IMPORT_JOB_RESEND_AFTER_SECONDS", "60"))
# The longest an import job may run on a worker (the tasks' default limit is for photo runs).
IMPORT_JOB_TIME_LIMIT_SECONDS = int(os.environ.get("IMPORT_JOB_TIME_LIMIT_SECONDS", "3600"))
# A running import job whose worker has not reported progress for this long is failed (its worker died);
# a live worker reports at least every few seconds (every 2,000 rows read, every batch written).
IMPORT_JOB_STALE_AFTER_SECONDS = int(os.environ.get("IMPORT_JOB_STALE_AFTER_SECONDS", "600"))
# An ended (done or failed) import job's uploaded file is deleted this many days after it ended.
IMPORT_JOB_FILE_RETENTION_DAYS = float(os.environ.get("IMPORT_JOB_FILE_RETENTION_DAYS", "7"))
# import_tracks URL refuses loopback, private and reserved addresses (after redirects too) unless this is set.
IMPORT_ALLOW_PRIVATE_URLS = env_bool("IMPORT_ALLOW_PRIVATE_URLS", False)
RECOMMEND_TOP_K = int(os.environ.get("RECOMMEND_TOP_K", "10"))
ENGINE_INDEX_DIR = Path(os.environ.get("ENGINE_INDEX_DIR", VAR_DIR / "index"))
# The engine's configuration: ENGINE_* variables (recommender/config.py lists them), exported models under
# var/models unless ENGINE_MODEL_DIR says otherwise.
try:
    ENGINE = EngineConfig.from_environment({"ENGINE_MODEL_DIR": str(VAR_DIR / "models"), **os.environ})
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
# Before torch, ONNX Runtime or numpy's BLAS start a thread pool (recommender/threads.py).
set_thread_environment(thread_budget(ENGINE.threads))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an API client without credentials gets 401 with a WWW-Authenticate header.
        "accounts.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "config.schema.PhotophoneAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "uploads": os.environ.get("THROTTLE_UPLOADS", "30/minute"),
        "login": os.environ.get("THROTTLE_LOGIN", "10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Photophone API",
    "DESCRIPTION": "Upload a photo, get music that fits it; rate tracks; browse the catalogue.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"faiss.loader": {"level": "WARNING"}},
}
