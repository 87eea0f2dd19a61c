# syntax=docker/dockerfile:1
# The Kitaru server image: `kitaru server up` (FastAPI + uvicorn) on SQLite or PostgreSQL.
# Build from the repository root (the context must hold pyproject.toml and kitaru/):
#   docker build -f charts/kitaru/docker/server.Dockerfile -t REGISTRY/kitaru-server:0.1.0 .
# Pin the base by digest for reproducible builds: --build-arg PYTHON_IMAGE=python:3.12.8-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/kitaru
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kitaru ./kitaru
COPY plugins ./plugins
# the server mints credentials and dispatches runners through each stack's plugins, so it carries them all
RUN /opt/kitaru/bin/pip install ".[server,postgres]" \
 && for plugin in plugins/*/; do \
      if [ -f "$plugin/pyproject.toml" ]; then /opt/kitaru/bin/pip install "$plugin" || exit 1; fi; \
    done

FROM ${PYTHON_IMAGE}
# uid/gid 10001 match the chart's securityContext; the root filesystem may be read-only
# (the chart mounts /tmp and /var/lib/kitaru).
RUN groupadd --system --gid 10001 kitaru \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kitaru --no-create-home --shell /usr/sbin/nologin kitaru \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/kitaru
COPY --from=build /opt/kitaru /opt/kitaru
ENV PATH=/opt/kitaru/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/kitaru \
    KITARU_HOME=/var/lib/kitaru
WORKDIR /var/lib/kitaru
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["kitaru"]
CMD ["server", "up", "--host", "0.0.0.0", "--port", "8080"]
