import { STREAMS } from '../../platform/contracts/events.ts';
import type { PrismaClient } from '../../platform/database/database.ts';
import type { EventBus } from '../../platform/events/eventBus.ts';
import type { Logger } from '../../platform/logger.ts';
import { OutboxRelay } from '../../platform/events/outboxRelay.ts';
import { TransactionalConsumer } from '../../platform/events/transactionalConsumer.ts';
import type { SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import { watchOutboxLag } from '../../platform/observability/outboxMetrics.ts';
import { ServiceMetrics } from '../../platform/observability/serviceMetrics.ts';
import { createErpSyncLedger, type ErpSyncContext } from './erpSync/erpSyncModule.ts';
import { createReconciliation, type ReconciliationContext } from './reconciliation.ts';
import { RECONCILIATION_PRODUCER, type InventoryEventHandler } from './reconciliationModule.ts';
import { readReconciliationConfig } from './reconciliationConfig.ts';
import { ReconciliationMetrics } from './reconciliationMetrics.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';

export type ReconciliationSubgraphContext = ErpSyncContext & ReconciliationContext;

/**
 * The reconciliation subgraph: the ERP sync ledger (every inventory transaction, posted to the
 * ERP by its connector) and continuous reconciliation (runs, discrepancies, review tasks,
 * alerts, holds), fed by one consumer of inventory's stock-change stream; their events out
 * through one outbox relay.
 */
export function reconciliationSubgraph({ infrastructure: { db, bus }, env, logger }: SubgraphEnvironment): SubgraphDefinition<ReconciliationSubgraphContext> {
  const pollIntervalMs = readReconciliationConfig(env).outboxPollIntervalMs;
  const relay = new OutboxRelay(db.prisma, bus, RECONCILIATION_PRODUCER, { pollIntervalMs });
  const metrics = new ServiceMetrics('reconciliation');
  watchOutboxLag(metrics, db.prisma, RECONCILIATION_PRODUCER);
  const moduleEnvironment = { db, bus, env, logger, publishNow: () => relay.wake(), metrics: new ReconciliationMetrics(metrics) };
  const sync = createErpSyncLedger(moduleEnvironment);
  const reconciliation = createReconciliation(moduleEnvironment);
  return {
    name: 'reconciliation',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: mergeResolvers({ DateTime: DateTimeScalar }, sync.resolvers, reconciliation.resolvers),
    createContext: (identity) => ({ ...sync.context(identity), ...reconciliation.context(identity) }),
    workers: [
      {
        start: () => relay.start((error) => logger.error({ err: error }, 'outbox relay failed; retrying')),
        stop: () => relay.stop(),
      },
      inventoryConsumer(db.prisma, bus, logger, [sync.inventoryEvents, reconciliation.inventoryEvents]),
      ...sync.workers,
      ...reconciliation.workers,
    ],
    metrics,
  };
}

/** One consumer of inventory's stream for every part, each applying its own events in the same transaction. */
function inventoryConsumer(prisma: PrismaClient, bus: EventBus, logger: Logger, handlers: readonly InventoryEventHandler[]): TransactionalConsumer {
  const typesOf = (handler: InventoryEventHandler) => new Set(handler.contracts.map((contract) => contract.type));
  const parts = handlers.map((handler) => ({ handler, types: typesOf(handler) }));
  return new TransactionalConsumer(prisma, bus, {
    name: 'reconciliation.inventory',
    stream: STREAMS.stockChanges,
    contracts: handlers.flatMap((handler) => handler.contracts),
    apply: async (tx, events) => {
      for (const { handler, types } of parts) {
        const own = events.filter((event) => types.has(event.type));
        if (own.length > 0) await handler.apply(tx, own);
      }
    },
    onCommitted: () => {
      for (const handler of handlers) handler.onCommitted?.();
    },
    logger,
  });
}

/** The parts' resolvers as one map; a field resolved by two parts is a mistake, refused at start. */
function mergeResolvers(...maps: Record<string, any>[]): Record<string, any> {
  const merged: Record<string, any> = {};
  for (const map of maps) {
    for (const [typeName, fields] of Object.entries(map)) {
      if (typeof fields !== 'object' || fields === null || !(typeName in merged) || typeof merged[typeName] !== 'object') {
        if (typeName in merged) throw new TypeError(`reconciliation: ${typeName} is resolved by two parts`);
        merged[typeName] = fields;
        continue;
      }
      for (const field of Object.keys(fields)) {
        if (field in merged[typeName]) throw new TypeError(`reconciliation: ${typeName}.${field} is resolved by two parts`);
      }
      merged[typeName] = { ...merged[typeName], ...fields };
    }
  }
  return merged;
}
