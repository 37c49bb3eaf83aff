# One image for every Clearway container: the service APIs (uvicorn), the workers
# (python -m <service>.worker) and the one-shot migrate / kafka-topics jobs in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs: no .venv, data or caches from the build context.
# README.m[d] is a glob so the build still works while the README is absent.
COPY pyproject.toml README.m[d] ./
COPY clearway ./clearway
COPY messaging ./messaging
COPY schemas ./schemas
COPY customs ./customs
COPY risk ./risk
COPY gateway ./gateway

# The processes run from /app (uvicorn and `python -m` put the working directory first on
# sys.path), so files the wheel does not ship, such as gateway/templates, are still found.
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin clearway

USER clearway

EXPOSE 8000

CMD ["uvicorn", "--factory", "gateway.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
