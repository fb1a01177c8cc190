import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, newestFirstConnection, pageSize } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type { BucketStamp, DeadLetter, InventoryRepository, Item, ItemFilter, Location, StockChangeRecord, StockLevelKey, StockLevelRecord } from './data/inventoryRepository.ts';
import { InventoryError, InventoryErrorCode } from './errors.ts';
import { earliestPromiseDate } from './domain/promiseDate.ts';
import { lotHoldings } from './domain/stockLevelSummary.ts';
import type { InventoryLoaders } from './loaders.ts';
import type { ReservationRecord, ReservationService } from './services/reservationService.ts';
import type { TransferRecord, TransferService } from './services/transferService.ts';
import { DeadLetterNotReplayableError, type WarehouseEventIngestion } from './services/warehouseEventIngestion.ts';

export interface InventoryContext {
  readonly loaders: InventoryLoaders;
  readonly repository: InventoryRepository;
  readonly ingestion: WarehouseEventIngestion;
  readonly reservations: ReservationService;
  readonly transfers: TransferService;
  /** Call once a mutation has committed stock changes, so that they are published at once. */
  readonly afterCommit: () => void;
  readonly settings: InventorySettings;
}

/** The configuration the resolvers apply. */
export interface InventorySettings {
  /** A level whose WMS has been quiet this long is stale, in milliseconds. */
  readonly staleAfterMs: number;
  readonly channelLocations: ReadonlyMap<string, readonly string[]>;
}

const MAX_AVAILABILITY_SKUS = 1_000;
const MAX_STOCK_CHANGE_IDS = 1_000;

