# One image build for every Hypha service. Targets: gateway, scheduler, worker, certutil.
#   docker build --network host --target worker -t hypha/worker .
# (--network host: the build stage installs from the npm registry.) Node.js 24 is the runtime:
# libp2p 3 needs it. On a machine without registry access, scripts/docker/ensure-base-image.sh
# builds the base image locally under the same name.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: the whole workspace, compiled ----
FROM ${NODE_IMAGE} AS build
ENV CI=true
WORKDIR /src
COPY . .
RUN sh scripts/pnpm install --frozen-lockfile \
 && sh scripts/pnpm exec turbo run build --filter=@hypha/gateway --filter=@hypha/scheduler --filter=@hypha/worker --filter=@hypha/mtls

# ---- prod: production dependencies only, no sources, tests or build tools ----
FROM build AS prod
# a fresh --prod install (from the store the build filled): `install --prod` over the full tree
# would unlink the dev dependencies but leave them in node_modules/.pnpm
RUN rm -rf node_modules packages/*/node_modules apps/*/node_modules bench/node_modules e2e/node_modules deploy/node_modules \
 && sh scripts/pnpm install --frozen-lockfile --prod --offline \
 && rm -rf bench e2e deploy packages/local-stack packages/*/src packages/*/test apps/*/src \
      packages/*/dist/test packages/*/tsconfig.json apps/*/tsconfig.json patches \
 && find packages apps -name '*.test.js' -delete -o -name '*.test.d.ts' -delete -o -name '*.map' -delete \
 && find packages apps -path '*/dist/src/testing' -prune -exec rm -rf {} + \
 && rm -rf /root/.cache /root/.npm /root/.local/share/pnpm

# ---- runtime: shared by the service targets ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HYPHA_CONFIG=/app/docker/node.toml \
    HYPHA_HTTP__LISTEN=0.0.0.0:8080 \
    HYPHA_NETWORK__LISTEN_ADDRESSES=/ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1
WORKDIR /app
COPY --from=prod /src/package.json /src/pnpm-workspace.yaml ./
COPY --from=prod /src/node_modules ./node_modules
COPY --from=prod /src/packages ./packages
COPY --from=prod /src/apps ./apps
COPY docker ./docker
# the scheduler's task database (a volume in compose and Kubernetes); owned by node so a fresh
# named volume mounted here is writable
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4001/tcp 4001/udp 8080/tcp
# readiness over HTTP (/health/ready): a worker still reserving a relay slot is "starting"
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
ENTRYPOINT ["tini", "--", "node", "--max-semi-space-size=16", "/app/docker/entrypoint.mjs"]
CMD ["run"]

FROM runtime AS gateway
ENV HYPHA_ROLE=gateway

FROM runtime AS scheduler
ENV HYPHA_ROLE=scheduler \
    HYPHA_SCHEDULER__DATA_DIR=/data
VOLUME /data

FROM runtime AS worker
# job attempt directories and result files waiting for delivery ([worker] work_dir): writable by
# the node user, and a volume (a job may write gigabytes; keep them off the container layer)
ENV HYPHA_ROLE=worker \
    HYPHA_WORKER__WORK_DIR=/data/work
VOLUME /data

# hypha-certutil alone (the compose `pki` service)
FROM runtime AS certutil
HEALTHCHECK NONE
ENTRYPOINT ["tini", "--", "/app/docker/dev-pki.sh"]
CMD []
