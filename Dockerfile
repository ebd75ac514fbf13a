# The Polyphemus image: the server (`polyphemus serve`) and every workflow step
# (`polyphemus run_job …`, `polyphemus write_run_metadata …`) run this one image.
# Build: docker build -t polyphemus:0.1.0 .
# scripts/validate-deploy checks this file's structure in CI (no container engine there).

# --- build stage: the Rust toolchain, never shipped -------------------------------------
# The toolchain CI builds and tests with (rust-version in Cargo.toml is the oldest supported).
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/ crates/
COPY workflows/ workflows/
# The Python SDK is embedded in the binary (the local engine gives it to every step).
COPY sdk/python/polyphemus/ sdk/python/polyphemus/
RUN cargo build --release --locked --bin polyphemus \
 && strip target/release/polyphemus

# --- runtime stage: Debian slim, CA certificates, the binary, a non-root user ------------
# (util-linux, in the base image, gives the local engine its step sandbox; a server started
# as root there runs steps as polyphemus-step.)
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 polyphemus \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/polyphemus --create-home \
      --shell /usr/sbin/nologin polyphemus \
 && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --user-group polyphemus-step
COPY --from=builder /src/target/release/polyphemus /usr/local/bin/polyphemus
# The built-in workflows, for operators who submit or inspect them from the image.
COPY workflows/ /usr/share/polyphemus/workflows/
# The Python SDK (standard library only), importable by any python a derived image adds.
COPY sdk/python/polyphemus/ /usr/share/polyphemus/sdk/python/polyphemus/
ENV POLYPHEMUS_DATA_DIR=/var/lib/polyphemus \
    POLYPHEMUS_LISTEN=0.0.0.0:8080 \
    PYTHONPATH=/usr/share/polyphemus/sdk/python
WORKDIR /var/lib/polyphemus
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["polyphemus"]
CMD ["serve"]
