import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import DataLoader from 'dataloader';
import { indexBy } from '../../../platform/graphql/batching.ts';
import { CommonErrorCode, UserInputError } from '../../../platform/graphql/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, pageSize, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { ReconciliationError } from '../domain/reconciliationErrors.ts';
import type { SyncFailureEventRecord, SyncTransaction, SyncTransactionFilter, SyncTransactionStore } from './syncTransactionStore.ts';

/** What a request of the ledger's API works with; under `erpSync`, beside reconciliation's share of the context. */
export interface ErpSyncContext {
  readonly erpSync: {
    /**
     * The subgraph's other part resolves its fields that name a sync transaction through it. It
     * loads those of the caller's granted locations only (another's is null, as an unknown id is).
     */
    readonly syncTransactionById: DataLoader<string, SyncTransaction | null>;
    readonly store: SyncTransactionStore;
    /** Who the gateway says is calling: the actor of a redrive. */
    readonly caller: string;
    /** The locations the caller sees and acts on (null: every one). */
    readonly grant: LocationGrant;
    /** Whether this replica's connector has its circuit open (false when none runs). */
    readonly erpCircuitOpen: () => boolean;
    /** After a redrive: publish its alert events, post its transactions. */
    readonly afterRedrive: () => void;
  };
}

const MAX_IDS = 1_000;
// Tags this list's cursors, so that another list's (or a hand-made one) is refused, not read as a place in this one.
const CURSOR_TAG = 'syncTransactions|';

export function syncTransactionLoader(store: SyncTransactionStore, grant: LocationGrant): DataLoader<string, SyncTransaction | null> {
  return new DataLoader(async (ids) => indexBy(ids, await store.byIds(ids, grant), (row) => row.id));
}

export const syncResolvers: GraphQLResolverMap<ErpSyncContext> = {
  Query: {
    syncTransaction: (_: unknown, { id }: { id: string }, { erpSync }: ErpSyncContext) => erpSync.syncTransactionById.load(id),
    syncTransactions: async (_: unknown, args: { filter?: SyncTransactionFilter | null; first: number; after?: string | null }, { erpSync }: ErpSyncContext) => {
      const first = pageSize(args.first);
      const rows = await erpSync.store.page(args.filter ?? {}, first + 1, args.after ? positionOf(args.after) : undefined, erpSync.grant);
      for (const row of rows) erpSync.syncTransactionById.prime(row.id, row);
      return connectionOf(rows, first, (row) => encodeCursor(`${CURSOR_TAG}${row.createdAt.toISOString()}|${row.id}`));
    },
    syncBacklog: async (_: unknown, __: unknown, { erpSync }: ErpSyncContext) => ({ ...(await erpSync.store.backlog(erpSync.grant)), erpCircuitOpen: erpSync.erpCircuitOpen() }),
    syncFailureEvents: async (_: unknown, { ids }: { ids: string[] }, { erpSync }: ErpSyncContext) => {
      if (ids.length > MAX_IDS) throw new UserInputError(`At most ${MAX_IDS} sync failure event ids per request, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
      // Ids are outbox record numbers; anything else names no event.
      const events = await erpSync.store.failureEvents(ids.filter((id) => /^\d{1,18}$/.test(id)).map(BigInt), erpSync.grant);
      const byId = new Map(events.map((event) => [event.id, event]));
      return ids.map((id) => byId.get(id) ?? null);
    },
  },
  Mutation: {
    redriveSyncTransactions: async (_: unknown, { ids }: { ids: string[] }, { erpSync }: ErpSyncContext) => {
      if (ids.length < 1 || ids.length > MAX_IDS) throw new UserInputError(`Give 1 to ${MAX_IDS} sync transaction ids, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
      if (ids.some((id) => id.trim() === '')) throw new UserInputError('A sync transaction id must not be blank', CommonErrorCode.BAD_USER_INPUT);
      const unique = [...new Set(ids)];
      try {
        await erpSync.store.redrive(unique, erpSync.caller, erpSync.grant);
      } catch (error) {
        if (error instanceof ReconciliationError) throw new UserInputError(error.message, error.code, error.details);
        throw error;
      }
      // Read before the connector is woken, so that the answer is what the redrive made them, not a first attempt already under way.
      const rows = await erpSync.store.byIds(unique, erpSync.grant);
      erpSync.afterRedrive();
      for (const row of rows) erpSync.syncTransactionById.clear(row.id).prime(row.id, row);
      return indexBy(unique, rows, (row) => row.id);
    },
  },
  SyncTransaction: {
    __resolveReference: ({ id }: { id: string }, { erpSync }: ErpSyncContext) => erpSync.syncTransactionById.load(id),
    stockLevel: (row: SyncTransaction) => ({ __typename: 'StockLevel', sku: row.sku, locationId: row.locationId }),
    serials: (row: SyncTransaction) => row.serials ?? [],
    nextAttemptAt: (row: SyncTransaction) => (row.status === 'PENDING_SYNC' ? row.nextAttemptAt : null),
  },
  SyncFailureEvent: {
    // Only the gateway knows where an event sits in the stream: it sets this on delivery.
    cursor: () => null,
    syncTransaction: (event: SyncFailureEventRecord, _: unknown, { erpSync }: ErpSyncContext) => erpSync.syncTransactionById.load(event.syncTransactionId),
    at: (event: SyncFailureEventRecord) => event.failedAt,
  },
};

/** The place in the list a cursor of syncTransactions names; BAD_USER_INPUT for any other cursor. */
function positionOf(cursor: string): NewestFirstPosition {
  const text = decodeCursor(cursor);
  // The instant never holds a '|'; the id may.
  const separator = text.indexOf('|', CURSOR_TAG.length);
  const at = new Date(text.slice(CURSOR_TAG.length, separator));
  const id = text.slice(separator + 1);
  if (!text.startsWith(CURSOR_TAG) || separator < 0 || Number.isNaN(at.getTime()) || !id) throw new UserInputError(`"${cursor}" is not a cursor of syncTransactions`);
  return { at, id };
}
