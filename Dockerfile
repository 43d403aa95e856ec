# syntax=docker/dockerfile:1

# Build stage: compile the TypeScript sources into dist/.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies, installed where npm is, so that the runtime stage needs none.
FROM node:24.21.0-bookworm-slim AS dependencies
WORKDIR /dependencies
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: node, the production dependencies and the compiled code only.
FROM node:24.21.0-bookworm-slim
# The repository's public address, given when the image is published.
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="OpenCTI connector: Anomali ThreatStream" \
      org.opencontainers.image.description="Imports the indicators of compromise of an Anomali ThreatStream account into OpenCTI" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"
# 4 MB young-generation semi-spaces and a 1 GiB old generation, which makes V8 grow its heap by
# smaller steps: peak memory stays under 200 MB for any feed size, for 2-4 % of throughput
# (BENCHMARKS.md). NODE_OPTIONS can override it.
ENV NODE_ENV=production CONNECTOR_TYPE=EXTERNAL_IMPORT \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=1024"
# Nothing installs packages at run time: npm, npx, corepack and yarn leave the image.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
# config.yml, when used, is read from this directory (mount it read-only).
WORKDIR /opt/opencti-connector-threatstream
COPY package.json ./
COPY --from=dependencies /dependencies/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY --chmod=0755 entrypoint.sh /entrypoint.sh
# The code stays owned by root and read-only for the process. The "node" user
# (uid 1000) ships with the official Node images.
USER node
# GET /health on the metrics port, as docker-compose.yml's healthcheck (the same command and
# timings). Without CONNECTOR_EXPOSE_METRICS=true there is no endpoint, and nothing to check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
  CMD ["node", "-e", "if (!['true', 'yes'].includes(String(process.env.CONNECTOR_EXPOSE_METRICS).toLowerCase())) process.exit(0); fetch('http://127.0.0.1:' + (process.env.CONNECTOR_METRICS_PORT || 9095) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/entrypoint.sh"]
