# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
WORKDIR /app
COPY --from=build /app /app
EXPOSE 4000
# Readiness, not liveness: healthy once the database answers a ping and an engine can serve
# (a first start that is still training serves STATISTICAL and counts as ready); see README, Operations.
# On `docker stop` (SIGTERM) the process drains requests and exits within 5 s, inside Docker's 10 s grace.
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:4000/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "--max-semi-space-size=128", "--heap-growing-percent=100", "--interrupt-budget=8000", "dist/src/main.js"]
