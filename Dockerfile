# One image for every Stockgraph service; docker-compose.yml picks the command per service.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
# The install's postinstall generates the Prisma client, so the schema comes first.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci
COPY . .
USER node
CMD ["npm", "start"]
