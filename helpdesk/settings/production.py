"""Production settings: every secret and server comes from the environment; nothing is embedded."""

import secrets

from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import env

# base.py falls back to development defaults; production refuses to guess. An empty value counts as missing.
_REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
_missing = [name for name in _REQUIRED if not env.str(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(_missing)}")

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# TLS ends at the reverse proxy, which must set (not append to) X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers and container health checks probe over plain HTTP; /healthz carries no cookies or data.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# base.py's development webhook secret is public. Without a configured secret, production verifies against
# a random one nobody knows, so every store webhook is refused instead of being forgeable by anyone.
STORE_WEBHOOK_SECRET = env("STORE_WEBHOOK_SECRET", default="") or secrets.token_urlsafe(32)
# Likewise inbound email posted by Mailgun is only accepted with the real signing key.
ANYMAIL = {
    **ANYMAIL,  # noqa: F405
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default="") or secrets.token_urlsafe(32),
}

# Static files are collected into STATIC_ROOT when the image is built; serve only those (with their
# compressed variants) rather than searching the source folders on every start.
WHITENOISE_USE_FINDERS = False
