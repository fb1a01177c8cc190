import { randomUUID } from 'node:crypto';
import { alertChanged, syncTransactionFailed, type PayloadOf } from '../../../platform/contracts/events.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import { Prisma, type SyncStatus, type SyncTransaction } from '../../../platform/database/generated/client.ts';
import { oneStatement } from '../../../platform/database/oneStatement.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { outboxInsert, outboxRecord } from '../../../platform/events/outbox.ts';
import type { NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import { RECONCILIATION_PRODUCER } from '../reconciliationModule.ts';
import { ReconciliationError, ReconciliationErrorCode } from '../domain/reconciliationErrors.ts';
import type { SyncTransactionToPost } from './stagedTransaction.ts';
import type { PlannedSyncTransaction, SyncTransactionKind } from './syncPlan.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { atGrantedLocation, locationWithin } from '../data/grantFilter.ts';

export type { SyncTransaction };

/** What the connector and reconciliation do as stockgraph, in the audit. */
const STOCKGRAPH_ACTOR = 'stockgraph';

/** A sync transaction a connector has claimed for one attempt. */
export interface ClaimedSyncTransaction extends SyncTransactionToPost {
  readonly transactionId: string;
  /** The attempt this claim makes (1 for the first): settling checks it, so that a claim another connector overtook settles nothing. */
  readonly attempts: number;
}

/** What became of a claimed sync transaction. */
export type Settlement =
  | { readonly outcome: 'synced'; readonly row: ClaimedSyncTransaction; readonly erpTransactionId: string }
  /** A failed attempt, tried again after `delayMs`. */
  | { readonly outcome: 'retry'; readonly row: ClaimedSyncTransaction; readonly error: string; readonly delayMs: number }
  /** Not posted (the circuit is open, its location is paused, the connector stops): the attempt is given back. */
  | { readonly outcome: 'released'; readonly row: ClaimedSyncTransaction; readonly delayMs: number }
  /** SYNC_FAILED: refused, or out of attempts. */
  | { readonly outcome: 'failed'; readonly row: ClaimedSyncTransaction; readonly error: string };

export interface SyncTransactionFilter {
  readonly status?: readonly SyncStatus[] | null;
  readonly locationId?: string | null;
  readonly sku?: string | null;
  readonly kind?: readonly SyncTransactionKind[] | null;
}

export interface SyncBacklog {
  readonly pending: number;
  readonly synced: number;
  readonly failed: number;
  readonly oldestPendingAgeSeconds: number;
}

/** A syncTransactionFailed event as recorded in the outbox, by its record's id. */
export type SyncFailureEventRecord = PayloadOf<typeof syncTransactionFailed> & { readonly id: string };

/**
 * Writes the sync ledger's planned rows in the caller's transaction, in one statement; a row
 * already there (the same transaction recorded again) is left as it is.
 * @returns how many rows are new.
 */
export function insertSyncTransactions(tx: Prisma.TransactionClient, rows: readonly PlannedSyncTransaction[]): Promise<number> {
  if (rows.length === 0) return Promise.resolve(0);
  const values = rows.map((row) => ({
    id: row.id, transaction_id: row.transactionId, kind: row.kind, sku: row.sku, location_id: row.locationId, subinventory: row.subinventory,
    lot: row.lot, quantity: row.quantity, erp_quantity: row.erpQuantity, unit_of_measure: row.unitOfMeasure,
    transfer_subinventory: row.transferSubinventory, counterpart_location_id: row.counterpartLocationId, serials: row.serials, occurred_at: row.occurredAt,
  }));
  return tx.$executeRaw`
    INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure,
                                  transfer_subinventory, counterpart_location_id, serials, occurred_at)
    SELECT id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure,
           transfer_subinventory, counterpart_location_id, serials, occurred_at
      FROM ${recordset(values, 'v', {
        id: 'text', transaction_id: 'text', kind: 'text', sku: 'text', location_id: 'text', subinventory: 'text', lot: 'text', quantity: 'int',
        erp_quantity: 'int', unit_of_measure: 'text', transfer_subinventory: 'text', counterpart_location_id: 'text', serials: 'text[]', occurred_at: 'timestamptz',
      })}
    ON CONFLICT (id) DO NOTHING`;
}

/** The sync ledger's rows: claims and outcomes of the connector, redrives, and what the API reads. */
export class SyncTransactionStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Claims up to `limit` PENDING_SYNC rows that are due (oldest schedule first), outside
   * `pausedLocationIds`, for one attempt each: their next attempt is put off by `leaseMs`, the
   * claim's lease (claimed_until), so that no other connector takes them meanwhile, and rows
   * another connector is claiming are skipped. A connector that dies leaves its rows to be
   * claimed again once the lease runs out.
   */
  async claimDue(limit: number, leaseMs: number, pausedLocationIds: readonly string[]): Promise<ClaimedSyncTransaction[]> {
    return this.prisma.$queryRaw<ClaimedSyncTransaction[]>`
      UPDATE sync_transaction t
         SET attempts = t.attempts + 1, next_attempt_at = lease.until, claimed_until = lease.until, updated_at = now()
        FROM (SELECT now() + ${leaseMs} * interval '1 millisecond' AS until) AS lease
       WHERE t.id IN (SELECT id FROM sync_transaction
                       WHERE status = 'PENDING_SYNC' AND next_attempt_at <= now() AND location_id <> ALL(${pausedLocationIds}::text[])
                       ORDER BY next_attempt_at
                         FOR UPDATE SKIP LOCKED
                       LIMIT ${limit})
      RETURNING t.id, t.transaction_id AS "transactionId", t.kind, t.sku, t.location_id AS "locationId", t.subinventory, t.lot,
                t.erp_quantity AS "erpQuantity", t.unit_of_measure AS "unitOfMeasure", t.transfer_subinventory AS "transferSubinventory",
                t.counterpart_location_id AS "counterpartLocationId", coalesce(t.serials, '{}') AS serials, t.occurred_at AS "occurredAt", t.attempts`;
  }

  /**
   * Records what became of claimed rows: synced, retried and released ones in one statement;
   * failed ones, each with its SYNC_FAILED alert, the alert's audit entry and both events, in
   * one transaction. A row whose claim was overtaken (its lease ran out and another connector
   * claimed it) is left to that connector.
   * @returns the rows that became SYNC_FAILED.
   */
  async settle(settlements: readonly Settlement[]): Promise<readonly string[]> {
    const of = <Outcome extends Settlement['outcome']>(outcome: Outcome) =>
      settlements.filter((settlement): settlement is Extract<Settlement, { outcome: Outcome }> => settlement.outcome === outcome);
    const claim = (row: ClaimedSyncTransaction) => ({ id: row.id, attempts: row.attempts });
    const claimed = Prisma.sql`t.id = v.id AND t.status = 'PENDING_SYNC' AND t.attempts = v.attempts`;
    const updates: Prisma.Sql[] = [];
    const synced = of('synced').map(({ row, erpTransactionId }) => ({ ...claim(row), erp_transaction_id: erpTransactionId }));
    if (synced.length) {
      updates.push(Prisma.sql`
        UPDATE sync_transaction t SET status = 'SYNCED', erp_transaction_id = v.erp_transaction_id, synced_at = now(), last_error = NULL, claimed_until = NULL,
                                      updated_at = now()
          FROM ${recordset(synced, 'v', { id: 'text', attempts: 'int', erp_transaction_id: 'text' })} WHERE ${claimed}`);
    }
    const retried = of('retry').map(({ row, error, delayMs }) => ({ ...claim(row), error, delay_ms: Math.round(delayMs) }));
    if (retried.length) {
      updates.push(Prisma.sql`
        UPDATE sync_transaction t SET next_attempt_at = now() + v.delay_ms * interval '1 millisecond', last_error = v.error, claimed_until = NULL, updated_at = now()
          FROM ${recordset(retried, 'v', { id: 'text', attempts: 'int', error: 'text', delay_ms: 'int' })} WHERE ${claimed}`);
    }
    const released = of('released').map(({ row, delayMs }) => ({ ...claim(row), delay_ms: Math.round(delayMs) }));
    if (released.length) {
      updates.push(Prisma.sql`
        UPDATE sync_transaction t SET attempts = t.attempts - 1, next_attempt_at = now() + v.delay_ms * interval '1 millisecond', claimed_until = NULL, updated_at = now()
          FROM ${recordset(released, 'v', { id: 'text', attempts: 'int', delay_ms: 'int' })} WHERE ${claimed}`);
    }
    if (updates.length) await this.prisma.$executeRaw(oneStatement(updates));
    const failed = of('failed');
    return failed.length ? this.fail(failed.map(({ row, error }) => ({ ...claim(row), error }))) : [];
  }

  private fail(failures: readonly { id: string; attempts: number; error: string }[]): Promise<string[]> {
    return this.prisma.$transaction(async (tx) => {
      const failed = await tx.$queryRaw<{ id: string; transactionId: string; kind: SyncTransactionKind; sku: string; locationId: string; attempts: number; failures: number; lastError: string; failedAt: Date }[]>`
        UPDATE sync_transaction t SET status = 'SYNC_FAILED', failed_at = now(), failures = t.failures + 1, last_error = v.error, claimed_until = NULL, updated_at = now()
          FROM ${recordset(failures, 'v', { id: 'text', attempts: 'int', error: 'text' })}
         WHERE t.id = v.id AND t.status = 'PENDING_SYNC' AND t.attempts = v.attempts
        RETURNING t.id, t.transaction_id AS "transactionId", t.kind, t.sku, t.location_id AS "locationId", t.attempts, t.failures,
                  t.last_error AS "lastError", t.failed_at AS "failedAt"`;
      if (failed.length === 0) return [];
      const at = failed[0]!.failedAt;
      const alerts = failed.map((row) => ({
        id: `ALR-${randomUUID()}`,
        sku: row.sku,
        location_id: row.locationId,
        sync_transaction_id: row.id,
        message: `Sync transaction ${row.id} (${row.kind} of ${row.sku} at ${row.locationId}) failed after ${row.attempts} attempt${row.attempts === 1 ? '' : 's'}: ${row.lastError}`,
        note: row.lastError,
      }));
      const records = failed.flatMap((row, index) => [
        outboxRecord(syncTransactionFailed, {
          syncTransactionId: row.id, transactionId: row.transactionId, kind: row.kind, sku: row.sku, locationId: row.locationId,
          attempts: row.attempts, lastError: row.lastError, failures: row.failures, failedAt: row.failedAt.toISOString(),
        }),
        outboxRecord(alertChanged, {
          alertId: alerts[index]!.id, kind: 'SYNC_FAILED', status: 'OPEN', sku: row.sku, locationId: row.locationId, message: alerts[index]!.message,
          version: 1, actor: STOCKGRAPH_ACTOR, at: row.failedAt.toISOString(),
        }),
      ]);
      const opened = recordset(alerts, 'v', { id: 'text', sku: 'text', location_id: 'text', sync_transaction_id: 'text', message: 'text', note: 'text' });
      await tx.$executeRaw(oneStatement([
        Prisma.sql`INSERT INTO alert (id, kind, status, sku, location_id, sync_transaction_id, message, version, created_at)
                   SELECT id, 'SYNC_FAILED', 'OPEN', sku, location_id, sync_transaction_id, message, 1, now() FROM ${opened}`,
        Prisma.sql`INSERT INTO reconciliation_audit (subject_type, subject_id, action, actor, note, at)
                   SELECT 'ALERT', id, 'OPENED', ${STOCKGRAPH_ACTOR}, note, now() FROM ${opened}`,
        outboxInsert(RECONCILIATION_PRODUCER, records, at),
      ]));
      return failed.map((row) => row.id);
    });
  }

  /**
   * Makes SYNC_FAILED rows PENDING_SYNC again with their attempts reset, and resolves their open
   * SYNC_FAILED alerts (audited as `actor`, with their events). All or nothing: throws an
   * ReconciliationError, changing nothing, when an id names no row (of the locations `grant`
   * covers) or a row is not SYNC_FAILED.
   * @returns how many alerts were resolved.
   */
  async redrive(ids: readonly string[], actor: string, grant: LocationGrant): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      // Locked in id order, as every statement that locks several of them does.
      const found = await tx.$queryRaw<{ id: string; status: SyncStatus }[]>`
        SELECT id, status::text AS status FROM sync_transaction
         WHERE id = ANY(${ids}::text[]) AND ${atGrantedLocation(grant, 'location_id')}
         ORDER BY id FOR UPDATE`;
      const statusOf = new Map(found.map((row) => [row.id, row.status]));
      const missing = ids.filter((id) => !statusOf.has(id));
      if (missing.length) throw new ReconciliationError(ReconciliationErrorCode.SYNC_TRANSACTION_NOT_FOUND, `No sync transaction ${missing.join(', ')}`, { ids: missing });
      const notFailed = ids.filter((id) => statusOf.get(id) !== 'SYNC_FAILED');
      if (notFailed.length) {
        throw new ReconciliationError(ReconciliationErrorCode.SYNC_TRANSACTION_NOT_FAILED, `Only SYNC_FAILED transactions are redriven; not ${notFailed.join(', ')}`, { ids: notFailed });
      }
      await tx.$executeRaw`
        UPDATE sync_transaction SET status = 'PENDING_SYNC', attempts = 0, next_attempt_at = now(), updated_at = now() WHERE id = ANY(${ids}::text[])`;
      const resolved = await tx.$queryRaw<{ id: string; sku: string; locationId: string; message: string; version: number; closedAt: Date }[]>`
        UPDATE alert SET status = 'RESOLVED', closed_at = now(), version = version + 1
         WHERE kind = 'SYNC_FAILED' AND status <> 'RESOLVED' AND sync_transaction_id = ANY(${ids}::text[])
        RETURNING id, sku, location_id AS "locationId", message, version, closed_at AS "closedAt"`;
      if (resolved.length === 0) return 0;
      const records = resolved.map((alert) => outboxRecord(alertChanged, {
        alertId: alert.id, kind: 'SYNC_FAILED', status: 'RESOLVED', sku: alert.sku, locationId: alert.locationId, message: alert.message,
        version: alert.version, actor, at: alert.closedAt.toISOString(),
      }));
      await tx.$executeRaw(oneStatement([
        Prisma.sql`INSERT INTO reconciliation_audit (subject_type, subject_id, action, actor, note, at)
                   SELECT 'ALERT', id, 'RESOLVED', ${actor}, 'redriven', now() FROM unnest(${resolved.map((alert) => alert.id)}::text[]) AS id`,
        outboxInsert(RECONCILIATION_PRODUCER, records, resolved[0]!.closedAt),
      ]));
      return resolved.length;
    });
  }

  /**
   * Deletes up to `limit` SYNCED rows, oldest synced first, that synced more than `retentionDays`
   * ago and that nothing reads any more: the ERP has reported their position's balance since they
   * synced (a run no longer counts them in flight), nothing links to them (an alert and syncFailed
   * events to one that failed, a review task to an orphan, a discrepancy to its adjustment), and a
   * newer row of their SKU stays (an adjustment takes the SKU's unit from its newest row). Rows
   * another transaction holds are passed over.
   * @returns how many were deleted: fewer than `limit` when no more are due.
   */
  pruneSynced(retentionDays: number, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM sync_transaction WHERE id IN (
        SELECT t.id FROM sync_transaction t
          JOIN reconciliation_position p ON p.sku = t.sku AND p.location_id = t.location_id
         WHERE t.status = 'SYNCED' AND t.synced_at < now() - ${retentionDays} * interval '1 day' AND t.synced_at <= p.erp_reported_at
           AND t.failures = 0 AND t.orphan_retried_at IS NULL AND t.kind <> 'RECONCILIATION_ADJUSTMENT'
           AND EXISTS (SELECT 1 FROM sync_transaction newer WHERE newer.sku = t.sku AND newer.created_at > t.created_at)
         ORDER BY t.synced_at
         LIMIT ${limit}
           FOR UPDATE OF t SKIP LOCKED)`;
  }

  /** Those of these rows at locations `grant` covers. */
  byIds(ids: readonly string[], grant: LocationGrant): Promise<SyncTransaction[]> {
    return this.prisma.syncTransaction.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  /** Up to `take` rows matching `filter` after `after`, newest first (createdAt, then id), at locations `grant` covers. */
  page(filter: SyncTransactionFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<SyncTransaction[]> {
    const where: Prisma.SyncTransactionWhereInput[] = [];
    if (filter.status) where.push({ status: { in: [...filter.status] } });
    if (filter.kind) where.push({ kind: { in: [...filter.kind] } });
    const location = locationWithin(grant, filter.locationId);
    if (location) where.push({ locationId: location });
    if (filter.sku) where.push({ sku: filter.sku });
    if (after) where.push({ OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] });
    return this.prisma.syncTransaction.findMany({ where: { AND: where }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take });
  }

  /** Counts over the locations `grant` covers. */
  async backlog(grant: LocationGrant): Promise<SyncBacklog> {
    const [backlog] = await this.prisma.$queryRaw<SyncBacklog[]>`
      SELECT count(*) FILTER (WHERE status = 'PENDING_SYNC')::int AS pending,
             count(*) FILTER (WHERE status = 'SYNCED')::int AS synced,
             count(*) FILTER (WHERE status = 'SYNC_FAILED')::int AS failed,
             coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'PENDING_SYNC')), 0)::float8 AS "oldestPendingAgeSeconds"
        FROM sync_transaction
       WHERE ${atGrantedLocation(grant, 'location_id')}`;
    return backlog!;
  }

  /**
   * The rows not yet synced, over every location: read from the status index alone (SYNCED rows,
   * the bulk of the table, are not visited), so that it is cheap enough for every metrics scrape.
   */
  async unsyncedBacklog(): Promise<Omit<SyncBacklog, 'synced'>> {
    const [backlog] = await this.prisma.$queryRaw<Omit<SyncBacklog, 'synced'>[]>`
      SELECT count(*) FILTER (WHERE status = 'PENDING_SYNC')::int AS pending,
             count(*) FILTER (WHERE status = 'SYNC_FAILED')::int AS failed,
             coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'PENDING_SYNC')), 0)::float8 AS "oldestPendingAgeSeconds"
        FROM sync_transaction
       WHERE status IN ('PENDING_SYNC', 'SYNC_FAILED')`;
    return backlog!;
  }

  /** The syncTransactionFailed events recorded under these outbox ids, at locations `grant` covers (others are left out). */
  async failureEvents(ids: readonly bigint[], grant: LocationGrant): Promise<SyncFailureEventRecord[]> {
    const rows = await this.prisma.$queryRaw<{ id: string; payload: PayloadOf<typeof syncTransactionFailed> }[]>`
      SELECT id::text, payload FROM event_outbox
       WHERE id = ANY(${ids.map(String)}::bigint[]) AND producer = ${RECONCILIATION_PRODUCER} AND type = ${syncTransactionFailed.type}
         AND ${atGrantedLocation(grant, "payload->>'locationId'")}`;
    return rows.map(({ id, payload }) => ({ ...payload, id }));
  }
}
