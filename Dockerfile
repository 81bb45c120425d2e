# syntax=docker/dockerfile:1
# talkjs-mirror container image. Node 24 is the current LTS; the code supports Node >= 20.19.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY src ./src
# better-sqlite3 12 is compiled from source against Node 24.18.1's headers: from 24.19 on,
# node_object_wrap.h registers environment cleanup hooks that make better-sqlite3 12 abort when
# a statement is garbage-collected (nodejs/node#65446); an addon built against 24.18.1's headers
# runs cleanly on every later 24.x runtime.
RUN arch="$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" \
 && npm install --prefix /opt/addon-headers --no-save --no-audit --no-fund "node-linux-${arch}@24.18.1" \
 && mv "/opt/addon-headers/node_modules/node-linux-${arch}" /opt/node-headers
# `npm ci` runs `prepare`, which generates the Prisma clients (offline) and compiles to dist/.
RUN npm_config_nodedir=/opt/node-headers npm_config_build_from_source=true npm ci --no-audit --no-fund \
 && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_URL=file:/data/talkjs-mirror.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["help"]
