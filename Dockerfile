# plate-bridge: the MQTT bridge, and the offline engine (optional, on by default).
#
#   docker build -t plate-bridge .                          # bridge + engine
#   docker build -t plate-bridge:slim --build-arg WITH_ENGINE=0 .
#   docker run -v ./config:/config:ro -v plate-bridge-data:/data plate-bridge
#   docker run -p 8080:8080 plate-bridge engine --host 0.0.0.0
#
# Dependencies come from the lock files at exactly the versions the tests ran with:
# requirements/demo.lock (runtime + engine) or requirements/runtime.lock (runtime only).
# See docs/docker-and-addon.md.

ARG PYTHON_IMAGE=python:3.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG WITH_ENGINE=1
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements/demo.lock requirements/runtime.lock requirements/
RUN if [ "$WITH_ENGINE" = "1" ]; then lock=requirements/demo.lock; \
    else lock=requirements/runtime.lock; fi \
    && /opt/venv/bin/pip install --no-deps -r "$lock"
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY plate_engine/ plate_engine/
COPY custom_components/plate_recognizer/platereader/ custom_components/plate_recognizer/platereader/
RUN /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/python -c "import bridge.cli, platereader" \
    && if [ "$WITH_ENGINE" = "1" ]; then /opt/venv/bin/python -c "import plate_engine.recognizer"; fi

FROM ${PYTHON_IMAGE} AS runtime
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
# No HEALTHCHECK: the bridge serves no port to probe and exits on fatal errors (let the
# restart policy act); for the engine, probe GET /info/ (see docs/docker-and-addon.md).
ENTRYPOINT ["plate-bridge"]
CMD ["run", "-c", "/config/config.yaml"]
