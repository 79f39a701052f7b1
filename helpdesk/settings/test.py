"""Test settings: the servers named by DATABASE_URL / REDIS_URL (``make test`` starts embedded ones)."""

import os

from helpdesk.settings.base import *  # noqa: F403

if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    raise RuntimeError(
        "Tests need DATABASE_URL and REDIS_URL; `make test` starts embedded servers when they are unset."
    )

# Each pytest-xdist worker gets its own Redis database (the URL's number plus the worker's),
# so channel groups, queues and realtime sequences never cross between workers.
_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_redis_base, _slash, _redis_db = REDIS_URL.rpartition("/")  # noqa: F405
REDIS_URL = f"{_redis_base}/{int(_redis_db or 0) + _worker}"
globals().update(configure_redis(REDIS_URL))  # noqa: F405

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-use-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory by default; a test that runs a real worker may point it at a local SMTP sink instead.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
STORE_WEBHOOK_SECRET = "test-store-webhook-secret"  # noqa: S105
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the test receivers listen on 127.0.0.1
ANYMAIL = {**ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "test-mailgun-signing-key"}  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
# Most tests queue tasks that no worker takes; the pacing tests give the listener a queue of their own.
SMTP_INBOUND_BACKLOG_LIMIT = 0
# Tests that stand in for the sender run it at once and let it stop at once, so every new ticket asks
# for it; the tests of the quiet time set their own.
ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = 0.0
# The test process's connections live and die with each test; a worker started by a test may keep its own.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("TEST_WORKER_CONN_MAX_AGE", "0"))  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
