import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Discrepancy, ReconciliationRun, SyncTransaction } from '../../../platform/database/generated/client.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import type { DiscrepancyStatus, SyncStatus } from '../domain/reconciliationStatus.ts';

export type { Discrepancy, ReconciliationRun, SyncTransaction };

export interface StockLevelKey {
  readonly sku: string;
  readonly locationId: string;
}

/** What reconciliation knows of one item x location (see StockLevelReconciliation in the schema). */
export interface StockLevelReconciliationRecord extends StockLevelKey {
  readonly lastRunAt: Date | null;
  readonly variance: number;
  readonly tier: Discrepancy['tier'] | null;
  readonly openDiscrepancyId: string | null;
  readonly pendingSyncTransactions: number;
}

/** Read access to the reconciliation tables. Every method is one SQL statement, whatever its input size. */
export class ReconciliationRepository {
  constructor(private readonly prisma: PrismaClient) {}

  discrepanciesById(ids: readonly string[]): Promise<Discrepancy[]> {
    return this.prisma.discrepancy.findMany({ where: { id: { in: [...ids] } } });
  }

  runsById(ids: readonly string[]): Promise<ReconciliationRun[]> {
    return this.prisma.reconciliationRun.findMany({ where: { id: { in: [...ids] } } });
  }

  syncTransactionsById(ids: readonly string[]): Promise<SyncTransaction[]> {
    return this.prisma.syncTransaction.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Up to `take` discrepancies after `after`, newest first. */
  discrepancyPage(statuses: readonly DiscrepancyStatus[] | null, take: number, after: NewestFirstPosition | undefined) {
    return this.prisma.discrepancy.findMany({
      where: { ...(statuses ? { status: { in: [...statuses] } } : {}), ...newestFirstAfter('detectedAt', after) },
      orderBy: [{ detectedAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** Up to `take` sync transactions after `after`, newest first. */
  syncTransactionPage(statuses: readonly SyncStatus[] | null, take: number, after: NewestFirstPosition | undefined) {
    return this.prisma.syncTransaction.findMany({
      where: { ...(statuses ? { status: { in: [...statuses] } } : {}), ...newestFirstAfter('createdAt', after) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  stockLevelReconciliations(keys: readonly StockLevelKey[]): Promise<StockLevelReconciliationRecord[]> {
    return this.prisma.$queryRaw<StockLevelReconciliationRecord[]>`
      WITH wanted AS (
             SELECT * FROM unnest(${keys.map((key) => key.sku)}::text[], ${keys.map((key) => key.locationId)}::text[])
               AS k(sku, location_id)),
           last_run AS (
             SELECT id, finished_at FROM reconciliation_run
              WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1)
      SELECT wanted.sku,
             wanted.location_id AS "locationId",
             last_run.finished_at AS "lastRunAt",
             COALESCE(found.variance, 0) AS variance,
             found.tier::text AS tier,
             (SELECT open.id FROM discrepancy open
               WHERE open.sku = wanted.sku AND open.location_id = wanted.location_id AND open.status = 'OPEN'
               ORDER BY open.detected_at DESC LIMIT 1) AS "openDiscrepancyId",
             (SELECT count(*)::int FROM sync_transaction pending
               WHERE pending.sku = wanted.sku AND pending.location_id = wanted.location_id
                 AND pending.status = 'PENDING_SYNC') AS "pendingSyncTransactions"
        FROM wanted
        LEFT JOIN last_run ON true
        LEFT JOIN discrepancy found
               ON found.run_id = last_run.id AND found.sku = wanted.sku AND found.location_id = wanted.location_id`;
  }
}
