import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JobLease } from '../../platform/concurrency/jobLease.ts';
import { stockLevelChanged } from '../../platform/contracts/events.ts';
import type { BackgroundWorker } from '../../platform/graphql/subgraphServer.ts';
import { ReconciliationRepository } from './data/reconciliationRepository.ts';
import { createReconciliationLoaders } from './loaders.ts';
import { readReconciliationConfig } from './reconciliationConfig.ts';
import type { ReconciliationModule, ReconciliationModuleEnvironment } from './reconciliationModule.ts';
import { reconciliationResolvers, type ReconciliationContext } from './resolvers.ts';
import { applyStockChanges } from './services/positionCopy.ts';
import { ReconciliationCases } from './services/reconciliationCases.ts';
import { ReconciliationRunner } from './services/reconciliationRunner.ts';
import { ScheduledReconciliation } from './services/scheduledReconciliation.ts';

export type { ReconciliationContext };

/**
 * Continuous reconciliation: a copy of WMS and ERP on hand kept from inventory's stock changes,
 * runs that compare it with what is in flight to the ERP (on demand, and on a schedule on one
 * replica), and the discrepancies, review tasks, alerts and holds they raise, with what people do
 * with them. Reads its variables once; throws ConfigurationError for a bad one.
 */
export function createReconciliation({ db, env, logger, publishNow, metrics }: ReconciliationModuleEnvironment): ReconciliationModule<ReconciliationContext> {
  const config = readReconciliationConfig(env);
  const repository = new ReconciliationRepository(db);
  const runner = new ReconciliationRunner(db.prisma, { config, logger, publishNow, onRunEnded: metrics.runEnded });
  const cases = new ReconciliationCases(db.prisma, {
    adjustment: { subinventory: config.adjustmentSubinventory, defaultUnit: config.defaultUnitOfMeasure },
    publishNow,
  });
  const workers: BackgroundWorker[] = [];
  if (config.scheduleIntervalMs !== null) {
    const lease = new JobLease(db.prisma, {
      job: 'reconciliation.scheduled-run',
      holder: `${hostname()}:${process.pid}:${randomUUID()}`,
      intervalMs: config.scheduleIntervalMs,
      leaseMs: config.runLeaseMs,
    });
    workers.push(new ScheduledReconciliation(runner, lease, logger));
  }
  // Stopping waits for a run under way to finish (or fail), so that the service closes after it.
  workers.push({ start: () => {}, stop: () => runner.stop() });
  return {
    resolvers: reconciliationResolvers,
    context: ({ caller, locations: grant }) => ({ reconciliation: { loaders: createReconciliationLoaders(repository, grant), repository, runner, cases, caller, grant } }),
    workers,
    inventoryEvents: { contracts: [stockLevelChanged], apply: applyStockChanges },
  };
}
