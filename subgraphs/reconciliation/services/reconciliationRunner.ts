import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { grantsEveryLocation, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { Logger } from '../../../platform/logger.ts';
import {
  cancelSyncedOrphanTasks, changeAlerts, closeTasks, insertAdjustments, insertAlerts, insertDiscrepancies, insertHolds, insertTasks, openOrphanTasks,
  releaseHolds, resolveDiscrepancies, retryOrphans,
} from '../data/caseStore.ts';
import { ChangeLog } from '../data/changeLog.ts';
import { unknownLocations } from '../data/positionStore.ts';
import type { ReconciliationRun } from '../data/reconciliationRows.ts';
import { compareRunPositions } from '../data/runComparison.ts';
import { claimRun, completeRun, failRun, renewRunLease, type RunCounts } from '../data/runStore.ts';
import { checkRunLocations, runGrantRefusal } from '../domain/caseRules.ts';
import { ReconciliationError, ReconciliationErrorCode } from '../domain/reconciliationErrors.ts';
import { adjustmentIdOf } from '../domain/caseRecords.ts';
import { planRun, raiseCases } from '../domain/runPlan.ts';
import type { ReconciliationConfig } from '../reconciliationConfig.ts';

/** The actor of what a run does, and the caller of a scheduled one. */
export const STOCKGRAPH_ACTOR = 'stockgraph';

// One run compares every position in one transaction: it may take far longer than a request's.
const RUN_TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 600_000 }; // 10 s, 10 minutes

export interface ReconciliationRunnerOptions {
  readonly config: Pick<ReconciliationConfig, 'tierRules' | 'runLeaseMs' | 'orphanAfterSeconds' | 'adjustmentSubinventory' | 'defaultUnitOfMeasure'>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Wakes the outbox relay after a run committed its events. */
  readonly publishNow: () => void;
  /** Hears of each run this replica carried out as it ends: its counts when COMPLETED, null when FAILED. Should not throw. */
  readonly onRunEnded?: (counts: RunCounts | null, durationSeconds: number) => void;
}

/**
 * Starts reconciliation runs, one at a time across replicas, and carries out the ones this
 * replica started in the background: the run holds a lease it renews while it compares, so that
 * a run whose replica stopped is known abandoned; everything a run finds commits with its
 * COMPLETED status, or nothing does (FAILED, with why).
 */
