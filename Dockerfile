# syntax=docker/dockerfile:1
# One image for every service; the service is chosen by the command (see docker-compose.yml):
#   node dist/apps/<name>/src/main.js [migrate]

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The `node` devDependency would download a second Node; the image already has Node 24.
RUN npm ci --ignore-scripts
COPY tsconfig.base.json tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY apps ./apps
COPY bench ./bench
# Call tsc with the image's node: with scripts skipped, node_modules/.bin/node is not a working Node.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["node", "dist/apps/gateway/src/main.js"]