export const inventoryResolvers: GraphQLResolverMap<InventoryContext> = {
  DateTime: DateTimeScalar,
  Query: {
    item: (_: unknown, { sku }: { sku: string }, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    items: async (_: unknown, args: { filter?: ItemFilter | null; first: number; after?: string | null }, { loaders, repository }: InventoryContext) => {
      const first = pageSize(args.first);
      const rows = await repository.itemPage(args.filter ?? {}, first + 1, args.after ? decodeCursor(args.after) : undefined);
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
    availability: (_: unknown, args: AvailabilityArgs, context: InventoryContext) => availability(args, context),
    deadLetters: (
      _: unknown,
      args: { source?: string | null; includeReplayed: boolean; first: number; after?: string | null },
      { repository }: InventoryContext,
    ) => newestFirstConnection(args, (take, after) => repository.deadLetterPage(args, take, after), (letter) => letter.receivedAt),
    reservation: async (_: unknown, { id }: { id: string }, { reservations }: InventoryContext) => (await reservations.byIds([id]))[0] ?? null,
    transfer: async (_: unknown, { id }: { id: string }, { transfers }: InventoryContext) => (await transfers.byIds([id]))[0] ?? null,
    stockChanges: (_: unknown, { ids }: { ids: string[] }, { repository }: InventoryContext) => stockChanges(ids, repository),
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
    createReservation: (_: unknown, { input }: { input: CreateReservationInput }, { reservations }: InventoryContext) =>
      refusalsAsUserErrors(() => reservations.create({ ...input, locationId: input.locationId ?? null })),
    extendReservation: (_: unknown, { id, ttlSeconds }: { id: string; ttlSeconds: number }, { reservations }: InventoryContext) =>
      refusalsAsUserErrors(() => reservations.extend(id, ttlSeconds)),
    confirmReservation: (_: unknown, { id }: { id: string }, { reservations }: InventoryContext) =>
      refusalsAsUserErrors(() => reservations.confirm(id)),
    releaseReservation: (_: unknown, { id }: { id: string }, { reservations }: InventoryContext) =>
      refusalsAsUserErrors(() => reservations.release(id)),
    createTransfer: (_: unknown, { input }: { input: CreateTransferInput }, { transfers }: InventoryContext) =>
      refusalsAsUserErrors(() => transfers.create({
        ...input,
        lots: input.lots ?? null,
        serials: input.serials ?? null,
        expectedArrivalAt: input.expectedArrivalAt ?? null,
      })),
    receiveTransfer: (_: unknown, { input }: { input: ReceiveTransferInput }, { transfers }: InventoryContext) =>
      refusalsAsUserErrors(() => transfers.receive({ ...input, quantity: input.quantity ?? null, lots: input.lots ?? null, serials: input.serials ?? null })),
  },
  Transfer: {
    item: ({ sku }: TransferRecord, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    from: ({ sku, from }: TransferRecord) => ({ sku, ...from }),
    to: ({ sku, to }: TransferRecord) => ({ sku, ...to }),
    lots: ({ lots }: TransferRecord) => lots.filter((line) => line.lot !== ''),
  },
  TransferEnd: {
    location: ({ locationId }: { locationId: string }, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(locationId),
    stockLevel: (end: StockLevelKey, _: unknown, { loaders }: InventoryContext) => loaders.stockLevelByKey.load({ sku: end.sku, locationId: end.locationId }),
  },
  Reservation: {
    item: ({ sku }: ReservationRecord, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
  },
  ReservationLine: {
    location: ({ locationId }: { locationId: string }, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(locationId),
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
    stale: (level: StockLevelRecord, _: unknown, { settings }: InventoryContext) => isStale(level.wmsReportedAt, level.readAt, settings),
    lots: (level: StockLevelRecord) => lotHoldings(level.positions, level.readAt),
    bucketChanges: (level: StockLevelRecord) =>
      Object.entries(JSON.parse(level.bucketChangesJson) as Record<string, BucketStamp>)
        .map(([bucket, stamp]) => ({ bucket, ...stamp }))
        .sort((a, b) => (a.bucket < b.bucket ? -1 : 1)),
  },
  StockChange: {
    // Only the gateway knows where a change sits in the stream: it sets this on delivery.
    cursor: () => null,
    item: (change: StockChangeRecord, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(change.sku),
    location: (change: StockChangeRecord, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(change.locationId),
    stockLevel: (change: StockChangeRecord, _: unknown, { loaders }: InventoryContext) =>
      loaders.stockLevelByKey.load({ sku: change.sku, locationId: change.locationId }),
  },
  ItemAvailability: {
    item: ({ sku }: { sku: string }, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
  },
  LocationAvailability: {
    location: ({ locationId }: { locationId: string }, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(locationId),
  },
};

interface CreateReservationInput {
  readonly sku: string;
  readonly quantity: number;
  readonly locationId?: string | null;
  readonly channel: string;
  readonly reference: string;
  readonly ttlSeconds?: number | null;
  readonly idempotencyKey: string;
}

interface CreateTransferInput {
  readonly sku: string;
  readonly quantity: number;
  readonly from: { readonly locationId: string; readonly subinventory: string };
  readonly to: { readonly locationId: string; readonly subinventory: string };
  readonly lots?: readonly { readonly lot: string; readonly quantity: number }[] | null;
  readonly serials?: readonly string[] | null;
  readonly expectedArrivalAt?: Date | null;
  readonly idempotencyKey: string;
}

interface ReceiveTransferInput {
  readonly transferId: string;
  readonly quantity?: number | null;
  readonly lots?: readonly { readonly lot: string; readonly quantity: number }[] | null;
  readonly serials?: readonly string[] | null;
  readonly close: boolean;
}

/** Turns the inventory's refusals into GraphQL errors with their code and details; anything else stays unexpected. */
async function refusalsAsUserErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof InventoryError) throw new UserInputError(error.message, error.code, error.details);
    throw error;
  }
}

interface AvailabilityArgs {
  readonly skus: readonly string[];
  readonly locationIds?: readonly string[] | null;
  readonly channel?: string | null;
  readonly quantity: number;
}

/** Whether the WMS has been quiet at a level, as of `readAt`, for longer than the configured window. */
function isStale(wmsReportedAt: Date | null, readAt: Date, settings: InventorySettings): boolean {
  return !wmsReportedAt || readAt.getTime() - wmsReportedAt.getTime() > settings.staleAfterMs;
}

/**
 * Bulk availability: three SQL statements at most (known SKUs, locations, stock levels), whatever
 * the number of SKUs, and one more for the items' own fields when they are asked for.
 */
async function availability({ skus, locationIds, channel, quantity }: AvailabilityArgs, { repository, settings }: InventoryContext) {
  if (skus.length > MAX_AVAILABILITY_SKUS) {
    throw new UserInputError(`availability takes at most ${MAX_AVAILABILITY_SKUS} SKUs per request, got ${skus.length}`, InventoryErrorCode.TOO_MANY_SKUS);
  }
  if (!Number.isInteger(quantity) || quantity < 1) throw new UserInputError(`quantity must be a whole number of at least 1, got ${quantity}`);
  const wanted = [...new Set(skus)];
  const channelRule = channel ? settings.channelLocations.get(channel) : undefined;
  const eligible = channelRule && locationIds ? locationIds.filter((id) => channelRule.includes(id)) : (channelRule ?? locationIds ?? undefined);
  // The stock is read alongside the checks rather than after them: a request naming an unknown
  // SKU or location wastes one read, and every other request saves a round of waiting.
  const [knownSkus, locations, { readAt: asOf, levelsBySku }] = await Promise.all([
    repository.knownSkus(wanted),
    locationIds ? repository.locationsById(locationIds) : null,
    repository.promiseFigures(wanted, eligible),
  ]);
  const known = new Set(knownSkus);
  const unknownSkus = wanted.filter((sku) => !known.has(sku));
  if (unknownSkus.length) throw new UserInputError(`Unknown SKU: ${unknownSkus.join(', ')}`, InventoryErrorCode.UNKNOWN_SKU, { unknownSkus });
  const knownLocations = new Set(locations?.map((location) => location.id));
  const unknownLocations = locationIds?.filter((id) => !knownLocations.has(id)) ?? [];
  if (unknownLocations.length) {
    throw new UserInputError(`Unknown location: ${unknownLocations.join(', ')}`, InventoryErrorCode.UNKNOWN_LOCATION, { unknownLocations });
  }

  return {
    asOf,
    items: wanted.map((sku) => {
      const own = levelsBySku.get(sku) ?? [];
      const available = own.reduce((sum, level) => sum + level.available, 0);
      return {
        sku,
        available,
        inboundInTransit: own.reduce((sum, level) => sum + level.inboundInTransit, 0),
        earliestPromiseDate: earliestPromiseDate(quantity, available, own.flatMap((level) => level.inboundSupply), asOf),
        locations: own.map((level) => ({
          locationId: level.locationId,
          available: level.available,
          inboundInTransit: level.inboundInTransit,
          inboundExpectedAt: level.inboundExpectedAt,
          stale: isStale(level.wmsReportedAt, asOf, settings),
        })),
      };
    }),
  };
}

/** The changes with these ids, in the order asked; null for an id that names none. */
async function stockChanges(ids: readonly string[], repository: InventoryRepository): Promise<(StockChangeRecord | null)[]> {
  if (ids.length > MAX_STOCK_CHANGE_IDS) {
    throw new UserInputError(`At most ${MAX_STOCK_CHANGE_IDS} stock change ids per request, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
  }
  // Ids are outbox record numbers; anything else names no change.
  const numbers = ids.filter((id) => /^\d{1,18}$/.test(id)).map(BigInt);
  const byId = new Map((await repository.stockChangesById(numbers)).map((change) => [change.id.toString(), change]));
  return ids.map((id) => byId.get(id) ?? null);
}
