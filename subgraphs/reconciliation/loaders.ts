import DataLoader from 'dataloader';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';
import type { LocationGrant } from '../../platform/lang/locationGrant.ts';
import type { ReconciliationRepository, StockLevelKey, StockLevelReconciliationRecord } from './data/reconciliationRepository.ts';
import type { Alert, Discrepancy, Hold, ReconciliationAudit, ReconciliationRun, ReviewTask, SyncTransaction } from './data/reconciliationRows.ts';
import type { AuditSubject, DiscrepancyStatus, HoldStatus } from './domain/reconciliationStatus.ts';

/**
 * The reconciliation part's loaders; a fresh set per request, for its caller's grant: a run,
 * discrepancy, task, alert, hold or sync transaction it is not granted loads as null (an item's
 * lists leave it out), as one that does not exist (data/grantFilter.ts).
 */
export interface ReconciliationLoaders {
  readonly runById: DataLoader<string, ReconciliationRun | null>;
  readonly discrepancyById: DataLoader<string, Discrepancy | null>;
  readonly taskById: DataLoader<string, ReviewTask | null>;
  readonly alertById: DataLoader<string, Alert | null>;
  readonly holdById: DataLoader<string, Hold | null>;
  readonly syncTransactionById: DataLoader<string, SyncTransaction | null>;
  readonly taskByDiscrepancyId: DataLoader<string, ReviewTask | null>;
  readonly alertByDiscrepancyId: DataLoader<string, Alert | null>;
  readonly holdByDiscrepancyId: DataLoader<string, Hold | null>;
  readonly holdByAlertId: DataLoader<string, Hold | null>;
  readonly auditBySubject: DataLoader<AuditSubjectKey, ReconciliationAudit[], string>;
  readonly discrepanciesBySku: DataLoader<ItemCasesKey<DiscrepancyStatus>, Discrepancy[], string>;
  readonly holdsBySku: DataLoader<ItemCasesKey<HoldStatus>, Hold[], string>;
  readonly reconciliationByStockLevel: DataLoader<StockLevelKey, StockLevelReconciliationRecord, string>;
}

export interface AuditSubjectKey {
  readonly type: AuditSubject;
  readonly id: string;
}

/** An item's cases, only those in `statuses` (all when null). */
export interface ItemCasesKey<Status extends string> {
  readonly sku: string;
  readonly statuses: readonly Status[] | null;
}

export function createReconciliationLoaders(repository: ReconciliationRepository, grant: LocationGrant): ReconciliationLoaders {
  const byId = <Row extends { readonly id: string }>(read: (ids: readonly string[]) => Promise<Row[]>) =>
    new DataLoader<string, Row | null>(async (ids) => indexBy(ids, await read(ids), (row) => row.id));
  const byDiscrepancyId = <Row extends { readonly discrepancyId: string | null }>(read: (ids: readonly string[]) => Promise<Row[]>) =>
    new DataLoader<string, Row | null>(async (ids) => indexBy(ids, await read(ids), (row) => row.discrepancyId!));
  const stockLevelKey = (key: StockLevelKey) => JSON.stringify([key.sku, key.locationId]);
  return {
    runById: byId((ids) => repository.runsById(ids, grant)),
    discrepancyById: byId((ids) => repository.discrepanciesById(ids, grant)),
    taskById: byId((ids) => repository.tasksById(ids, grant)),
    alertById: byId((ids) => repository.alertsById(ids, grant)),
    holdById: byId((ids) => repository.holdsById(ids, grant)),
    syncTransactionById: byId((ids) => repository.syncTransactionsById(ids, grant)),
    taskByDiscrepancyId: byDiscrepancyId((ids) => repository.tasksByDiscrepancyId(ids, grant)),
    alertByDiscrepancyId: byDiscrepancyId((ids) => repository.alertsByDiscrepancyId(ids, grant)),
    holdByDiscrepancyId: byDiscrepancyId((ids) => repository.holdsByDiscrepancyId(ids, grant)),
    holdByAlertId: new DataLoader(async (ids) => indexBy(ids, await repository.holdsByAlertId(ids, grant), (hold) => hold.alertId)),
    auditBySubject: new DataLoader(
      async (subjects) => groupBy(subjects.map(subjectKey), await repository.auditOf(subjects), (entry) => subjectKey({ type: entry.subjectType as AuditSubject, id: entry.subjectId })),
      { cacheKeyFn: subjectKey },
    ),
    discrepanciesBySku: itemCasesLoader((skus, statuses) => repository.discrepanciesBySku(skus, statuses, grant)),
    holdsBySku: itemCasesLoader((skus, statuses) => repository.holdsBySku(skus, statuses, grant)),
    reconciliationByStockLevel: new DataLoader(
      async (keys) => {
        const found = indexBy(keys.map(stockLevelKey), await repository.stockLevelReconciliations(keys), stockLevelKey);
        // The query answers every key it is given, so a gap is a broken contract, not "none".
        return found.map((record, index) => record ?? new TypeError(`No reconciliation row for ${stockLevelKey(keys[index]!)}`));
      },
      { cacheKeyFn: stockLevelKey },
    ),
  };
}

const subjectKey = (subject: AuditSubjectKey) => `${subject.type}:${subject.id}`;

/** Loads items' cases with one statement per distinct status filter in the batch (usually one). */
function itemCasesLoader<Status extends string, Row extends { readonly sku: string }>(read: (skus: readonly string[], statuses: readonly Status[] | null) => Promise<Row[]>) {
  const filterOf = (statuses: readonly Status[] | null) => JSON.stringify(statuses ? [...new Set(statuses)].sort() : null);
  const cacheKey = (key: ItemCasesKey<Status>) => JSON.stringify([key.sku, filterOf(key.statuses)]);
  return new DataLoader<ItemCasesKey<Status>, Row[], string>(
    async (keys) => {
      const found = new Map<string, Row[]>();
      const filters = new Map(keys.map((key) => [filterOf(key.statuses), key.statuses]));
      await Promise.all([...filters].map(async ([filter, statuses]) => {
        const skus = [...new Set(keys.filter((key) => filterOf(key.statuses) === filter).map((key) => key.sku))];
        const groups = groupBy(skus, await read(skus, statuses), (row) => row.sku);
        skus.forEach((sku, index) => found.set(cacheKey({ sku, statuses }), groups[index]!));
      }));
      return keys.map((key) => found.get(cacheKey(key))!);
    },
    { cacheKeyFn: cacheKey },
  );
}
