import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { newestFirstConnection } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type {
  Discrepancy,
  ReconciliationRepository,
  StockLevelKey,
  StockLevelReconciliationRecord,
  SyncTransaction,
} from './data/reconciliationRepository.ts';
import type { DiscrepancyStatus, SyncStatus } from './domain/reconciliationStatus.ts';
import type { ReconciliationLoaders } from './loaders.ts';

export interface ReconciliationContext {
  readonly loaders: ReconciliationLoaders;
  readonly repository: ReconciliationRepository;
}

interface PageArgs<Status> {
  readonly status?: Status[] | null;
  readonly first: number;
  readonly after?: string | null;
}

const stockLevelOf = (row: StockLevelKey) => ({ __typename: 'StockLevel', sku: row.sku, locationId: row.locationId });

export const reconciliationResolvers: GraphQLResolverMap<ReconciliationContext> = {
  DateTime: DateTimeScalar,
  Query: {
    discrepancy: (_: unknown, { id }: { id: string }, { loaders }: ReconciliationContext) => loaders.discrepancyById.load(id),
    discrepancies: async (_: unknown, args: PageArgs<DiscrepancyStatus>, { loaders, repository }: ReconciliationContext) => {
      const page = await newestFirstConnection(
        args,
        (take, after) => repository.discrepancyPage(args.status ?? null, take, after),
        (row) => row.detectedAt,
      );
      for (const row of page.nodes) loaders.discrepancyById.prime(row.id, row);
      return page;
    },
    syncTransaction: (_: unknown, { id }: { id: string }, { loaders }: ReconciliationContext) => loaders.syncTransactionById.load(id),
    syncTransactions: async (_: unknown, args: PageArgs<SyncStatus>, { loaders, repository }: ReconciliationContext) => {
      const page = await newestFirstConnection(
        args,
        (take, after) => repository.syncTransactionPage(args.status ?? null, take, after),
        (row) => row.createdAt,
      );
      for (const row of page.nodes) loaders.syncTransactionById.prime(row.id, row);
      return page;
    },
  },
  Discrepancy: {
    __resolveReference: ({ id }: { id: string }, { loaders }: ReconciliationContext) => loaders.discrepancyById.load(id),
    stockLevel: stockLevelOf,
    run: (discrepancy: Discrepancy, _: unknown, { loaders }: ReconciliationContext) => loaders.runById.load(discrepancy.runId),
  },
  SyncTransaction: {
    __resolveReference: ({ id }: { id: string }, { loaders }: ReconciliationContext) => loaders.syncTransactionById.load(id),
    stockLevel: (transaction: SyncTransaction) => stockLevelOf(transaction),
  },
  StockLevel: {
    reconciliation: (key: StockLevelKey, _: unknown, { loaders }: ReconciliationContext) => loaders.reconciliationByStockLevel.load(key),
  },
  StockLevelReconciliation: {
    openDiscrepancy: (record: StockLevelReconciliationRecord, _: unknown, { loaders }: ReconciliationContext) =>
      record.openDiscrepancyId ? loaders.discrepancyById.load(record.openDiscrepancyId) : null,
  },
};
