import DataLoader from 'dataloader';
import { indexBy } from '../../platform/graphql/batching.ts';
import type {
  Discrepancy,
  ReconciliationRepository,
  ReconciliationRun,
  StockLevelKey,
  StockLevelReconciliationRecord,
  SyncTransaction,
} from './data/reconciliationRepository.ts';

/** The reconciliation subgraph's loaders; a fresh set per request. */
export interface ReconciliationLoaders {
  readonly discrepancyById: DataLoader<string, Discrepancy | null>;
  readonly runById: DataLoader<string, ReconciliationRun | null>;
  readonly syncTransactionById: DataLoader<string, SyncTransaction | null>;
  readonly reconciliationByStockLevel: DataLoader<StockLevelKey, StockLevelReconciliationRecord, string>;
}

export function createReconciliationLoaders(repository: ReconciliationRepository): ReconciliationLoaders {
  const stockLevelKey = (key: StockLevelKey) => `${key.sku}\u0000${key.locationId}`;
  return {
    discrepancyById: new DataLoader(async (ids) => indexBy(ids, await repository.discrepanciesById(ids), (row) => row.id)),
    runById: new DataLoader(async (ids) => indexBy(ids, await repository.runsById(ids), (row) => row.id)),
    syncTransactionById: new DataLoader(async (ids) => indexBy(ids, await repository.syncTransactionsById(ids), (row) => row.id)),
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
