import type { SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import { readInventoryConfig } from './config.ts';
import { InventoryRepository } from './data/inventoryRepository.ts';
import { warehouseEventsRoute } from './http/warehouseEventsRoute.ts';
import { createInventoryLoaders } from './loaders.ts';
import { loadExampleMappings } from './mappings/exampleMappings.ts';
import { inventoryResolvers, type InventoryContext } from './resolvers.ts';
import { StockChangeRelay } from './services/stockChangeRelay.ts';
import { WarehouseEventIngestion } from './services/warehouseEventIngestion.ts';

/**
 * The inventory subgraph: items, locations and stock levels; warehouse events in
 * (POST /events/:source); every stock change out through the outbox relay.
 */
export function inventorySubgraph({ infrastructure: { db, bus }, env, logger }: SubgraphEnvironment): SubgraphDefinition<InventoryContext> {
  const config = readInventoryConfig(env);
  const repository = new InventoryRepository(db.prisma);
  const ingestion = new WarehouseEventIngestion(db.prisma, loadExampleMappings());
  const relay = new StockChangeRelay(db.prisma, bus, { pollIntervalMs: config.outboxPollIntervalMs });
  return {
    name: 'inventory',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: inventoryResolvers,
    createContext: () => ({ repository, ingestion, loaders: createInventoryLoaders(repository), afterCommit: () => relay.wake() }),
    routes: [
      warehouseEventsRoute({
        ingestion,
        secrets: config.wmsSourceSecrets,
        replayWindowSeconds: config.signatureWindowSeconds,
        maxBatchEvents: config.maxBatchEvents,
        maxBodyBytes: 8 * 1024 * 1024, // 8 MiB
        logger,
        onCommitted: () => relay.wake(),
      }),
    ],
    workers: [
      {
        start: () => relay.start((error) => logger.error({ err: error }, 'stock-change relay failed; retrying')),
        stop: () => relay.stop(),
      },
    ],
  };
}
