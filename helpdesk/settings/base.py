"""Settings shared by every environment; each integration reads its block from the environment."""

from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="development-only-secret-key-change-me-in-production")
# Keys for secrets stored encrypted (helpdesk.core.encryption); empty: one derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "django_htmx",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "anymail",
    "helpdesk.core",
    "accounts",
    "customers",
    "orders",
    "tickets",
    "channels_app",
    "knowledge_base",
    "returns",
    "surveys",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "helpdesk.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.StaffMfaRequiredMiddleware",
    "helpdesk.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "helpdesk.asgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database: PostgreSQL everywhere -------------------------------------------------


def database_config(url: str) -> dict:
    """A DATABASES entry from a URL; a unix-socket directory arrives percent-encoded as the host."""
    config = env.db_url_config(url)
    config["HOST"] = unquote(config.get("HOST") or "")
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": database_config(env("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/helpdesk"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker -------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")


def configure_redis(redis_url: str) -> dict:
    """Every Redis consumer reads the same URL, so one server serves them all."""
    return {
        "CACHES": {
            "default": {
                "BACKEND": "helpdesk.core.redis_cache.SharedClientRedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "helpdesk",
            }
        },
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [redis_url], "prefix": "helpdesk:channels"},
            }
        },
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
    }


globals().update(configure_redis(REDIS_URL))

CELERY_TASK_ACKS_LATE = True
# Nothing reads task results: not storing them saves the worker a write and the caller a subscription
# per task (and Redis a key per task for a day). A caller that wants one asks with ignore_result=False.
CELERY_TASK_IGNORE_RESULT = True
# Celery would otherwise close every database connection around each task; helpdesk.celery keeps them
# for CONN_MAX_AGE instead, as Django does between requests.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "poll-imap-mailboxes": {
        "task": "channels_app.tasks.poll_imap_mailboxes_task",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
}

# --- Beat: ticket timers (SLA warnings and breaches, auto-close, reminders, complaint notices) ---
# Added to the schedule above; DatabaseScheduler copies its entries into its tables when beat starts.
# The minute jobs expire unstarted after 55 s, so a backlog never runs the same minute twice over
# (``expire_seconds``: the option DatabaseScheduler stores; it drops ``expires``).
CELERY_BEAT_SCHEDULE |= {
    "sla-send-warnings": {
        "task": "tickets.tasks.sla_send_warnings_task",
        "schedule": crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "sla-mark-breaches": {
        "task": "tickets.tasks.sla_mark_breaches_task",
        "schedule": crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "tickets-close-solved": {"task": "tickets.tasks.tickets_close_solved_task", "schedule": crontab(minute=7)},
    "tickets-remind-pending": {"task": "tickets.tasks.tickets_remind_pending_task", "schedule": crontab(minute=17)},
    "complaints-send-extension-notices": {
        "task": "tickets.tasks.complaints_send_extension_notices_task",
        "schedule": crontab(minute=27),
    },
    "deliveries-requeue-stale": {
        "task": "tickets.tasks.deliveries_requeue_stale_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 280},
    },
    "webhook-deliveries-requeue-stale": {
        "task": "tickets.tasks.webhook_deliveries_requeue_stale_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 280},
    },
    "acknowledgement-requests-requeue-stale": {
        "task": "tickets.tasks.acknowledgement_requests_requeue_stale_task",
        "schedule": crontab(minute="*"),
        "options": {"expire_seconds": 50},
    },
    # Capacity also frees up where no hook sees it (reassignment, merges, a ticket moved into a team).
    "assign-waiting-everywhere": {
        "task": "tickets.tasks.assign_waiting_tickets_everywhere_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 280},
    },
}
# --- End of beat: ticket timers -------------------------------------------------------------

# --- Auth ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Sessions are read from Redis and written through to the database, so a restart of Redis signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.CachedPermissionsBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "tickets:inbox"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapters.StaffAccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key", "login": "30/m/ip"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Helpdesk"
MFA_TOTP_TOLERANCE = 1

# --- API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.token_authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsStaffMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.core.api.application_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Tickets, customers and store sync for the eCommerce helpdesk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.choices.OrderStatus",
        "ShipmentStatusEnum": "orders.choices.ShipmentStatus",
        "TicketStatusEnum": "tickets.choices.TicketStatus",
        "PriorityEnum": "tickets.choices.Priority",
    },
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
}

