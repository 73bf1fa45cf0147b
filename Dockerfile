# syntax=docker/dockerfile:1
#
# One recipe for all five services; the SERVICE build arg picks which one the image runs:
#   docker build --target runtime --build-arg SERVICE=billing -t boxoffice/billing:local .
# docker-compose.yml builds each service this way. The deps and build stages do not depend on
# SERVICE, so the five builds share them and only the small last layers differ.

# The same Node release as the `node` devDependency in package-lock.json, which runs the tests
# and the native rehearsal of this image (tools/infra/dockerfile.unit.spec.ts checks they agree).
# An exact tag, so the image starts the same next month; the healthcheck's fetch needs Node 24.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- deps: every dependency, dev tools included, from the lockfile alone --------------------
# Only package*.json are copied, so editing source does not throw away this (slow) layer.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

# --- build: compile every app and lib into dist/, mirroring the source tree -----------------
FROM deps AS build
ENV NX_DAEMON=false NX_NO_CLOUD=true
COPY . .
# The Prisma clients (apps/<service>/src/generated/prisma) are generated code, not committed;
# they must exist before the build compiles src/. Generating reads the schemas only.
RUN npm run prisma:generate
RUN npx nx run-many -t build

# --- runtime: production dependencies and one service's compiled code -----------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
# Before ARG SERVICE on purpose: this layer is then identical, and cached, for all five images.
RUN npm ci --omit=dev && npm cache clean --force

ARG SERVICE
RUN test -n "${SERVICE}" || { echo 'build with --build-arg SERVICE=checkout|billing|email|analytics|audit' >&2; exit 1; }
ENV NODE_ENV=production SERVICE=${SERVICE}

# What the service runs: the compiled libs, its own compiled app, and its prisma/ folder (the
# migrations it applies at start, read relative to WORKDIR). This list is also what
# tools/infra/runtime-stage.ts reads to rehearse the image natively; keep to the forms it knows.
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/dist/apps/${SERVICE} ./dist/apps/${SERVICE}
COPY --from=build /app/apps/${SERVICE}/prisma ./apps/${SERVICE}/prisma

USER node
# Shell form so ${SERVICE} expands at run time; `exec` replaces the shell with node, so node
# is PID 1 and receives docker stop's SIGTERM (dash would otherwise keep it as a child).
# The --import starts tracing first when OTEL_EXPORTER_OTLP_ENDPOINT is set (libs/telemetry), and
# does nothing otherwise.
CMD exec node --import ./dist/libs/telemetry/src/telemetry.register.js dist/apps/${SERVICE}/src/main.js
