import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type DataLoader from 'dataloader';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { newestFirstConnection, type Connection } from '../../platform/graphql/pagination.ts';
import type {
  AlertFilter, DiscrepancyEventRecord, DiscrepancyFilter, HoldEventRecord, HoldFilter, ReconciliationRepository, ReviewTaskFilter, StockLevelKey,
  StockLevelReconciliationRecord,
} from './data/reconciliationRepository.ts';
import type { Alert, Discrepancy, Hold, ReconciliationRun, ReviewTask } from './data/reconciliationRows.ts';
import { grantsLocation, type LocationGrant } from '../../platform/lang/locationGrant.ts';
import { ReconciliationError } from './domain/reconciliationErrors.ts';
import { runAccuracy } from './domain/runPlan.ts';
import type { AuditSubject, DiscrepancyStatus, HoldStatus } from './domain/reconciliationStatus.ts';
import type { ReconciliationLoaders } from './loaders.ts';
import type { ReconciliationCases } from './services/reconciliationCases.ts';
import type { ReconciliationRunner } from './services/reconciliationRunner.ts';

/** The reconciliation part's share of a request's context, under a key of its own (the subgraph merges the parts' contexts). */
export interface ReconciliationContext {
  readonly reconciliation: {
    readonly loaders: ReconciliationLoaders;
    readonly repository: ReconciliationRepository;
    readonly runner: ReconciliationRunner;
    readonly cases: ReconciliationCases;
    /** Who the gateway says is calling: the actor of what the call changes. */
    readonly caller: string;
    /** The locations the caller sees and acts on (null: every one); see data/grantFilter.ts. */
    readonly grant: LocationGrant;
  };
}

type Context = ReconciliationContext;
interface PageArgs<Filter = never> {
  readonly filter?: Filter | null;
  readonly first: number;
  readonly after?: string | null;
}

const MAX_EVENT_IDS = 1_000;

const stockLevelOf = (row: StockLevelKey) => ({ __typename: 'StockLevel', sku: row.sku, locationId: row.locationId });
const auditOf = (type: AuditSubject) => (row: { readonly id: string }, _: unknown, { reconciliation }: Context) =>
  reconciliation.loaders.auditBySubject.load({ type, id: row.id });
// Every row comes through the request's loaders or pages, which read the caller's rows only: one
// of another location is null, as an unknown id is (loaders.ts).
const byId = <Row>(loader: (loaders: ReconciliationLoaders) => { load(id: string): Promise<Row | null> }) =>
  (_: unknown, { id }: { id: string }, { reconciliation }: Context) => loader(reconciliation.loaders).load(id);
const reference = <Row>(loader: (loaders: ReconciliationLoaders) => { load(id: string): Promise<Row | null> }) =>
  ({ id }: { id: string }, { reconciliation }: Context) => loader(reconciliation.loaders).load(id);
const linked = <Parent, Row>(idOf: (parent: Parent) => string | null, loader: (loaders: ReconciliationLoaders) => { load(id: string): Promise<Row | null> }) =>
  (parent: Parent, _: unknown, { reconciliation }: Context) => {
    const id = idOf(parent);
    return id === null ? null : loader(reconciliation.loaders).load(id);
  };

