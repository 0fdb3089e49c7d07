# syntax=docker/dockerfile:1
# One image, three entry points (DESIGN.md "Deployment"):
#   API      node --import ./dist/services/core/telemetry/bootstrap.js dist/services/api/main.js (default CMD)
#   worker   node --import ./dist/services/core/telemetry/bootstrap.js dist/services/worker/main.js
#   migrate  node --import ./dist/services/core/telemetry/bootstrap.js dist/services/migrate/main.js
# The chart, docker-compose.yml and the Tiltfile pass the script as the container's args and keep
# the image's ENTRYPOINT (node); under Tilt the chart prepends --watch for the API and workers.
# The last stage (runtime) is the default build target.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- all dependencies, from the lockfile only ---------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- TypeScript build ---------------------------------------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json knexfile.ts ./
COPY migrations ./migrations
COPY services ./services
RUN npm run build

# --- development image for `tilt up` (target: dev): full toolchain, code owned by the app user so
# Tilt's live update can sync sources and rebuild in place. The ENTRYPOINT is plain `node`: the
# chart adds `--watch` to the API and worker args only (values `devWatch`, set in k8s/dev), because
# under --watch node never exits and the migration Job would never complete.
FROM deps AS dev
RUN chown 1000:1000 /app
COPY --chown=1000:1000 tsconfig.json tsconfig.build.json knexfile.ts ./
COPY --chown=1000:1000 migrations ./migrations
COPY --chown=1000:1000 services ./services
USER 1000:1000
RUN npm run build
ENTRYPOINT ["node"]
CMD ["--import", "./dist/services/core/telemetry/bootstrap.js", "dist/services/api/main.js"]

# --- production dependencies only (no TypeScript, no eslint in the final image) -----------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and read-only to the app user: the pods run with a read-only root
# filesystem anyway, and nothing at run time needs to write next to the code.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official image's unprivileged `node` user, numerically, so Kubernetes' runAsNonRoot can
# verify it without reading /etc/passwd.
USER 1000:1000
EXPOSE 8000 8001
# node runs as PID 1 on purpose (no shell, no init wrapper): every entry point installs its own
# SIGTERM/SIGINT handlers (services/core/lifecycle/shutdown.ts), which is what PID 1 needs to
# receive signals, and the processes spawn no children that would need reaping.
STOPSIGNAL SIGTERM
# V8 heap flags for a small resident set (services/core/runtime/node-flags.ts says why); they are
# not allowed in NODE_OPTIONS, so they live here, before the args compose and the chart pass.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=30"]
# The OpenTelemetry bootstrap must load before the app (node --import), in every entry point.
CMD ["--import", "./dist/services/core/telemetry/bootstrap.js", "dist/services/api/main.js"]
