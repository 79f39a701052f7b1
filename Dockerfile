# The production image: one image for web (daphne), the Celery worker and beat, and the SMTP listener.
# docker-compose.yml runs it with different commands; the default is the web server on 0.0.0.0:8000.

# --- Front-end packages from package.json (htmx, chart.js, swagger-ui), exactly as locked ---------
FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# --- The helpdesk ---------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.production

RUN groupadd --system --gid 10001 helpdesk \
    && useradd --system --uid 10001 --gid helpdesk --home-dir /app --shell /usr/sbin/nologin helpdesk

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (pyproject.toml lists no packages:
# the code runs from /app).
COPY pyproject.toml ./
RUN pip install .

COPY --from=frontend /build/node_modules ./node_modules
COPY . .

# collectstatic imports the production settings, which insist on their variables; these dummies are
# never used to connect anywhere and do not stay in the image.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-0123456789-abcdefghijklmnop \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p var/media \
    && chown -R helpdesk:helpdesk var

USER helpdesk

EXPOSE 8000 2525

# --proxy-headers: the client address comes from X-Forwarded-For, which the reverse proxy must set.
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "helpdesk.asgi:application"]
