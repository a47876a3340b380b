# syntax=docker/dockerfile:1
# One image for every service, job and tool: `loyalty run accrual`, `loyalty migrate`, ...
#
#   docker build -t loyalty:0.1.0 .
#   docker run --rm loyalty:0.1.0            # prints the command's help
#
# Both stages use the same base so the virtual environment's interpreter links stay valid.
# checkov:skip=CKV_DOCKER_7: FROM names this ARG, whose default is a pinned version tag, not latest
# (tests/unit/deploy/test_dockerfile.py holds it to python:3.11-*-slim-*).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: resolve and install the project into a self-contained virtual environment ----
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/loyalty

WORKDIR /src

# Dependencies first, from pyproject alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/loyalty/bin/pip install --requirement requirements.txt

COPY contracts ./contracts
COPY shared ./shared
COPY services ./services
# Byte-code is compiled here, at build time: the runtime file system is read-only.
RUN /opt/loyalty/bin/pip install --no-deps . \
    && /opt/loyalty/bin/python -m compileall -q /opt/loyalty/lib \
    && /opt/loyalty/bin/pip uninstall --yes pip setuptools

# ---- runtime: the virtual environment, a non-root user, nothing else ----
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="bank-loyalty" \
      org.opencontainers.image.description="Bank rewards & loyalty platform services" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 loyalty \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin loyalty

COPY --from=builder /opt/loyalty /opt/loyalty

# Nothing is written outside /tmp (an emptyDir in Kubernetes): no byte-code, no pip cache,
# and the embedded mode's state directory, should anyone use it in a container, goes there too.
ENV PATH=/opt/loyalty/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    LOYALTY_HOME=/tmp/loyalty

WORKDIR /tmp
USER 10001:10001

# Health, readiness and metrics (LOYALTY_<SERVICE>_HTTP_PORT).
# checkov:skip=CKV_DOCKER_2: one image for services, jobs and tools; probes check each service
# (no HEALTHCHECK: the Kubernetes probes and compose healthchecks ask each service's /healthz).
EXPOSE 8080

ENTRYPOINT ["loyalty"]
CMD ["--help"]
