import type { JobLease } from '../../../platform/concurrency/jobLease.ts';
import { runPeriodically } from '../../../platform/concurrency/runPeriodically.ts';
import type { Logger } from '../../../platform/logger.ts';
import { ErpUnavailableError, type InventoryBalancesClientOptions } from '../erp/inventoryBalancesClient.ts';
import type { ErpBalanceImport, ErpImportResult } from './erpBalanceImport.ts';

export interface ErpBalancePollerOptions {
  /** The pull's lease: one replica pulls at a time, its interval from the end of one pull to the start of the next. */
  readonly lease: JobLease;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called once a pull has changed stock levels (wakes the outbox relay). */
  readonly onCommitted: () => void;
}

type PullResult = ErpImportResult & { pages: number };

/** The pull's job name in job_lease, the same on every replica. */
export const ERP_BALANCE_PULL_JOB = 'inventory.erp-balance-pull';

// How often a replica looks whether the pull is due, at most: the interval between pulls can
// stretch by this much.
const MAX_CHECK_INTERVAL_MS = 10_000; // 10 seconds

/**
 * Pulls the ERP's on-hand balances in 'full' mode, on one replica at a time (the lease): once on
 * start(), then the lease's interval after each pull ends on whichever replica ran it, so that
 * pulls never overlap. A failed pull is logged and the next one happens on schedule. Stopped for good
 * by stop().
 */
export class ErpBalancePoller {
  private readonly intervalMs: number;
  private readonly lease: JobLease;
  private readonly logger: ErpBalancePollerOptions['logger'];
  private readonly onCommitted: () => void;
  private readonly stopping = new AbortController();
  private inFlight: Promise<PullResult> | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly importer: ErpBalanceImport,
    private readonly clientOptions: InventoryBalancesClientOptions,
    { lease, logger, onCommitted }: ErpBalancePollerOptions,
  ) {
    this.intervalMs = lease.intervalMs;
    this.lease = lease;
    this.logger = logger;
    this.onCommitted = onCommitted;
  }

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    this.loop = runPeriodically(
      () => this.pullIfDue().then(
        (pulled) => {
          if (!pulled) return;
          const { rejected, ...counts } = pulled;
          this.logger.info({ ...counts, rejected: rejected.length, firstRejected: rejected.slice(0, 10) }, 'ERP balances pulled');
        },
        (error: unknown) => this.logFailure(error),
      ),
      { intervalMs: Math.min(this.intervalMs, MAX_CHECK_INTERVAL_MS), signal: this.stopping.signal, onError: (error) => this.logFailure(error) },
    );
  }

  /** Pulls if no replica is pulling and the last pull ended an interval ago or more; null when it is not this replica's turn. */
  async pullIfDue(): Promise<PullResult | null> {
    return (await this.lease.runIfDue(() => this.pullNow()))?.result ?? null;
  }

  /** Pulls now, or joins the pull under way; rejects with its error. */
  pullNow(): Promise<PullResult> {
    this.inFlight ??= this.importer.pull(this.clientOptions, this.stopping.signal)
      .then((result) => {
        if (result.updated > 0) this.onCommitted();
        return result;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  /** Aborts the pull under way, if any, and resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('ERP balance poller stopped'));
    await this.loop;
    await this.inFlight?.catch(() => {});
  }

  private logFailure(error: unknown): void {
    if (this.stopping.signal.aborted) return;
    if (error instanceof ErpUnavailableError) {
      this.logger.warn({ nextPullInMs: this.intervalMs }, `ERP balance pull failed: ${error.message}`);
    } else {
      this.logger.error({ err: error, nextPullInMs: this.intervalMs }, 'ERP balance pull failed');
    }
  }
}
