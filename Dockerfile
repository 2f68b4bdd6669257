# syntax=docker/dockerfile:1
# One image for every process of the case tracker: the web server (gunicorn, the default
# command), the Celery worker and Celery beat (docker-compose.yml sets their commands).
# docs/operations.md says how to build, run, upgrade and back it up.

ARG PYTHON_IMAGE=python:3.11-slim

# --- Build: the dependencies exactly as uv.lock pins them, in a virtualenv -------------------
FROM ${PYTHON_IMAGE} AS build
# uv from PyPI, pinned: the same tool and version that wrote uv.lock.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_PROJECT_ENVIRONMENT=/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
# --frozen: install what the lock says or fail; no development tools in the image.
RUN uv sync --frozen --no-dev --no-install-project

# --- Run: the application on a slim Python, as an unprivileged user --------------------------
FROM ${PYTHON_IMAGE} AS app
# PDF dossiers (WeasyPrint): Pango and HarfBuzz, and fonts that cover Latin, Cyrillic (DejaVu)
# and Hangul (Noto CJK). Nothing is fetched at render time: fonts are local.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-noto-cjk fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
# DATA_DIR is fixed in the image: static files are collected into $DATA_DIR/static below and
# the documents volume is mounted at $DATA_DIR/documents (docker-compose.yml).
# STATIC_MANIFEST=1: serve the collected files under content-hashed names (advocacy/settings.py).
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/app/var \
    STATIC_MANIFEST=1
WORKDIR /app
# The code belongs to root and is read-only for the app user; only DATA_DIR is writable.
COPY . .
# collectstatic needs settings that load; these throwaway values exist only for this command.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-key-0000 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var/documents \
    && chown -R app:app /app/var
USER app
EXPOSE 8000
# The web server. Two workers per container: scale out with more containers (or raise
# --workers to about 2 per CPU core on a bigger machine). No access log: the application
# writes one line per request itself, without query strings (advocacy/logs.py). No control
# socket: it would go to the app user's read-only home, and nothing here uses gunicornc.
# --preload: workers are forked from a master that imported and warmed the application once
# (advocacy/wsgi.py), so a worker recycled by --max-requests serves at once (docs/operations.md).
CMD ["gunicorn", "advocacy.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60", "--graceful-timeout", "30", "--max-requests", "1000", "--max-requests-jitter", "100", "--preload", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
