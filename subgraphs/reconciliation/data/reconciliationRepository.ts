import { discrepancyChanged, holdCleared, holdPlaced } from '../../../platform/contracts/events.ts';
import { fewKeys, type Database } from '../../../platform/database/database.ts';
import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { AlertKind, AlertStatus, AuditSubject, DiscrepancyStatus, HoldStatus, ReviewTaskKind, ReviewTaskStatus } from '../domain/reconciliationStatus.ts';
import type { VarianceTier } from '../domain/varianceTiers.ts';
import { RECONCILIATION_PRODUCER } from '../reconciliationModule.ts';
import { atGrantedLocation, locationWithin, runWithinGrant } from './grantFilter.ts';
import {
  DISCREPANCY_COLUMNS, HOLD_COLUMNS, RUN_COLUMNS, type Alert, type Discrepancy, type Hold, type ReconciliationAudit, type ReconciliationRun, type ReviewTask,
  type SyncTransaction,
} from './reconciliationRows.ts';

export interface StockLevelKey {
  readonly sku: string;
  readonly locationId: string;
}

/** What reconciliation knows of one item x location (see StockLevelReconciliation in the schema). */
export interface StockLevelReconciliationRecord extends StockLevelKey {
  readonly lastRunAt: Date | null;
  readonly variance: number;
  readonly tier: VarianceTier | null;
  readonly openDiscrepancyId: string | null;
  readonly pendingSyncTransactions: number;
  readonly activeHoldId: string | null;
}

// A null filter field is no condition, as an omitted one.
export interface DiscrepancyFilter {
  readonly status?: readonly DiscrepancyStatus[] | null;
  readonly tier?: readonly VarianceTier[] | null;
  readonly locationId?: string | null;
  readonly sku?: string | null;
  readonly runId?: string | null;
}

export interface ReviewTaskFilter {
  readonly status?: readonly ReviewTaskStatus[] | null;
  readonly kind?: readonly ReviewTaskKind[] | null;
  readonly assignee?: string | null;
  readonly locationId?: string | null;
  readonly sku?: string | null;
}

export interface AlertFilter {
  readonly status?: readonly AlertStatus[] | null;
  readonly kind?: readonly AlertKind[] | null;
  readonly locationId?: string | null;
  readonly sku?: string | null;
}

export interface HoldFilter {
  readonly status?: readonly HoldStatus[] | null;
  readonly locationId?: string | null;
  readonly sku?: string | null;
}

/** One recorded event of a discrepancy or hold, by its outbox record id. */
export interface DiscrepancyEventRecord {
  readonly id: string;
  readonly discrepancyId: string;
  readonly at: Date;
}

export interface HoldEventRecord {
  readonly id: string;
  readonly holdId: string;
  readonly status: HoldStatus;
  readonly at: Date;
}

/** The most any item lists of its discrepancies or holds. */
export const MAX_ITEM_CASES = 100;

const oneOf = <T>(values: readonly T[] | null | undefined) => (values ? { in: [...values] } : undefined);
const equal = (value: string | null | undefined) => value ?? undefined;
const newestFirst = [{ id: 'desc' as const }];

/** Read access to reconciliation's tables. Every method is one SQL statement, whatever its input size. */
export class ReconciliationRepository {
  private readonly prisma: Database['prisma'];

  constructor(private readonly db: Database) {
    this.prisma = db.prisma;
  }

  // Every read that takes a grant reads the caller's rows only (data/grantFilter.ts): a row of a
  // location it is not granted reads as one that does not exist. Those that take none (audit
  // entries, stock levels' reconciliation) are asked only of rows and stock levels already shown.

  runsById(ids: readonly string[], grant: LocationGrant): Promise<ReconciliationRun[]> {
    return this.prisma.$queryRaw<ReconciliationRun[]>`
      SELECT ${RUN_COLUMNS} FROM reconciliation_run WHERE id = ANY(${[...ids]}::text[]) AND ${runWithinGrant(grant)}`;
  }

