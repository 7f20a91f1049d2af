# execd service image: the daemon (`execd serve`), not a sandbox.
#
#   make image            # builds the wheelhouse on the host, then this image
#
# The wheels come from the host (build/wheelhouse) so the build needs no
# package index inside Docker. At run time the service drives the host's
# Docker engine through its socket; see README "Running with Docker".
FROM debian:bookworm-slim
# `make image` passes execd.__version__, so the label matches `execd --version`.
ARG VERSION=unknown
LABEL org.opencontainers.image.title=execd org.opencontainers.image.version=$VERSION

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

COPY build/wheelhouse /tmp/wheels
RUN python3 -m venv /opt/execd \
 && /opt/execd/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels execd \
 && rm -rf /tmp/wheels \
 && mkdir -p /var/lib/execd /etc/execd \
 && chown 10100:10100 /var/lib/execd

COPY config/execd.ini /etc/execd/execd.ini

# Non-root. Add the Docker socket's group at run time (--group-add), since
# its gid differs from host to host.
USER 10100:10100
ENV HOME=/var/lib/execd PATH=/opt/execd/bin:$PATH EXECD_CONFIG=/etc/execd/execd.ini \
    PROMETHEUS_MULTIPROC_DIR=/var/lib/execd/metrics PYTHONUNBUFFERED=1
WORKDIR /var/lib/execd
EXPOSE 3003
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/execd/bin/python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3003/health', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/opt/execd/bin/execd"]
CMD ["serve"]
