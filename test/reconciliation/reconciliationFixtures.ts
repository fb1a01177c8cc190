// What the reconciliation tests share: the reconciliation service on a free port, positions and
// sync transactions laid down in its database, and its GraphQL API as an operator calls it.
import type { Environment } from '../../platform/config/environment.ts';
import type { Database } from '../../platform/database/database.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import type { Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { reconciliationSubgraph } from '../../subgraphs/reconciliation/reconciliationSubgraph.ts';
import { eventually } from '../support/eventually.ts';
import { graphql, type GraphQLResponse } from '../support/graphql.ts';
import { signedIdentity, testSubgraphServing } from '../support/trustedCaller.ts';

/** The reconciliation service over `infrastructure`; runs start only on demand unless `env` schedules them. */
export function startReconciliation(infrastructure: Infrastructure, env: Environment = {}): Promise<RunningService> {
  const logger = createLogger('silent');
  return startSubgraphServer(reconciliationSubgraph({ infrastructure, env: { RECONCILIATION_INTERVAL_SECONDS: '0', ...env }, logger }), testSubgraphServing);
}

export interface GivenPosition {
  readonly sku: string;
  readonly locationId: string;
  readonly wms: number;
  readonly erp: number;
  /** When the ERP last reported its balance; never, when omitted. */
  readonly erpReportedAt?: Date;
}

/** Reconciliation's copy of on hand, as its consumer of stock changes would have left it. */
export async function givenPositions(db: Database, positions: readonly GivenPosition[]): Promise<void> {
  await db.query(
    `INSERT INTO reconciliation_position (sku, location_id, wms_on_hand, erp_on_hand, erp_reported_at, sequence)
     SELECT * , 1 FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::timestamptz[])`,
    [positions.map((p) => p.sku), positions.map((p) => p.locationId), positions.map((p) => p.wms), positions.map((p) => p.erp), positions.map((p) => p.erpReportedAt ?? null)],
  );
}

export interface GivenSyncTransaction {
  readonly id: string;
  readonly sku: string;
  readonly locationId: string;
  /** The change to nettable on hand. */
  readonly quantity: number;
  readonly kind?: string;
  readonly status?: 'PENDING_SYNC' | 'SYNCED' | 'SYNC_FAILED';
  readonly unitOfMeasure?: string;
  readonly createdAt?: Date;
  readonly syncedAt?: Date;
  readonly orphanRetriedAt?: Date;
}

/** Sync transactions in the ledger, as the ERP sync part would have taken (and posted) them. */
export async function givenSyncTransactions(db: Database, transactions: readonly GivenSyncTransaction[]): Promise<void> {
  for (const t of transactions) {
    await db.query(
      `INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, quantity, erp_quantity, unit_of_measure, serials,
                                     status, occurred_at, created_at, synced_at, orphan_retried_at, next_attempt_at)
       VALUES ($1, $1, $2, $3, $4, 'STOCK', $5, $5, $6, '{}', $7::"SyncStatus", $8, $8, $9, $10, now() + interval '1 hour')`,
      [t.id, t.kind ?? 'SHIP', t.sku, t.locationId, t.quantity, t.unitOfMeasure ?? 'EA', t.status ?? 'PENDING_SYNC', t.createdAt ?? new Date(), t.syncedAt ?? null, t.orphanRetriedAt ?? null],
    );
  }
}

export const RUN_FIELDS = `id status locationIds requestedBy startedAt finishedAt positionsCompared matched accuracy autoCorrected reviewed alerted
  alreadyOpen closedGone orphansRetried orphanTasks error`;
export const AUDIT_FIELDS = 'audit { action actor note at }';
export const DISCREPANCY_FIELDS = `id stockLevel { sku locationId } wmsOnHand erpOnHand inFlight variance tier status detectedAt closedAt run { id }
  adjustment { id } reviewTask { id status } alert { id status } hold { id status } ${AUDIT_FIELDS}`;
export const TASK_FIELDS = `id kind status stockLevel { sku locationId } discrepancy { id status } syncTransaction { id } proposedAdjustment assignee createdAt closedAt ${AUDIT_FIELDS}`;
export const ALERT_FIELDS = `id kind status stockLevel { sku locationId } message discrepancy { id status } hold { id status } createdAt closedAt ${AUDIT_FIELDS}`;
export const HOLD_FIELDS = `id status stockLevel { sku locationId } reason alert { id status } discrepancy { id status } placedAt releasedAt ${AUDIT_FIELDS}`;

export interface AuditView {
  action: string;
  actor: string;
  note: string | null;
  at: string;
}

export interface RunView {
  id: string;
  status: string;
  locationIds: string[];
  requestedBy: string;
  startedAt: string;
  finishedAt: string | null;
  positionsCompared: number;
  matched: number;
  accuracy: number;
  autoCorrected: number;
  reviewed: number;
  alerted: number;
  alreadyOpen: number;
  closedGone: number;
  orphansRetried: number;
  orphanTasks: number;
  error: string | null;
}

export interface DiscrepancyView {
  id: string;
  stockLevel: { sku: string; locationId: string };
  wmsOnHand: number;
  erpOnHand: number;
  inFlight: number;
  variance: number;
  tier: string;
  status: string;
  detectedAt: string;
  closedAt: string | null;
  run: { id: string };
  adjustment: { id: string } | null;
  reviewTask: { id: string; status: string } | null;
  alert: { id: string; status: string } | null;
  hold: { id: string; status: string } | null;
  audit: AuditView[];
}