  discrepanciesById(ids: readonly string[], grant: LocationGrant): Promise<Discrepancy[]> {
    return this.prisma.discrepancy.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  tasksById(ids: readonly string[], grant: LocationGrant): Promise<ReviewTask[]> {
    return this.prisma.reviewTask.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  alertsById(ids: readonly string[], grant: LocationGrant): Promise<Alert[]> {
    return this.prisma.alert.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  holdsById(ids: readonly string[], grant: LocationGrant): Promise<Hold[]> {
    return this.prisma.reconciliationHold.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  /** Read here for the links to them (an adjustment, an orphan); the ERP sync part resolves their fields. */
  syncTransactionsById(ids: readonly string[], grant: LocationGrant): Promise<SyncTransaction[]> {
    return this.prisma.syncTransaction.findMany({ where: { id: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  // A discrepancy has at most one review task, one alert and one hold, all of its item x location.
  tasksByDiscrepancyId(ids: readonly string[], grant: LocationGrant): Promise<ReviewTask[]> {
    return this.prisma.reviewTask.findMany({ where: { discrepancyId: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  alertsByDiscrepancyId(ids: readonly string[], grant: LocationGrant): Promise<Alert[]> {
    return this.prisma.alert.findMany({ where: { discrepancyId: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  holdsByDiscrepancyId(ids: readonly string[], grant: LocationGrant): Promise<Hold[]> {
    return this.prisma.reconciliationHold.findMany({ where: { discrepancyId: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  holdsByAlertId(ids: readonly string[], grant: LocationGrant): Promise<Hold[]> {
    return this.prisma.reconciliationHold.findMany({ where: { alertId: { in: [...ids] }, locationId: locationWithin(grant) } });
  }

  /** The audit entries of these subjects, oldest first. */
  auditOf(subjects: readonly { readonly type: AuditSubject; readonly id: string }[]): Promise<ReconciliationAudit[]> {
    return this.prisma.reconciliationAudit.findMany({
      where: { OR: subjects.map((subject) => ({ subjectType: subject.type, subjectId: subject.id })) },
      orderBy: [{ at: 'asc' }, { id: 'asc' }],
    });
  }

  /** Up to `take` runs after `after`, newest first. */
  runPage(take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<ReconciliationRun[]> {
    return this.prisma.$queryRaw<ReconciliationRun[]>`
      SELECT ${RUN_COLUMNS} FROM reconciliation_run
       WHERE ${runWithinGrant(grant)} ${after ? Prisma.sql`AND (started_at, id) < (${after.at}, ${after.id})` : Prisma.empty}
       ORDER BY started_at DESC, id DESC
       LIMIT ${take}`;
  }

  discrepancyPage(filter: DiscrepancyFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<Discrepancy[]> {
    return this.prisma.discrepancy.findMany({
      where: {
        status: oneOf(filter.status), tier: oneOf(filter.tier), locationId: locationWithin(grant, filter.locationId), sku: equal(filter.sku), runId: equal(filter.runId),
        ...newestFirstAfter('detectedAt', after),
      },
      orderBy: [{ detectedAt: 'desc' }, ...newestFirst],
      take,
    });
  }

  taskPage(filter: ReviewTaskFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<ReviewTask[]> {
    return this.prisma.reviewTask.findMany({
      where: {
        status: oneOf(filter.status), kind: oneOf(filter.kind), assignee: equal(filter.assignee), locationId: locationWithin(grant, filter.locationId), sku: equal(filter.sku),
        ...newestFirstAfter('createdAt', after),
      },
      orderBy: [{ createdAt: 'desc' }, ...newestFirst],
      take,
    });
  }

  alertPage(filter: AlertFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<Alert[]> {
    return this.prisma.alert.findMany({
      where: { status: oneOf(filter.status), kind: oneOf(filter.kind), locationId: locationWithin(grant, filter.locationId), sku: equal(filter.sku), ...newestFirstAfter('createdAt', after) },
      orderBy: [{ createdAt: 'desc' }, ...newestFirst],
      take,
    });
  }

  holdPage(filter: HoldFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<Hold[]> {
    return this.prisma.reconciliationHold.findMany({
      where: { status: oneOf(filter.status), locationId: locationWithin(grant, filter.locationId), sku: equal(filter.sku), ...newestFirstAfter('placedAt', after) },
      orderBy: [{ placedAt: 'desc' }, ...newestFirst],
      take,
    });
  }

  /** Each SKU's newest discrepancies at every granted location, at most MAX_ITEM_CASES of each, only in `statuses` when given. */
  discrepanciesBySku(skus: readonly string[], statuses: readonly DiscrepancyStatus[] | null, grant: LocationGrant): Promise<Discrepancy[]> {
    return this.prisma.$queryRaw<Discrepancy[]>`
      SELECT found.* FROM unnest(${[...skus]}::text[]) AS item(sku)
       CROSS JOIN LATERAL (
             SELECT ${DISCREPANCY_COLUMNS} FROM discrepancy d
              WHERE d.sku = item.sku AND ${atGrantedLocation(grant, 'd.location_id')}
                AND ${statuses ? Prisma.sql`d.status::text = ANY(${[...statuses]}::text[])` : Prisma.sql`true`}
              ORDER BY d.detected_at DESC, d.id DESC LIMIT ${MAX_ITEM_CASES}) AS found`;
  }

  holdsBySku(skus: readonly string[], statuses: readonly HoldStatus[] | null, grant: LocationGrant): Promise<Hold[]> {
    return this.prisma.$queryRaw<Hold[]>`
      SELECT found.* FROM unnest(${[...skus]}::text[]) AS item(sku)
       CROSS JOIN LATERAL (
             SELECT ${HOLD_COLUMNS} FROM reconciliation_hold h
              WHERE h.sku = item.sku AND ${atGrantedLocation(grant, 'h.location_id')}
                AND ${statuses ? Prisma.sql`h.status::text = ANY(${[...statuses]}::text[])` : Prisma.sql`true`}
              ORDER BY h.placed_at DESC, h.id DESC LIMIT ${MAX_ITEM_CASES}) AS found`;
  }

  /**
   * Per item x location: the latest COMPLETED run that compared its location, the variance it
   * found there (the discrepancy it raised, or the earlier one it found still varying and left
   * OPEN), the newest OPEN discrepancy, the pending sync transactions and the ACTIVE hold.
   */
  stockLevelReconciliations(keys: readonly StockLevelKey[]): Promise<StockLevelReconciliationRecord[]> {
    // Through the driver, its plan kept for a few keys: planning its four lateral joins cost
    // PostgreSQL more than twice running them, on every stock level a federated query asks of.
    const statement = Prisma.sql`
      SELECT wanted.sku, wanted.location_id AS "locationId", last_run.finished_at AS "lastRunAt",
             coalesce(found.variance, 0) AS variance, found.tier::text AS tier, open.id AS "openDiscrepancyId",
             (SELECT count(*)::int FROM sync_transaction pending
               WHERE pending.sku = wanted.sku AND pending.location_id = wanted.location_id AND pending.status = 'PENDING_SYNC') AS "pendingSyncTransactions",
             (SELECT h.id FROM reconciliation_hold h
               WHERE h.sku = wanted.sku AND h.location_id = wanted.location_id AND h.status = 'ACTIVE'
               ORDER BY h.placed_at DESC, h.id DESC LIMIT 1) AS "activeHoldId"
        FROM ${recordset(keys.map((key) => ({ sku: key.sku, location_id: key.locationId })), 'wanted', { sku: 'text', location_id: 'text' })}
        LEFT JOIN LATERAL (
             SELECT r.id, r.finished_at FROM reconciliation_run r
              WHERE r.status = 'COMPLETED' AND (r.location_ids = '{}' OR wanted.location_id = ANY(r.location_ids))
              ORDER BY r.finished_at DESC LIMIT 1) AS last_run ON true
        LEFT JOIN LATERAL (
             SELECT d.id FROM discrepancy d
              WHERE d.sku = wanted.sku AND d.location_id = wanted.location_id AND d.status = 'OPEN'
              ORDER BY d.detected_at DESC, d.id DESC LIMIT 1) AS open ON true
        LEFT JOIN LATERAL (
             SELECT d.variance, d.tier FROM discrepancy d
              WHERE d.sku = wanted.sku AND d.location_id = wanted.location_id AND (d.run_id = last_run.id OR d.id = open.id)
              ORDER BY d.run_id = last_run.id DESC LIMIT 1) AS found ON last_run.id IS NOT NULL`;
    return this.db.query<StockLevelReconciliationRecord>(statement.text, statement.values, fewKeys(keys));
  }

  /** discrepancyChanged events at granted locations, by outbox record id (ids that are not record numbers name none). */
  async discrepancyEventsById(ids: readonly bigint[], grant: LocationGrant): Promise<DiscrepancyEventRecord[]> {
    const rows = await this.eventsById(ids, [discrepancyChanged.type], grant);
    return rows.map(({ id, payload }) => ({ id, discrepancyId: payload.discrepancyId as string, at: new Date(payload.at as string) }));
  }

  /** holdPlaced and holdCleared events at granted locations, by outbox record id. */
  async holdEventsById(ids: readonly bigint[], grant: LocationGrant): Promise<HoldEventRecord[]> {
    const rows = await this.eventsById(ids, [holdPlaced.type, holdCleared.type], grant);
    return rows.map(({ id, type, payload }) => {
      const placed = type === holdPlaced.type;
      return { id, holdId: payload.holdId as string, status: placed ? 'ACTIVE' : 'RELEASED', at: new Date((placed ? payload.placedAt : payload.clearedAt) as string) };
    });
  }

  private eventsById(ids: readonly bigint[], types: readonly string[], grant: LocationGrant) {
    return this.prisma.$queryRaw<{ id: string; type: string; payload: Record<string, unknown> }[]>`
      SELECT id::text, type, payload FROM event_outbox
       WHERE id = ANY(${ids.map(String)}::bigint[]) AND producer = ${RECONCILIATION_PRODUCER} AND type = ANY(${[...types]}::text[])
         AND ${atGrantedLocation(grant, "payload->>'locationId'")}`;
  }
}
