# maskattn service image.
#
#   docker build -t maskattn .                  # any Docker engine
#   deploy/build-image.sh                       # here: debootstrap + buildah (see README, Deploy)
#
# Stage 1 compiles build/maskattn on debian:bookworm; stage 2 is debian:bookworm-slim
# with only the shared libraries the binary loads, curl for the health check, and an
# unprivileged user. The server is PID 1: it blocks SIGTERM/SIGINT in every thread and
# takes them with sigtimedwait, so `docker stop` / a pod deletion starts its drain
# (readyz 503, running jobs get MASKATTN_GRACE seconds, exit 0).

FROM debian:bookworm AS build

# Compiler flags for the target CPU family. Empty (the default) picks a portable
# baseline for the build architecture: x86-64-v2 on amd64, the compiler's default
# elsewhere. Never -march=native: the image runs on machines other than the builder.
# (--build-arg ARCH_FLAGS=-march=x86-64-v3 gives the attention kernel AVX2.)
ARG ARCH_FLAGS=

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc make pkg-config binutils \
        libmicrohttpd-dev libcjson-dev nettle-dev libpng-dev libopenblas-dev \
        libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
        libhiredis-dev libcurl4-openssl-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# `make /out/maskattn` (not `make`): the default goal first runs `deps`, which wants
# the test tools (cmocka, ffmpeg, pytest, ...) that a build stage does not need.
RUN flags="$ARCH_FLAGS"; \
    if [ -z "$flags" ] && [ "$(dpkg --print-architecture)" = amd64 ]; then flags=-march=x86-64-v2; fi; \
    make -j"$(nproc)" BUILD=/out ARCH_FLAGS="$flags" /out/maskattn \
 && /out/maskattn --help >/dev/null

FROM debian:bookworm-slim

# The runtime libraries of build/maskattn (its NEEDED entries, mapped to packages with
# dpkg -S): libmicrohttpd, cJSON, nettle, libpng, OpenBLAS (pthread flavour), FFmpeg 5.1
# (libavformat/libavcodec with libx264, libavutil, libswscale, libswresample) and
# hiredis for the Redis store, libcurl for webhooks. curl runs the HEALTHCHECK.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libcjson1 libnettle8 libpng16-16 libopenblas0-pthread \
        libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4 \
        libhiredis0.14 libcurl4 \
        curl \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 maskattn \
 && useradd --uid 10001 --gid maskattn --home-dir /data --no-create-home --no-log-init \
        --shell /usr/sbin/nologin maskattn \
 && install -d -o maskattn -g maskattn -m 0750 /data

COPY --from=build /out/maskattn /usr/local/bin/maskattn
# Fail the build, not the first start, when a shared library is missing.
RUN if ldd /usr/local/bin/maskattn | grep 'not found'; then exit 1; fi

ENV MASKATTN_PORT=8080 \
    MASKATTN_DATA=/data
# Job store. With MASKATTN_REDIS_URL set, every replica must mount the same volume here.
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
USER 10001:10001

# Liveness only (/healthz); readiness (/readyz) is the load balancer's and Kubernetes'
# business. The shell form expands MASKATTN_PORT when the port is changed at run time.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${MASKATTN_PORT:-8080}/healthz" || exit 1

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/maskattn"]
CMD ["serve"]