export class ReconciliationRunner {
  private readonly executions = new Set<Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: ReconciliationRunnerOptions,
  ) {}

  /**
   * Returns the run RUNNING now, or starts one over `locationIds` (all when empty) and returns
   * it RUNNING, comparing in the background. Throws ReconciliationError (BAD_USER_INPUT,
   * FORBIDDEN, UNKNOWN_LOCATION) and starts nothing for locations `requestedBy`, granted `grant`,
   * cannot run over (see runGrantRefusal). A caller granted some locations is not shown a run under
   * way that compares others: RUN_IN_PROGRESS instead.
   */
  async start(requestedLocations: readonly string[] | null | undefined, requestedBy: string, grant: LocationGrant): Promise<ReconciliationRun> {
    const locationIds = checkRunLocations(requestedLocations);
    const refusal = runGrantRefusal(grant, locationIds);
    if (refusal) throw refusal;
    const { run } = await this.begin(locationIds, requestedBy);
    if (!grantsEveryLocation(grant, run.locationIds)) {
      throw new ReconciliationError(ReconciliationErrorCode.RUN_IN_PROGRESS, 'Another reconciliation run is under way; start yours once it has finished');
    }
    return run;
  }

  /** As start(), and resolves once the run it started, if it started one, has ended. */
  async runToEnd(locationIds: readonly string[], requestedBy: string): Promise<ReconciliationRun> {
    const { run, execution } = await this.begin(checkRunLocations(locationIds), requestedBy);
    await execution;
    return run;
  }

  /** Resolves once the runs this replica carries out have ended. */
  async stop(): Promise<void> {
    await Promise.all(this.executions);
  }

  /** Starts a run over `locationIds` (checked: see checkRunLocations) unless one is RUNNING. */
  private async begin(locationIds: string[], requestedBy: string) {
    const unknown = await unknownLocations(this.prisma, locationIds);
    if (unknown.length > 0) {
      throw new ReconciliationError(ReconciliationErrorCode.UNKNOWN_LOCATION, `No stock was ever reported at ${unknown.join(', ')}`, { locationIds: unknown });
    }
    const claimed = await claimRun(this.prisma, { id: `RUN-${randomUUID()}`, locationIds, requestedBy, leaseMs: this.options.config.runLeaseMs });
    if (!claimed.started) return { run: claimed.run, execution: null };
    const execution = this.execute(claimed.run).finally(() => this.executions.delete(execution));
    this.executions.add(execution);
    return { run: claimed.run, execution };
  }

  /** Compares and records what the run found; a failure marks it FAILED. Never rejects. */
  private async execute(run: ReconciliationRun): Promise<void> {
    const { config, logger } = this.options;
    const renewal = setInterval(() => {
      renewRunLease(this.prisma, run.id, config.runLeaseMs).then(
        (renewed) => renewed || logger.warn({ runId: run.id }, 'the reconciliation run was given up as abandoned while it compared; it will fail'),
        (error: unknown) => logger.warn({ err: error, runId: run.id }, 'renewing the reconciliation run lease failed; retrying'),
      );
    }, Math.max(1, Math.floor(config.runLeaseMs / 3)));
    const startedAt = performance.now();
    const ended = (counts: RunCounts | null) => this.options.onRunEnded?.(counts, (performance.now() - startedAt) / 1_000);
    try {
      const counts = await this.prisma.$transaction((tx) => this.compare(tx, run), RUN_TRANSACTION_OPTIONS);
      this.options.publishNow();
      ended(counts);
      logger.info({ runId: run.id, ...counts }, 'reconciliation run completed');
    } catch (error) {
      ended(null);
      logger.error({ err: error, runId: run.id }, 'reconciliation run failed');
      await failRun(this.prisma, run.id, error instanceof Error ? error.message : String(error)).catch((failure: unknown) =>
        logger.error({ err: failure, runId: run.id }, 'could not mark the reconciliation run FAILED; its lease will run out'),
      );
    } finally {
      clearInterval(renewal);
    }
  }

  /**
   * The run itself, in one transaction: compare every position (one statement), raise a
   * discrepancy for each variance no OPEN one covers and act on its tier, close the OPEN ones
   * whose variance is gone, retry and task orphans, and complete the run with its counts.
   */
  private async compare(tx: Prisma.TransactionClient, run: ReconciliationRun): Promise<RunCounts> {
    const { config } = this.options;
    const log = new ChangeLog(STOCKGRAPH_ACTOR, new Date());
    const { at } = log;
    const comparison = await compareRunPositions(tx, run.locationIds, config.tierRules);
    const plan = planRun(comparison.variances, comparison.open);

    const raised = raiseCases(run.id, plan.raise, at);
    await insertDiscrepancies(tx, raised.discrepancies);
    await insertAdjustments(tx, raised.adjustments, { subinventory: config.adjustmentSubinventory, defaultUnit: config.defaultUnitOfMeasure }, at);
    await insertTasks(tx, raised.tasks);
    await insertAlerts(tx, raised.alerts);
    await insertHolds(tx, raised.holds);
    const raisedNote = `raised by run ${run.id}`;
    for (const d of raised.discrepancies) {
      if (d.status === 'AUTO_CORRECTED') log.discrepancy(d, 'AUTO_CORRECTED', `adjustment ${adjustmentIdOf(d.id)} posted by run ${run.id}`);
      else log.discrepancy(d, 'OPENED', raisedNote);
    }
    for (const task of raised.tasks) log.task(task, 'OPENED', raisedNote);
    for (const alert of raised.alerts) log.alert(alert, 'OPENED', raisedNote);
    for (const hold of raised.holds) log.hold(hold, 'PLACED', raisedNote);

    // In the order of the row locks (caseStore.ts): discrepancies, then what hangs on them.
    const goneNote = `variance gone in run ${run.id}`;
    const closed = await resolveDiscrepancies(tx, plan.gone, at);
    const closedIds = { discrepancyIds: closed.map((d) => d.id) };
    for (const d of closed) log.discrepancy(d, 'RESOLVED', goneNote);
    for (const task of await closeTasks(tx, closedIds, 'CANCELLED', at)) log.task(task, 'CANCELLED', goneNote);
    for (const alert of await changeAlerts(tx, closedIds, 'RESOLVED', at)) log.alert(alert, 'RESOLVED', goneNote);
    for (const hold of await releaseHolds(tx, closedIds, at)) log.hold(hold, 'RELEASED', goneNote);

    const orphansRetried = await retryOrphans(tx, run.locationIds, config.orphanAfterSeconds, at);
    const orphanTasks = await openOrphanTasks(tx, run.locationIds, config.orphanAfterSeconds, at);
    for (const task of orphanTasks) log.task(task, 'OPENED', `sync transaction ${task.syncTransactionId} still pending after a retry as an orphan (run ${run.id})`);
    for (const task of await cancelSyncedOrphanTasks(tx, run.locationIds, at)) log.task(task, 'CANCELLED', `sync transaction ${task.syncTransactionId} synced (run ${run.id})`);
    await log.write(tx);

    const counts: RunCounts = {
      positionsCompared: comparison.positionsCompared,
      matched: comparison.matched,
      autoCorrected: raised.adjustments.length,
      reviewed: raised.tasks.length,
      alerted: raised.alerts.length,
      alreadyOpen: plan.alreadyOpen,
      closedGone: closed.length,
      orphansRetried,
      orphanTasks: orphanTasks.length,
    };
    // Given up as abandoned while it compared (its lease ran out): nothing it found is kept.
    if (!(await completeRun(tx, run.id, counts))) throw new Error(`run ${run.id} was given up as abandoned while it compared`);
    return counts;
  }
}

