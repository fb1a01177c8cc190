import type { JobLease } from '../../../platform/concurrency/jobLease.ts';
import { runPeriodically } from '../../../platform/concurrency/runPeriodically.ts';
import type { BackgroundWorker } from '../../../platform/graphql/subgraphServer.ts';
import type { Logger } from '../../../platform/logger.ts';
import { STOCKGRAPH_ACTOR, type ReconciliationRunner } from './reconciliationRunner.ts';

// How often a replica looks whether a scheduled run is due, at most: the interval between runs
// can stretch by this much.
const MAX_CHECK_INTERVAL_MS = 10_000; // 10 seconds

/**
 * Runs reconciliation over every location on a schedule, on one replica at a time (the lease):
 * the lease's interval after each scheduled run ends, on whichever replica ran it, the first one
 * interval after the first replica started. It starts
 * through the runner as a request does, so that it joins a run already under way instead of
 * starting another.
 */
export class ScheduledReconciliation implements BackgroundWorker {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly runner: ReconciliationRunner,
    private readonly lease: JobLease,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    // A new deployment's first scheduled run comes one interval after it started: at start-up its
    // position copy is still catching up with inventory, and its operators may start one at once.
    const deferred = this.lease.deferFirstRun();
    this.loop = runPeriodically(async () => {
      await deferred;
      await this.lease.runIfDue(() => this.runner.runToEnd([], STOCKGRAPH_ACTOR));
    }, {
      intervalMs: Math.min(this.lease.intervalMs, MAX_CHECK_INTERVAL_MS),
      signal: this.stopping.signal,
      onError: (error) => this.logger.error({ err: error }, 'starting a scheduled reconciliation run failed; trying again on schedule'),
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }
}
