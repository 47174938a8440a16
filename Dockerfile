# syntax=docker/dockerfile:1
#
# BidEngine container image: `bidengine serve` by default; the Helm chart runs the same image as
# `bidengine migrate` (pre-install/pre-upgrade Job) and `bidengine schedule`.
#
#   docker build -t bidengine:dev .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgresql://... bidengine:dev
#
# The Swift toolchain matches the one the project is developed with (6.3); override with
# --build-arg SWIFT_VERSION=6.x if needed (Package.swift needs 6.1 or newer).
#
# checkov:skip=CKV_DOCKER_2:No HEALTHCHECK: the image has no HTTP client; Kubernetes probes /healthz and /readyz (chart/).
ARG SWIFT_VERSION=6.3
ARG DEBIAN_RELEASE=bookworm

# ================================
# Build
# ================================
FROM swift:${SWIFT_VERSION}-${DEBIAN_RELEASE} AS build

# Unpinned on purpose: the stable release's archive keeps only the current versions (with security fixes).
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends libevent-dev libpq-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Resolve dependencies in their own layer so source edits do not refetch them.
# (Package.resolved is git-ignored; the glob copies it only when the build context has one.)
COPY Package.* ./
RUN swift package resolve

COPY . .

# The Swift runtime is linked statically, so the run stage needs no Swift libraries at all.
RUN swift build -c release --product bidengine --static-swift-stdlib \
    && mkdir -p /staging/bin \
    && cp "$(swift build -c release --show-bin-path)/bidengine" /staging/bin/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/bin/ \
    && cp -R Migrations /staging/Migrations

# ================================
# Run
# ================================
FROM debian:${DEBIAN_RELEASE}-slim

# Only what the binary loads at run time: libevent (+ pthreads glue) and libpq; tzdata for
# AUDIT_TZ, CA certificates for sslmode=verify-full and the competitor-price poller.
# Unpinned on purpose: the stable release's archive keeps only the current versions (with security fixes).
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libpq5 libcurl4 tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bidengine \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin bidengine

COPY --from=build /staging/bin/bidengine /usr/local/bin/bidengine
COPY --from=build /staging/bin/swift-backtrace-static /usr/local/libexec/bidengine/swift-backtrace-static
COPY --from=build /staging/Migrations /usr/share/bidengine/Migrations

# Crash backtraces on stderr (the Swift runtime's backtracer, non-interactive).
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/bidengine/swift-backtrace-static \
    HOST=0.0.0.0 \
    PORT=8080 \
    BIDENGINE_MIGRATIONS_DIR=/usr/share/bidengine/Migrations

# Numeric so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/bidengine"]
CMD ["serve"]