export interface TaskView {
  id: string;
  kind: string;
  status: string;
  stockLevel: { sku: string; locationId: string };
  discrepancy: { id: string; status: string } | null;
  syncTransaction: { id: string } | null;
  proposedAdjustment: number;
  assignee: string | null;
  closedAt: string | null;
  audit: AuditView[];
}

export interface AlertView {
  id: string;
  kind: string;
  status: string;
  message: string;
  discrepancy: { id: string; status: string } | null;
  hold: { id: string; status: string } | null;
  closedAt: string | null;
  audit: AuditView[];
}

export interface HoldView {
  id: string;
  status: string;
  stockLevel: { sku: string; locationId: string };
  reason: string;
  alert: { id: string; status: string };
  discrepancy: { id: string; status: string };
  placedAt: string;
  releasedAt: string | null;
  audit: AuditView[];
}

/**
 * Reconciliation's GraphQL API at `baseUrl`: the subgraph, called as the gateway calls it for
 * `caller`; or the gateway, with `gatewayHeaders` (a client's credentials).
 */
export function reconciliationApi(baseUrl: string, caller = 'supervisor@example.com', gatewayHeaders?: Record<string, string>) {
  const call = <Data = any>(query: string, variables: Record<string, unknown> = {}) =>
    graphql<Data>(baseUrl, query, variables, gatewayHeaders ?? signedIdentity({ caller }));
  const list = <Row>(field: string, filterType: string, fields: string) => async (filter: Record<string, unknown>) => {
    const answer = await call(`query ($filter: ${filterType}) { ${field}(filter: $filter, first: 500) { nodes { ${fields} } } }`, { filter });
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return answer.data[field].nodes as Row[];
  };
  const run = async (id: string) => (await call<{ reconciliationRun: RunView | null }>(`query ($id: ID!) { reconciliationRun(id: $id) { ${RUN_FIELDS} } }`, { id })).data!.reconciliationRun;
  /** The run once it has finished (COMPLETED or FAILED); no event announces that. */
  const finished = async (id: string) => (await eventually(() => run(id), (found) => found?.finishedAt != null, { what: `run ${id} finished` }))!;
  return {
    call,
    start: (locationIds?: string[] | null) =>
      call<{ startReconciliation: RunView }>(`mutation ($input: StartReconciliationInput) { startReconciliation(input: $input) { ${RUN_FIELDS} } }`, {
        input: locationIds === undefined ? null : { locationIds },
      }),
    run,
    finished,
    /** Starts a run over `locationIds` and returns it finished. */
    reconcile: async (locationIds: string[]) => {
      const started = await call<{ startReconciliation: RunView }>(`mutation ($ids: [ID!]) { startReconciliation(input: { locationIds: $ids }) { id } }`, { ids: locationIds });
      if (started.errors) throw new Error(JSON.stringify(started.errors));
      return finished(started.data!.startReconciliation.id);
    },
    discrepancies: list<DiscrepancyView>('discrepancies', 'DiscrepancyFilter', DISCREPANCY_FIELDS),
    tasks: list<TaskView>('reviewTasks', 'ReviewTaskFilter', TASK_FIELDS),
    alerts: list<AlertView>('alerts', 'AlertFilter', ALERT_FIELDS),
    holds: list<HoldView>('holds', 'HoldFilter', HOLD_FIELDS),
    approve: (taskId: string, note?: string) => call<{ approveAdjustment: TaskView }>(`mutation ($id: ID!, $note: String) { approveAdjustment(taskId: $id, note: $note) { ${TASK_FIELDS} } }`, { id: taskId, note }),
    reject: (taskId: string, note?: string) => call<{ rejectAdjustment: TaskView }>(`mutation ($id: ID!, $note: String) { rejectAdjustment(taskId: $id, note: $note) { ${TASK_FIELDS} } }`, { id: taskId, note }),
    assign: (taskId: string, assignee: string) => call<{ assignTask: TaskView }>(`mutation ($id: ID!, $assignee: String!) { assignTask(taskId: $id, assignee: $assignee) { ${TASK_FIELDS} } }`, { id: taskId, assignee }),
    acknowledge: (alertId: string, note?: string) => call<{ acknowledgeAlert: AlertView }>(`mutation ($id: ID!, $note: String) { acknowledgeAlert(alertId: $id, note: $note) { ${ALERT_FIELDS} } }`, { id: alertId, note }),
    resolve: (alertId: string, note?: string) => call<{ resolveAlert: AlertView }>(`mutation ($id: ID!, $note: String) { resolveAlert(alertId: $id, note: $note) { ${ALERT_FIELDS} } }`, { id: alertId, note }),
    release: (holdId: string, note?: string) => call<{ releaseHold: HoldView }>(`mutation ($id: ID!, $note: String) { releaseHold(holdId: $id, note: $note) { ${HOLD_FIELDS} } }`, { id: holdId, note }),
  };
}

/** The error code of a GraphQL answer's first error. */
export const codeOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;

/** The number a `SELECT count(*)::int AS count ...` finds. */
export async function countOf(db: Database, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ count: number }>(sql, params);
  return row!.count;
}

/** The events recorded in the outbox about these entity keys (e.g. `discrepancy:DSC-1`, a hold id), oldest first. */
export async function recordedEvents(db: Database, keys: readonly string[]): Promise<{ type: string; key: string; sequence: number; payload: any }[]> {
  return db.query(`SELECT type, key, sequence::int, payload FROM event_outbox WHERE key = ANY($1::text[]) ORDER BY id`, [keys]);
}

/** A location id no other test uses, so that each test's runs compare only its own positions. */
let nextLocation = 0;
export const newLocation = () => `T${process.pid}-${(nextLocation += 1)}`;
