import { Counter, Gauge, Histogram } from 'prom-client';
import { scrapedGauges } from '../../platform/observability/scrapedGauges.ts';
import type { ServiceMetrics } from '../../platform/observability/serviceMetrics.ts';
import type { RunCounts } from './data/runStore.ts';
import { runAccuracy } from './domain/runPlan.ts';
import type { SyncTransactionStore } from './erpSync/syncTransactionStore.ts';

// Runs compare every position in one transaction: from a fraction of a second to minutes.
const RUN_BUCKETS_SECONDS = [0.1, 0.5, 1, 5, 15, 60, 300, 900];

/** Reconciliation's own figures: the ERP sync backlog and its failures, and the runs. Its parts report through the functions, and know nothing of prom-client. */
export class ReconciliationMetrics {
  private readonly syncFailures: Counter;
  private readonly runs: Counter<'outcome'>;
  private readonly runDuration: Histogram<'outcome'>;
  private readonly accuracy: Gauge;

  constructor(private readonly metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.syncFailures = new Counter({ name: 'stockgraph_erp_sync_failures_total', help: 'ERP sync transactions that became SYNC_FAILED (refused by the ERP, or out of attempts)', registers });
    this.runs = new Counter({ name: 'stockgraph_reconciliation_runs_total', help: 'Reconciliation runs this replica carried out, by outcome (COMPLETED, FAILED)', labelNames: ['outcome'], registers });
    this.runDuration = new Histogram({ name: 'stockgraph_reconciliation_run_duration_seconds', help: 'Time a reconciliation run took, from claiming it to its end, in seconds', labelNames: ['outcome'], buckets: RUN_BUCKETS_SECONDS, registers });
    this.accuracy = new Gauge({ name: 'stockgraph_reconciliation_accuracy_ratio', help: 'Share of compared positions that matched in the last run this replica completed (1 for a run that compared none)', registers });
  }

  readonly syncFailed = (count: number): void => {
    this.syncFailures.inc(count);
  };

  readonly runEnded = (counts: RunCounts | null, durationSeconds: number): void => {
    const outcome = counts ? 'COMPLETED' : 'FAILED';
    this.runs.inc({ outcome });
    this.runDuration.observe({ outcome }, durationSeconds);
    if (counts) this.accuracy.set(runAccuracy(counts));
  };

  /** Reports the rows waiting to reach the ERP, read at every scrape. */
  watchSyncBacklog(store: SyncTransactionStore): void {
    scrapedGauges(this.metrics, 'erp_sync_backlog', () => store.unsyncedBacklog(), [
      {
        name: 'stockgraph_erp_sync_backlog',
        help: 'ERP sync transactions not yet synced, by status (PENDING_SYNC, SYNC_FAILED)',
        labelNames: ['status'],
        set: (gauge, backlog) => {
          gauge.set({ status: 'PENDING_SYNC' }, backlog.pending);
          gauge.set({ status: 'SYNC_FAILED' }, backlog.failed);
        },
      },
      {
        name: 'stockgraph_erp_sync_oldest_pending_age_seconds',
        help: 'Age of the oldest PENDING_SYNC transaction, in seconds (0 when none is pending)',
        set: (gauge, backlog) => gauge.set(backlog.oldestPendingAgeSeconds),
      },
    ]);
  }
}
