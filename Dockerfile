# syntax=docker/dockerfile:1
# Both binaries in one image; compose picks the command (control-api or app-api).
#
#   docker build -t tenancy .
#
# Stage 1 compiles in the official Rust image (Debian bookworm, gcc included: aws-lc-sys
# and the rest of the tree need only a C compiler). Stage 2 is a slim Debian with the two
# binaries, CA certificates, and a user without a login shell or home.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The target dir and registry live in cache mounts: rebuilds after a source change reuse them.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p control-api -p app-api \
 && mkdir -p /out \
 && cp target/release/control-api target/release/app-api /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tenancy \
 && useradd --system --uid 10001 --gid tenancy --no-create-home --shell /usr/sbin/nologin tenancy
COPY --from=build /out/control-api /out/app-api /usr/local/bin/
USER 10001:10001
# Listen on every interface inside the container; compose publishes to loopback only.
ENV CONTROL_API_ADDR=0.0.0.0:3001 \
    APP_API_ADDR=0.0.0.0:3000
EXPOSE 3000 3001
CMD ["control-api"]
