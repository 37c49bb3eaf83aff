# One image for every Clearway container: the service APIs (uvicorn), the workers
# (python -m <service>.worker) and the one-shot migrate / kafka-topics jobs in docker-compose.yml.
FROM python:3.11-slim

# MALLOC_ARENA_MAX: two malloc arenas per process, as `clearway up` sets (see clearway/cli.py)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs: no .venv, data or caches from the build context.
COPY pyproject.toml README.md ./
COPY clearway ./clearway
COPY messaging ./messaging
COPY schemas ./schemas
COPY customs ./customs
COPY risk ./risk
COPY gateway ./gateway

RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin clearway

USER clearway

EXPOSE 8000

CMD ["python", "-m", "clearway.serve", "gateway.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
