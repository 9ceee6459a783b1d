# plate-bridge: the MQTT bridge, and the offline engine (optional, on by default).
#
#   docker build -t plate-bridge:0.1.0 .                                # bridge + engine
#   docker build -t plate-bridge:0.1.0-slim --build-arg WITH_ENGINE=0 .  # bridge only
#   docker run -v ./config:/config:ro -v plate-bridge-data:/data plate-bridge:0.1.0
#   docker run -p 8080:8080 plate-bridge:0.1.0 engine --host 0.0.0.0
#
# scripts/image builds this same file with buildah, on a Debian base it makes itself
# with debootstrap when no image registry is reachable (--build-arg BASE=...).
# Dependencies come from the lock files at exactly the versions the tests ran with:
# requirements/demo.lock (runtime + engine) or requirements/runtime.lock (runtime only).
# See docs/docker-and-addon.md.

# Any Debian-like image with Python 3.13 as `python3`, `venv` included (both stages).
ARG BASE=docker.io/library/python:3.13-slim-trixie

FROM ${BASE} AS build
ARG WITH_ENGINE=1
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
WORKDIR /src
# The dependencies first, in their own layer: rebuilt only when a lock file changes.
COPY requirements/demo.lock requirements/runtime.lock requirements/
# Behind a proxy that re-signs TLS, give pip its CA bundle as the build secret `ca`
# (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`; scripts/image does): it is
# mounted for these two steps only and stays out of the image.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && if [ "$WITH_ENGINE" = "1" ]; then lock=requirements/demo.lock; \
    else lock=requirements/runtime.lock; fi \
    && /opt/venv/bin/pip install --no-deps --only-binary=:all: -r "$lock"
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY plate_engine/ plate_engine/
COPY custom_components/plate_recognizer/platereader/ custom_components/plate_recognizer/platereader/
# pip compiles every module to bytecode (a faster start); loading the engine's models
# proves they were packaged; then pip itself goes: the image installs nothing at run time.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/python -c "import bridge.cli, platereader" \
    && if [ "$WITH_ENGINE" = "1" ]; then /opt/venv/bin/python -c "import plate_engine.server; \
        from plate_engine.recognizer import Recognizer; Recognizer(threads=1)"; fi \
    && /opt/venv/bin/pip uninstall --yes pip \
    && rm -rf /root/.cache

FROM ${BASE} AS runtime
LABEL org.opencontainers.image.title="plate-bridge" \
      org.opencontainers.image.source="https://github.com/plate-bridge/plate-bridge" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 plate \
    && useradd --system --uid 10001 --gid plate --home-dir /data --no-create-home plate \
    && mkdir -p /data /config \
    && chown plate:plate /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /data
USER plate
VOLUME ["/data"]
# The engine's port (`plate-bridge engine --host 0.0.0.0`); the bridge listens on nothing.
EXPOSE 8080
# Healthy when what runs here answers: the engine's GET /info/ (when something listens on
# 127.0.0.1:8080), the bridge's `online` status on MQTT (when /config/config.yaml exists).
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
    CMD ["plate-bridge", "health"]
ENTRYPOINT ["plate-bridge"]
CMD ["run", "-c", "/config/config.yaml"]
