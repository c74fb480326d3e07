# syntax=docker/dockerfile:1
# Both binaries in one image; compose picks the command (control-api or app-api).
#
#   docker build -t tenancy .
#
# Stage 1 compiles in the official Rust image (Debian bookworm, gcc included: aws-lc-sys
# and the rest of the tree need only a C compiler). Stage 2 is a slim Debian with the two
# binaries, CA certificates, the PostgreSQL client programs backups need (see below), and
# a user without a login shell or home.

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
# Backups run pg_dump and pg_restore, which refuse a server of a newer major version than
# their own (control-api checks first and says so: crates/control-api/src/backup/tools.rs).
# Bookworm's own postgresql-client is 15 and docker-compose.yml runs postgres:16, so the
# client comes from the PostgreSQL project's APT repository (apt.postgresql.org, signed
# with its published key, fetched over HTTPS), at PG_MAJOR: keep it at least the newest
# major of any registered database server (`--build-arg PG_MAJOR=17` for a 17 server).
# PG_BIN_DIR points control-api at that version's programs rather than Debian's pg_wrapper.
ARG PG_MAJOR=16
ADD --chmod=644 https://www.postgresql.org/media/keys/ACCC4CF8.asc /usr/share/keyrings/apt.postgresql.org.asc
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && echo "deb [signed-by=/usr/share/keyrings/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
 && "/usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump" --version \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tenancy \
 && useradd --system --uid 10001 --gid tenancy --no-create-home --shell /usr/sbin/nologin tenancy \
 && install -d -o tenancy -g tenancy -m 0700 /var/lib/tenancy/backups
COPY --from=build /out/control-api /out/app-api /usr/local/bin/
USER 10001:10001
# Listen on every interface inside the container; compose publishes to loopback only.
# Backups go to a directory the unprivileged user owns (the default, ./backups, would be
# under / here); compose mounts a volume on it so they outlive the container.
ENV CONTROL_API_ADDR=0.0.0.0:3001 \
    APP_API_ADDR=0.0.0.0:3000 \
    PG_BIN_DIR=/usr/lib/postgresql/${PG_MAJOR}/bin \
    BACKUP_DIR=/var/lib/tenancy/backups
EXPOSE 3000 3001
CMD ["control-api"]
