import { holdCleared, holdPlaced, STREAMS, warehouseEventApplied } from '../../platform/contracts/events.ts';
import { BatchSweeper } from '../../platform/concurrency/batchSweeper.ts';
import { OutboxRelay } from '../../platform/events/outboxRelay.ts';
import { TransactionalConsumer } from '../../platform/events/transactionalConsumer.ts';
import type { SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import { watchOutboxLag } from '../../platform/observability/outboxMetrics.ts';
import { ServiceMetrics } from '../../platform/observability/serviceMetrics.ts';
import { readOrdersConfig } from './config.ts';
import { OrderRepository } from './data/orderRepository.ts';
import { ORDERS_PRODUCER } from './data/ordersOutbox.ts';
import { OrderStockClient } from './inventory/orderStockClient.ts';
import { createOrderLoaders } from './loaders.ts';
import { orderResolvers, type OrdersContext } from './resolvers.ts';
import { OrderFulfilment } from './services/orderFulfilment.ts';
import { OrderPlacement } from './services/orderPlacement.ts';
import { OrderReturns } from './services/orderReturns.ts';
import { applyReconciliationHolds } from './services/reconciliationHolds.ts';
import { StockCommandRecovery } from './services/stockCommandRecovery.ts';
import { applyWarehouseConfirmations } from './services/warehouseConfirmations.ts';

/**
 * The orders subgraph: orders placed with their stock held through inventory's internal API,
 * moved by their mutations, the warehouse's confirmations (from inventory's stream) and
 * reconciliation holds clearing (from reconciliation's); every status change out through the
 * outbox relay; a sweeper that finishes what a crash left between orders and inventory.
 */
export function ordersSubgraph({ infrastructure: { db, bus }, env, logger }: SubgraphEnvironment): SubgraphDefinition<OrdersContext> {
  const config = readOrdersConfig(env);
  if (!config.internalApiToken) logger.warn('INTERNAL_API_TOKEN is not set: orders cannot hold, give back or move stock in inventory');
  const repository = new OrderRepository(db);
  const relay = new OutboxRelay(db.prisma, bus, ORDERS_PRODUCER, { pollIntervalMs: config.outboxPollIntervalMs });
  const publishNow = () => relay.wake();
  const metrics = new ServiceMetrics('orders');
  watchOutboxLag(metrics, db.prisma, ORDERS_PRODUCER);
  const inventory = new OrderStockClient({ baseUrl: config.inventoryApiUrl, token: config.internalApiToken, timeoutMs: config.stockCallTimeoutMs });
  // Well past what a call to inventory may take, so that the sweeper only takes what its writer has given up on.
  const settings = { commandLeaseMs: 3 * config.stockCallTimeoutMs };
  const placement = new OrderPlacement(db.prisma, inventory, settings, publishNow, logger);
  const fulfilment = new OrderFulfilment(db.prisma, inventory, settings, publishNow, logger);
  const returns = new OrderReturns(db.prisma, inventory, settings, publishNow, logger);
  const recovery = new StockCommandRecovery(db.prisma, inventory, { placement, fulfilment, returns }, { leaseMs: settings.commandLeaseMs, logger });

  return {
    name: 'orders',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: orderResolvers,
    createContext: (identity) => ({ repository, placement, fulfilment, returns, identity, loaders: createOrderLoaders(repository, identity.locations) }),
    workers: [
      {
        start: () => relay.start((error) => logger.error({ err: error }, 'outbox relay failed; retrying')),
        stop: () => relay.stop(),
      },
      new BatchSweeper((limit) => recovery.recoverDue(limit), {
        batchSize: 100,
        intervalMs: config.recoveryIntervalMs,
        onError: (error) => logger.error({ err: error }, 'recovering stock commands failed; retrying'),
      }),
      new TransactionalConsumer(db.prisma, bus, {
        name: 'orders.warehouse-confirmations',
        stream: STREAMS.warehouseConfirmations,
        contracts: [warehouseEventApplied],
        apply: applyWarehouseConfirmations,
        onCommitted: publishNow,
        logger,
      }),
      new TransactionalConsumer(db.prisma, bus, {
        name: 'orders.reconciliation-holds',
        stream: STREAMS.reconciliationHolds,
        contracts: [holdPlaced, holdCleared],
        apply: (tx, events) => applyReconciliationHolds(tx, events, fulfilment),
        onCommitted: publishNow,
        logger,
      }),
    ],
    metrics,
  };
}
