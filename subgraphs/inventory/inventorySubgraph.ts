import { hostname } from 'node:os';
import { BatchSweeper } from '../../platform/concurrency/batchSweeper.ts';
import { JobLease } from '../../platform/concurrency/jobLease.ts';
import { runPeriodically } from '../../platform/concurrency/runPeriodically.ts';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { OutboxRelay } from '../../platform/events/outboxRelay.ts';
import type { BackgroundWorker, SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import type { Logger } from '../../platform/logger.ts';
import { watchOutboxLag } from '../../platform/observability/outboxMetrics.ts';
import { ServiceMetrics } from '../../platform/observability/serviceMetrics.ts';
import { readInventoryConfig } from './config.ts';
import { InventoryRepository } from './data/inventoryRepository.ts';
import { INVENTORY_PRODUCER } from './data/inventoryOutbox.ts';
import { erpBalancesRoute } from './http/erpBalancesRoute.ts';
import { orderStockRoutes } from './http/orderStockRoutes.ts';
import { warehouseEventsRoute } from './http/warehouseEventsRoute.ts';
import { StockCacheHints, stockCacheHintsPlugin } from '../../platform/graphql/entityCacheHints.ts';
import { COVERED_BY_STOCK_CHANGES } from './cacheHints.ts';
import { createInventoryLoaders } from './loaders.ts';
import { InventoryMetrics } from './inventoryMetrics.ts';
import { inventoryResolvers, type InventoryContext } from './resolvers.ts';
import { ErpBalanceImport } from './services/erpBalanceImport.ts';
import { ERP_BALANCE_PULL_JOB, ErpBalancePoller } from './services/erpBalancePoller.ts';
import { OrderStockService } from './services/orderStockService.ts';
import { resumDuePromiseFigures } from './services/promiseFigures.ts';
import { ReservationService } from './services/reservationService.ts';
import { SafetyStockService, UnknownDefaultLocationsError } from './services/safetyStockService.ts';
import { TransferService } from './services/transferService.ts';
import { WarehouseEventIngestion } from './services/warehouseEventIngestion.ts';
import { WarehouseEventStreamConsumer } from './services/warehouseEventStreamConsumer.ts';

// A pull holds its lease this long without renewing it; it renews every third of it, so only a
// replica that died loses the pull to another.
const ERP_PULL_LEASE_MS = 60_000; // 1 minute

/**
 * The inventory subgraph: items, locations and stock levels; warehouse events in
 * (POST /events/:source) and ERP balances in (POST /erp/balances, and a periodic pull when
 * configured), and from a Redis Stream per source when on Redis; orders' stock held, given back
 * and inspected through the internal order-stock API (ORDER_STOCK_API); every stock change, and
 * every inventory transaction (for the reconciliation subgraph's ERP sync ledger), out through the
 * outbox relay, as is every change of a reservation.
 */
export function inventorySubgraph({ infrastructure: { db, bus, redis }, env, logger }: SubgraphEnvironment): SubgraphDefinition<InventoryContext> {
  const config = readInventoryConfig(env);
  const replicaName = `${hostname()}:${process.pid}`;
  const repository = new InventoryRepository(db);
  const serviceMetrics = new ServiceMetrics('inventory');
  const metrics = new InventoryMetrics(serviceMetrics);
  watchOutboxLag(serviceMetrics, db.prisma, INVENTORY_PRODUCER);
  const ingestion = new WarehouseEventIngestion(db.prisma, config.sourceMappings, metrics.warehouseEventsIngested);
  const erpImport = new ErpBalanceImport(db.prisma, {});
  const relay = new OutboxRelay(db.prisma, bus, INVENTORY_PRODUCER, { pollIntervalMs: config.outboxPollIntervalMs });
  const publishNow = () => relay.wake();
  const { sweepIntervalMs, ...reservationSettings } = config.reservations;
  const reservations = new ReservationService(db.prisma, { ...reservationSettings, channelLocations: config.channelLocations }, publishNow, metrics.reservationOutcome);
  const { defaultStrategy, strategyByChannel } = config.reservations;
  const orderStock = new OrderStockService(db.prisma, { channelLocations: config.channelLocations, defaultStrategy, strategyByChannel }, publishNow);
  const transfers = new TransferService(db.prisma, config.transfers, publishNow);
  const safetyStock = new SafetyStockService(db.prisma, publishNow);
  const settings = { staleAfterMs: config.staleAfterSeconds * 1_000, channelLocations: config.channelLocations };

  const workers = [
    {
      start: () => relay.start((error) => logger.error({ err: error }, 'outbox relay failed; retrying')),
      stop: () => relay.stop(),
    },
    new BatchSweeper((limit) => reservations.expireDue(limit), {
      batchSize: 500,
      intervalMs: sweepIntervalMs,
      onError: (error) => logger.error({ err: error }, 'reservation expiry sweep failed; retrying'),
    }),
    new BatchSweeper((limit) => reservations.releaseExpiredLots(limit), {
      batchSize: 500,
      intervalMs: sweepIntervalMs,
      onError: (error) => logger.error({ err: error }, 'sweep of expired reserved lots failed; retrying'),
    }),
    new BatchSweeper((limit) => resumDuePromiseFigures(db.prisma, limit), {
      batchSize: 1_000,
      intervalMs: config.promiseFiguresIntervalMs,
      onError: (error) => logger.error({ err: error }, 'summing promise figures failed; retrying'),
    }),
  ];
  workers.push(safetyStockDefaultsPass(safetyStock, logger));
  if (redis) {
    // High-volume feeds XADD raw events to a stream per source instead of posting batches.
    const consumer = new WarehouseEventStreamConsumer(
      redis,
      ingestion,
      { sources: ingestion.sources(), consumerName: replicaName },
      { onCommitted: publishNow, onError: (error) => logger.error({ err: error }, 'warehouse event stream consumer failed; retrying') },
    );
    workers.push(consumer);
  }
  if (config.erpPull) {
    const { baseUrl, organizationLocations, intervalMs, username, password } = config.erpPull;
    const clientOptions = { baseUrl, organizationLocations, ...(username && password ? { auth: { username, password } } : {}) };
    const lease = new JobLease(db.prisma, { job: ERP_BALANCE_PULL_JOB, holder: replicaName, intervalMs, leaseMs: ERP_PULL_LEASE_MS });
    workers.push(new ErpBalancePoller(erpImport, clientOptions, { lease, logger, onCommitted: publishNow }));
  }
  return {
    name: 'inventory',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: inventoryResolvers,
    createContext: ({ locations: grant, caller, scopes }) => {
      const cacheHints = new StockCacheHints();
      return {
        repository, ingestion, reservations, transfers, safetyStock, settings, grant, cacheHints, afterCommit: publishNow,
        loaders: createInventoryLoaders(repository, reservations, grant, { hints: cacheHints, staleAfterMs: settings.staleAfterMs }),
        caller: { name: caller, scopes },
      };
    },
    plugins: [stockCacheHintsPlugin<InventoryContext>((context) => context.cacheHints, COVERED_BY_STOCK_CHANGES)],
    routes: [
      warehouseEventsRoute({
        ingestion,
        secrets: config.wmsSourceSecrets,
        replayWindowSeconds: config.signatureWindowSeconds,
        maxBatchEvents: config.maxBatchEvents,
        maxBodyBytes: 8 * 1024 * 1024, // 8 MiB
        logger,
        onCommitted: publishNow,
      }),
      erpBalancesRoute({ importer: erpImport, token: config.erpImportToken, logger, onCommitted: publishNow }),
      ...orderStockRoutes({ service: orderStock, token: config.internalApiToken, logger }),
    ],
    workers,
    // Levels are created and cleared to the configured defaults from the first request on;
    // those that already follow a default are moved to the new one in the background.
    prepare: () => safetyStock.configureDefaults(config.safetyStockDefaults).catch((error: unknown) => {
      throw error instanceof UnknownDefaultLocationsError ? new ConfigurationError('SAFETY_STOCK_DEFAULTS', error.message) : error;
    }),
    metrics: serviceMetrics,
  };
}

// A pass that fails (the database away) is tried again this long after.
const DEFAULTS_RETRY_MS = 5_000; // 5 seconds

/** Applies the safety stock defaults to the levels that follow them, once after start (again after a failure), in the background. */
function safetyStockDefaultsPass(safetyStock: SafetyStockService, logger: Logger): BackgroundWorker {
  const stopping = new AbortController();
  let pass: Promise<void> | null = null;
  return {
    start: () => {
      pass = runPeriodically(async () => {
        const changed = await safetyStock.applyDefaults(() => stopping.signal.aborted);
        if (!stopping.signal.aborted) logger.info({ levels: changed }, 'safety stock defaults applied');
        stopping.abort();
      }, { intervalMs: DEFAULTS_RETRY_MS, signal: stopping.signal, onError: (error) => logger.error({ err: error }, 'applying safety stock defaults failed; retrying') });
    },
    stop: async () => {
      stopping.abort();
      await pass;
    },
  };
}
