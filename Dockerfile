# maintenance-windows daemon. Build: docker build -t maintenance-windows .
# Stage 1 compiles TypeScript with the dev dependencies; stage 2 holds only the production dependencies and dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY config ./config
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
# V8 grows its heap lazily after a burst (a thousand bookings at once) and keeps it: the caps make it collect
# sooner, keeping the daemon's memory bounded (README: "Running in production"). Node 24 lets the young
# generation grow to 2 × 64 MB; 2 × 16 MB keeps ~100 MB of RSS for little GC time. Two glibc malloc arenas
# instead of one per thread: ~20 MB less RSS at 12,000 open remediations (test/bench/RESULTS.md).
ENV NODE_ENV=production PORT=8080 NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=16" MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