# --- Store sync ----------------------------------------------------------------------
STORE_WEBHOOK_SECRET = env("STORE_WEBHOOK_SECRET", default="development-store-webhook-secret")
STORE_WEBHOOK_TOLERANCE_SECONDS = 300
# Outbound webhooks to private or loopback addresses are refused unless this is on (development, tests).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- Ticket lifecycle ----------------------------------------------------------------
TICKET_AUTO_CLOSE_DAYS = env.int("TICKET_AUTO_CLOSE_DAYS", default=4)
TICKET_PENDING_REMINDER_DAYS = env.int("TICKET_PENDING_REMINDER_DAYS", default=3)
COMPLAINT_NOTICE_DAYS_BEFORE = env.int("COMPLAINT_NOTICE_DAYS_BEFORE", default=5)
COMPLAINT_EXTENSION_DAYS = env.int("COMPLAINT_EXTENSION_DAYS", default=14)

# --- Email ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="support@helpdesk.localhost")
SMTP_INBOUND_HOST = env("SMTP_INBOUND_HOST", default="127.0.0.1")
SMTP_INBOUND_PORT = env.int("SMTP_INBOUND_PORT", default=2525)
# The largest inbound message taken whole: the SMTP listener refuses larger ones (552), the IMAP
# poller quarantines only their headers.
EMAIL_INBOUND_MAX_MESSAGE_BYTES = env.int("EMAIL_INBOUND_MAX_MESSAGE_BYTES", default=40 * 1024 * 1024)
# While more new tickets than this wait for their acknowledgement, the listener holds each new message
# before taking it (at most SMTP_INBOUND_MAX_DELAY_SECONDS), so acknowledgements keep pace; 0 never waits.
SMTP_INBOUND_BACKLOG_LIMIT = env.int("SMTP_INBOUND_BACKLOG_LIMIT", default=100)
# A process that has just queued the acknowledgement sender (or found one queued) does not ask Redis
# again for this long; the sender keeps looking for new tickets four times as long after it runs out.
ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = env.float("ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS", default=0.05)
SMTP_INBOUND_MAX_DELAY_SECONDS = env.float("SMTP_INBOUND_MAX_DELAY_SECONDS", default=30.0)
EMAIL_INBOUND_MAX_ATTACHMENT_BYTES = env.int("EMAIL_INBOUND_MAX_ATTACHMENT_BYTES", default=15 * 1024 * 1024)
EMAIL_INBOUND_MAX_TOTAL_ATTACHMENT_BYTES = env.int("EMAIL_INBOUND_MAX_TOTAL_ATTACHMENT_BYTES", default=30 * 1024 * 1024)
IMAP_POLL_BATCH_SIZE = env.int("IMAP_POLL_BATCH_SIZE", default=200)
# Form fields a request may carry in memory. Mailgun posts the whole raw message as one field
# (body-mime), so a post larger than this is refused and Mailgun retries it, then gives up.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
ANYMAIL = {
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default=""),
    # Mailgun signs each inbound post with HMAC-SHA256(signing key, timestamp + token).
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default="development-mailgun-signing-key"),
}
MAILGUN_WEBHOOK_TOLERANCE_SECONDS = 15 * 60

# --- Internationalisation -----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
    ("fr", "Français"),
    ("id", "Bahasa Indonesia"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("ru", "Русский"),
    ("de", "Deutsch"),
    ("tr", "Türkçe"),
    ("ar", "العربية"),
    ("pt", "Português"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: our own and the npm packages, served by the helpdesk itself ---------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/swagger-ui", BASE_DIR / "node_modules" / "swagger-ui-dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = True

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'self'; form-action 'self'; base-uri 'self'; object-src 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # aiosmtpd logs every SMTP command of every session at INFO; ingest logs each stored message.
        "mail.log": {"level": "WARNING"},
    },
}
