# syntax=docker/dockerfile:1
#
# Two stages: `build` bundles src/ into dist/server.js with esbuild, and `runtime` copies
# only that bundle onto a distroless Node 24 image. The bundle contains every production
# dependency, so the runtime stage needs no node_modules, no npm and no shell.
#
# Both base images are pinned by digest, so rebuilding a commit starts from the same bytes.
# Dependabot (.github/dependabot.yml, docker ecosystem) proposes digest updates as pull
# requests. To refresh a digest by hand, resolve the tag to its multi-arch index digest:
#   docker buildx imagetools inspect node:24-bookworm-slim --format '{{json .Manifest.Digest}}'
#   crane digest gcr.io/distroless/nodejs24-debian12
# NOTE: the digests below come from public build files of 2025-2026 and were not pulled
# here (this repository's CI has no registry access); the first image build verifies them.

# The bundle is plain JavaScript, so it is built once on the build machine's own platform
# (BUILDPLATFORM) and copied into every target platform's runtime stage. An arm64 image
# therefore does not run npm ci under QEMU emulation.
FROM --platform=$BUILDPLATFORM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS build
WORKDIR /src
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
# Dependencies first, so the npm ci layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM gcr.io/distroless/nodejs24-debian12@sha256:61f4f4341db81820c24ce771b83d202eb6452076f58628cd536cc7d94a10978b AS runtime
# OCI labels: CI passes the source URL, the release version and the commit SHA.
ARG SOURCE_URL=https://github.com/OWNER/httpserver
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="httpserver" \
      org.opencontainers.image.description="HTTP demo service with Prometheus metrics and JSON access logs" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and are not writable by the runtime user, so the app cannot
# change its own code even where the root filesystem is not mounted read-only.
COPY --from=build /src/dist/ ./dist/
# 65532 is the "nonroot" user of distroless images. A numeric UID lets Kubernetes check
# runAsNonRoot without reading /etc/passwd from the image.
USER 65532:65532
EXPOSE 8080 9464
# Exec form: node is PID 1 and receives SIGTERM itself, so the graceful shutdown runs.
# --enable-source-maps maps stack traces in dist/server.js back to src/ via server.js.map.
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/server.js"]
