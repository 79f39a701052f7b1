"""Development settings: with no DATABASE_URL / REDIS_URL, embedded servers under var/ are used."""

import os

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import BASE_DIR, DATABASES, configure_redis, database_config, env

DEBUG = env.bool("DEBUG", default=True)
# Outgoing mail lands as files in var/outbox unless EMAIL_BACKEND points at a real server.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "outbox"))
# Webhook receivers in development run on this machine.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=True)

if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    from helpdesk.embedded import ensure_embedded_services

    _embedded = ensure_embedded_services(BASE_DIR / "var")
    if not os.environ.get("DATABASE_URL"):
        DATABASES["default"] = database_config(_embedded.database_url)
    if not os.environ.get("REDIS_URL"):
        REDIS_URL = _embedded.redis_url
        globals().update(configure_redis(REDIS_URL))
