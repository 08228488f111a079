# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production dependencies only, as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
# The entrypoint is plain Node, so glibc's mmap threshold is set here as bin/ufc sets it (docs/operations.md, Memory).
# EF_DATA_DIR (/var/lib/ufc) and EF_WEBUI_IP (0.0.0.0) are defaulted by the entrypoint, not here: an ENV
# value would beat the same option in an --env-file.
ENV NODE_ENV=production MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /usr/share/ufc
COPY package.json package-lock.json README.md LICENSE ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY docs ./docs
COPY src/web/static ./src/web/static
COPY packaging/docker/entrypoint.mjs ./packaging/docker/entrypoint.mjs
RUN groupadd --system ufc && useradd --system --gid ufc --home-dir /var/lib/ufc ufc \
 && mkdir -p /var/lib/ufc && chown ufc:ufc /var/lib/ufc
USER ufc
VOLUME ["/var/lib/ufc"]
# NetFlow/IPFIX/sFlow (UDP) and the web UI (TCP).
EXPOSE 2055/udp 4739/udp 6343/udp 9995/udp 8080/tcp
# `--`: Node 20 would take an --env-file among the arguments as its own option.
ENTRYPOINT ["node", "/usr/share/ufc/packaging/docker/entrypoint.mjs", "--"]
CMD ["run"]
