# syntax=docker/dockerfile:1
# talkjs-mirror container image: `talkjs-mirror run`, the long-running worker, on Node 24 (the
# current LTS; the code supports Node >= 20.19). No step downloads a Prisma engine binary: the
# clients are generated offline and migrations run through the wasm schema engine at start.
# .ci/container-steps performs these same steps in a clean directory on every CI run, because no
# image can be built on the CI machines (keep the two in step).

# ---- headers: better-sqlite3 12 is compiled against Node 24.18.1's headers. From 24.19 on,
# node_object_wrap.h registers environment cleanup hooks that make better-sqlite3 12 abort when a
# statement is garbage-collected (nodejs/node#65446); an addon built against 24.18.1's headers
# runs cleanly on every later 24.x runtime.
FROM node:24-bookworm-slim AS toolchain
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN arch="$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" \
 && npm install --prefix /opt/addon-headers --no-save --no-audit --no-fund "node-linux-${arch}@24.18.1" \
 && mv "/opt/addon-headers/node_modules/node-linux-${arch}" /opt/node-headers
ENV npm_config_nodedir=/opt/node-headers \
    npm_config_build_from_source=true

# ---- build: every dependency; `npm ci` runs `prepare`, which generates the Prisma clients
# (offline) and compiles TypeScript to dist/.
FROM toolchain AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY src ./src
RUN npm ci --no-audit --no-fund

# ---- runtime dependencies only. Scripts are skipped (`prepare` needs the dev tools) and the one
# native addon is built explicitly.
FROM toolchain AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3

# ---- runtime
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_URL=file:/data/talkjs-mirror.db \
    FILES_DIR=/data/files \
    METRICS_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
RUN ln -s /app/dist/cli.js /usr/local/bin/talkjs-mirror && chmod +x /app/dist/cli.js \
 && mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 9464 8080
# Docker sends SIGTERM and waits 30 s before SIGKILL; SHUTDOWN_GRACE_MS (default 25 s) fits inside.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["talkjs-mirror"]
CMD ["run"]