export const reconciliationResolvers: GraphQLResolverMap<Context> = {
  Query: {
    reconciliationRun: byId((loaders) => loaders.runById),
    reconciliationRuns: (_: unknown, args: PageArgs, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.runPage(take, after, grant), (run) => run.startedAt), loaders.runById),
    discrepancy: byId((loaders) => loaders.discrepancyById),
    discrepancies: (_: unknown, args: PageArgs<DiscrepancyFilter>, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.discrepancyPage(args.filter ?? {}, take, after, grant), (d) => d.detectedAt), loaders.discrepancyById),
    reviewTask: byId((loaders) => loaders.taskById),
    reviewTasks: (_: unknown, args: PageArgs<ReviewTaskFilter>, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.taskPage(args.filter ?? {}, take, after, grant), (task) => task.createdAt), loaders.taskById),
    alert: byId((loaders) => loaders.alertById),
    alerts: (_: unknown, args: PageArgs<AlertFilter>, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.alertPage(args.filter ?? {}, take, after, grant), (alert) => alert.createdAt), loaders.alertById),
    hold: byId((loaders) => loaders.holdById),
    holds: (_: unknown, args: PageArgs<HoldFilter>, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.holdPage(args.filter ?? {}, take, after, grant), (hold) => hold.placedAt), loaders.holdById),
    discrepancyEvents: (_: unknown, { ids }: { ids: string[] }, { reconciliation }: Context) =>
      eventsById(ids, (numbers) => reconciliation.repository.discrepancyEventsById(numbers, reconciliation.grant)),
    holdEvents: (_: unknown, { ids }: { ids: string[] }, { reconciliation }: Context) =>
      eventsById(ids, (numbers) => reconciliation.repository.holdEventsById(numbers, reconciliation.grant)),
  },
  Mutation: {
    startReconciliation: (_: unknown, { input }: { input?: { locationIds?: string[] | null } | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.runner.start(input?.locationIds, reconciliation.caller, reconciliation.grant)),
    approveAdjustment: (_: unknown, { taskId, note }: { taskId: string; note?: string | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.approveAdjustment(taskId, note, reconciliation.caller, reconciliation.grant)),
    rejectAdjustment: (_: unknown, { taskId, note }: { taskId: string; note?: string | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.rejectAdjustment(taskId, note, reconciliation.caller, reconciliation.grant)),
    assignTask: (_: unknown, { taskId, assignee }: { taskId: string; assignee: string }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.assignTask(taskId, assignee, reconciliation.caller, reconciliation.grant)),
    acknowledgeAlert: (_: unknown, { alertId, note }: { alertId: string; note?: string | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.acknowledgeAlert(alertId, note, reconciliation.caller, reconciliation.grant)),
    resolveAlert: (_: unknown, { alertId, note }: { alertId: string; note?: string | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.resolveAlert(alertId, note, reconciliation.caller, reconciliation.grant)),
    releaseHold: (_: unknown, { holdId, note }: { holdId: string; note?: string | null }, { reconciliation }: Context) =>
      refusalsAsErrors(() => reconciliation.cases.releaseHold(holdId, note, reconciliation.caller, reconciliation.grant)),
  },
  ReconciliationRun: {
    accuracy: (run: ReconciliationRun) => runAccuracy(run),
    discrepancies: (run: ReconciliationRun, args: PageArgs, { reconciliation: { repository, loaders, grant } }: Context) =>
      primed(newestFirstConnection(args, (take, after) => repository.discrepancyPage({ runId: run.id }, take, after, grant), (d) => d.detectedAt), loaders.discrepancyById),
  },
  Discrepancy: {
    __resolveReference: reference((loaders) => loaders.discrepancyById),
    stockLevel: stockLevelOf,
    run: linked((d: Discrepancy) => d.runId, (loaders) => loaders.runById),
    adjustment: linked((d: Discrepancy) => d.adjustmentId, (loaders) => loaders.syncTransactionById),
    reviewTask: linked((d: Discrepancy) => d.id, (loaders) => loaders.taskByDiscrepancyId),
    alert: linked((d: Discrepancy) => d.id, (loaders) => loaders.alertByDiscrepancyId),
    hold: linked((d: Discrepancy) => d.id, (loaders) => loaders.holdByDiscrepancyId),
    audit: auditOf('DISCREPANCY'),
  },
  ReviewTask: {
    __resolveReference: reference((loaders) => loaders.taskById),
    stockLevel: stockLevelOf,
    discrepancy: linked((task: ReviewTask) => task.discrepancyId, (loaders) => loaders.discrepancyById),
    syncTransaction: linked((task: ReviewTask) => task.syncTransactionId, (loaders) => loaders.syncTransactionById),
    audit: auditOf('TASK'),
  },
  Alert: {
    __resolveReference: reference((loaders) => loaders.alertById),
    stockLevel: stockLevelOf,
    discrepancy: linked((alert: Alert) => alert.discrepancyId, (loaders) => loaders.discrepancyById),
    syncTransaction: linked((alert: Alert) => alert.syncTransactionId, (loaders) => loaders.syncTransactionById),
    hold: linked((alert: Alert) => alert.id, (loaders) => loaders.holdByAlertId),
    audit: auditOf('ALERT'),
  },
  Hold: {
    __resolveReference: reference((loaders) => loaders.holdById),
    stockLevel: stockLevelOf,
    alert: linked((hold: Hold) => hold.alertId, (loaders) => loaders.alertById),
    discrepancy: linked((hold: Hold) => hold.discrepancyId, (loaders) => loaders.discrepancyById),
    audit: auditOf('HOLD'),
  },
  DiscrepancyEvent: {
    // Only the gateway knows where an event sits in the stream: it sets this on delivery.
    cursor: () => null,
    discrepancy: linked((event: DiscrepancyEventRecord) => event.discrepancyId, (loaders) => loaders.discrepancyById),
  },
  HoldEvent: {
    cursor: () => null,
    hold: linked((event: HoldEventRecord) => event.holdId, (loaders) => loaders.holdById),
  },
  StockLevel: {
    // As inventory answers it: a stock level of a location the caller is not granted is none.
    __resolveReference: (key: StockLevelKey, { reconciliation }: Context) => (grantsLocation(reconciliation.grant, key.locationId) ? key : null),
    reconciliation: (key: StockLevelKey, _: unknown, { reconciliation }: Context) => reconciliation.loaders.reconciliationByStockLevel.load({ sku: key.sku, locationId: key.locationId }),
  },
  StockLevelReconciliation: {
    openDiscrepancy: linked((record: StockLevelReconciliationRecord) => record.openDiscrepancyId, (loaders) => loaders.discrepancyById),
    activeHold: linked((record: StockLevelReconciliationRecord) => record.activeHoldId, (loaders) => loaders.holdById),
  },
  Item: {
    discrepancies: ({ sku }: { sku: string }, { status }: { status?: DiscrepancyStatus[] | null }, { reconciliation }: Context) =>
      reconciliation.loaders.discrepanciesBySku.load({ sku, statuses: status ?? null }),
    holds: ({ sku }: { sku: string }, { status }: { status?: HoldStatus[] | null }, { reconciliation }: Context) =>
      reconciliation.loaders.holdsBySku.load({ sku, statuses: status ?? null }),
  },
};

/** A page, its rows primed into their by-id loader for the fields that link back to them. */
async function primed<Row extends { readonly id: string }>(page: Promise<Connection<Row>>, loader: DataLoader<string, Row | null>): Promise<Connection<Row>> {
  const connection = await page;
  for (const row of connection.nodes) loader.prime(row.id, row);
  return connection;
}

/** Runs a service call, its refusals turned into GraphQL errors with their code and details. */
async function refusalsAsErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ReconciliationError) throw new UserInputError(error.message, error.code, error.details);
    throw error;
  }
}

/** The events with these ids (outbox record numbers), in the order asked; null for an id that names none. */
async function eventsById<Event extends { readonly id: string }>(ids: readonly string[], read: (numbers: bigint[]) => Promise<Event[]>): Promise<(Event | null)[]> {
  if (ids.length > MAX_EVENT_IDS) throw new UserInputError(`At most ${MAX_EVENT_IDS} event ids per request, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
  const byId = new Map((await read(ids.filter((id) => /^\d{1,18}$/.test(id)).map(BigInt))).map((event) => [event.id, event]));
  return ids.map((id) => byId.get(id) ?? null);
}
