# syntax=docker/dockerfile:1
# The default runtime image: runs `python -m kitaru.runtime EXEC_ID` in a Job pod. It holds Kitaru and
# every plugin in plugins/ (artifact stores, orchestrators); the flow's code is not in the image: the
# runtime downloads the project archive from the artifact store and verifies its hash.
# Build from the repository root:
#   docker build -f charts/kitaru/docker/runtime.Dockerfile -t REGISTRY/kitaru-runtime:0.1.0 .
# `kitaru build` (ImageSettings) builds images with your own requirements on top of this one.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/kitaru
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kitaru ./kitaru
COPY plugins ./plugins
RUN /opt/kitaru/bin/pip install . \
 && for plugin in plugins/*/; do \
      if [ -f "$plugin/pyproject.toml" ]; then /opt/kitaru/bin/pip install "$plugin" || exit 1; fi; \
    done

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 kitaru \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/kitaru --shell /usr/sbin/nologin kitaru
COPY --from=build /opt/kitaru /opt/kitaru
ENV PATH=/opt/kitaru/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/kitaru
WORKDIR /home/kitaru
USER 10001:10001
ENTRYPOINT ["python", "-m", "kitaru.runtime"]
