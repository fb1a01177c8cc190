import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, newestFirstConnection, pageSize } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type { DeadLetter, InventoryRepository, Item, Location, StockLevelKey, StockLevelRecord } from './data/inventoryRepository.ts';
import { InventoryErrorCode } from './errors.ts';
import { availableToPromise } from './domain/availableToPromise.ts';
import type { InventoryLoaders } from './loaders.ts';
import { DeadLetterNotReplayableError, type WarehouseEventIngestion } from './services/warehouseEventIngestion.ts';

export interface InventoryContext {
  readonly loaders: InventoryLoaders;
  readonly repository: InventoryRepository;
  readonly ingestion: WarehouseEventIngestion;
  /** Call once a mutation has committed stock changes, so that they are published at once. */
  readonly afterCommit: () => void;
}

export const inventoryResolvers: GraphQLResolverMap<InventoryContext> = {
  DateTime: DateTimeScalar,
  Query: {
    item: (_: unknown, { sku }: { sku: string }, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    items: async (_: unknown, args: { first: number; after?: string | null }, { loaders, repository }: InventoryContext) => {
      const first = pageSize(args.first);
      const rows = await repository.itemPage(first + 1, args.after ? decodeCursor(args.after) : undefined);
      for (const item of rows) loaders.itemBySku.prime(item.sku, item);
      return connectionOf(rows, first, (item) => encodeCursor(item.sku));
    },
    location: (_: unknown, { id }: { id: string }, { loaders }: InventoryContext) => loaders.locationById.load(id),
    locations: async (_: unknown, __: unknown, { loaders, repository }: InventoryContext) => {
      const locations = await repository.allLocations();
      for (const location of locations) loaders.locationById.prime(location.id, location);
      return locations;
    },
    stockLevel: (_: unknown, key: StockLevelKey, { loaders }: InventoryContext) => loaders.stockLevelByKey.load(key),
    deadLetters: (
      _: unknown,
      args: { source?: string | null; includeReplayed: boolean; first: number; after?: string | null },
      { repository }: InventoryContext,
    ) => newestFirstConnection(args, (take, after) => repository.deadLetterPage(args, take, after), (letter) => letter.receivedAt),
  },
  Mutation: {
    replayDeadLetter: async (_: unknown, { id }: { id: string }, { ingestion, repository, afterCommit }: InventoryContext) => {
      const outcome = await ingestion.replay(id).catch((error: unknown) => {
        if (!(error instanceof DeadLetterNotReplayableError)) throw error;
        const code = error.reason === 'NOT_FOUND' ? CommonErrorCode.NOT_FOUND : InventoryErrorCode.DEAD_LETTER_ALREADY_REPLAYED;
        throw new UserInputError(error.message, code);
      });
      afterCommit();
      const newLetterId = outcome.status === 'DEAD_LETTERED' ? outcome.deadLetterId : null;
      const letters = await repository.deadLettersById(newLetterId ? [id, newLetterId] : [id]);
      return {
        replayed: letters.find((letter) => letter.id === id),
        outcome: outcome.status,
        deadLetter: letters.find((letter) => letter.id === newLetterId) ?? null,
      };
    },
  },
  DeadLetter: {
    payload: (letter: DeadLetter) => JSON.stringify(letter.payload),
  },
  Item: {
    __resolveReference: ({ sku }: { sku: string }, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    stockLevels: async (item: Item, { locationIds }: { locationIds?: string[] | null }, { loaders }: InventoryContext) => {
      const levels = await loaders.stockLevelsBySku.load(item.sku);
      if (!locationIds) return levels;
      const wanted = new Set(locationIds);
      return levels.filter((level) => wanted.has(level.locationId));
    },
  },
  Location: {
    __resolveReference: ({ id }: { id: string }, { loaders }: InventoryContext) => loaders.locationById.load(id),
    subinventories: (location: Location, _: unknown, { loaders }: InventoryContext) =>
      loaders.subinventoriesByLocationId.load(location.id),
  },
  StockLevel: {
    __resolveReference: (key: StockLevelKey, { loaders }: InventoryContext) => loaders.stockLevelByKey.load(key),
    item: (level: StockLevelRecord, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(level.sku),
    location: (level: StockLevelRecord, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(level.locationId),
    available: (level: StockLevelRecord) => availableToPromise({ ...level, onHandNettable: level.onHandWms }),
  },
};
