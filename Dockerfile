# atlas serve in a container: the HTTP API, with the server and PostgreSQL extras.
#
#   docker build -t atlas .
#   docker run -e ATLAS_JWT_SECRET=... -v atlas-state:/var/lib/atlas -p 3003:3003 atlas
#
# It listens on 0.0.0.0, so `atlas serve` refuses to start unless authentication is configured
# (ATLAS_JWT_SECRET, or ATLAS_API_KEYS_FILE naming a key file mounted into the container).
# BASE: any slim Python 3.11+ image on Debian; scripts/image-check builds on a local stand-in.
ARG BASE=python:3.11-slim

# --- builder: a virtualenv with atlas and its run-time dependencies, nothing else ---------
FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/atlas
WORKDIR /build
# Only what the wheel is built from (hatchling reads README.md for the metadata).
COPY pyproject.toml README.md ./
COPY src ./src
# pip and setuptools go once atlas is in: not needed at run time, less to carry and to patch.
RUN /opt/atlas/bin/pip install ".[server,postgres]" \
    && /opt/atlas/bin/pip uninstall -y pip setuptools \
    && /opt/atlas/bin/atlas --version

# --- final: the same base, the virtualenv, a user that is not root ---------------------------
FROM ${BASE}
# A fixed numeric id, so that an orchestrator can check "not root" without reading /etc/passwd,
# and a volume's owner is the same across rebuilds. The entries are written directly: useradd
# (Debian's passwd package) is in the official slim images but not in every minimal base.
ARG ATLAS_UID=10001
RUN echo "atlas:x:${ATLAS_UID}:" >> /etc/group \
    && echo "atlas:x:${ATLAS_UID}:${ATLAS_UID}:atlas:/var/lib/atlas:/usr/sbin/nologin" >> /etc/passwd \
    && mkdir -p /var/lib/atlas \
    && chown "${ATLAS_UID}:${ATLAS_UID}" /var/lib/atlas
COPY --from=builder /opt/atlas /opt/atlas
ENV PATH=/opt/atlas/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ATLAS_STATE=/var/lib/atlas/state.db \
    HOST=0.0.0.0 \
    PORT=3003
WORKDIR /var/lib/atlas
# Made and owned above first, so that a new named volume starts out writable by atlas.
VOLUME ["/var/lib/atlas"]
USER ${ATLAS_UID}
EXPOSE 3003
# Slim images have no curl; urlopen raises (exit 1) on a refused connection or a non-2xx
# answer, such as health's 503 for a store that cannot be written.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('PORT', '3003'), timeout=4)"]
ENTRYPOINT ["atlas", "serve"]
