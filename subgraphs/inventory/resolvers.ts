import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, newestFirstConnection, pageSize } from '../../platform/graphql/pagination.ts';
import { indexBy } from '../../platform/graphql/batching.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import { grantsLocation, locationsWithinGrant, ungrantedLocations, type LocationGrant } from '../../platform/lang/locationGrant.ts';
import type {
  DeadLetter, InventoryRepository, Item, ItemFilter, Location, ReservationChangeRecord, StockChangeRecord, StockLevelKey, StockLevelRecord, StockPositionRecord,
} from './data/inventoryRepository.ts';
import { InventoryError, InventoryErrorCode } from './errors.ts';
import { earliestPromiseDate } from './domain/promiseDate.ts';
import { isLotExpired } from './domain/lotSelection.ts';
import { lotHoldings } from './domain/stockLevelSummary.ts';
import { leastFreshReports, restsOnStaleSources, sourceFreshness, type BucketStamps, type SourceReports } from './domain/stockProvenance.ts';
import type { StockCacheHints } from '../../platform/graphql/entityCacheHints.ts';
import { reportAvailabilityRead } from './cacheHints.ts';
import type { InventoryLoaders } from './loaders.ts';
import type { ReservationRecord, ReservationService } from './services/reservationService.ts';
import type { SafetyStockService } from './services/safetyStockService.ts';
import type { TransferRecord, TransferService } from './services/transferService.ts';
import { DeadLetterNotReplayableError, type WarehouseEventIngestion } from './services/warehouseEventIngestion.ts';

export interface InventoryContext {
  readonly loaders: InventoryLoaders;
  readonly repository: InventoryRepository;
  readonly ingestion: WarehouseEventIngestion;
  readonly reservations: ReservationService;
  readonly transfers: TransferService;
  readonly safetyStock: SafetyStockService;
  /** Call once a mutation has committed stock changes, so that they are published at once. */
  readonly afterCommit: () => void;
  readonly settings: InventorySettings;
  /**
   * The locations the caller may see and act on (CallerIdentity.locations; null for every one).
   * The loaders apply it to stock levels, the services to reservations and transfers, and the
   * resolvers below to locations, availability and what is not kept per location.
   */
  readonly grant: LocationGrant;
  /** Who the gateway says is calling, for `viewer`. */
  readonly caller: { readonly name: string; readonly scopes: readonly string[] };
  /** What the request read and changed of stock, for the gateway's entity cache (see cacheHints.ts). */
  readonly cacheHints: StockCacheHints;
}

/** The configuration the resolvers apply. */
export interface InventorySettings {
  /** A level whose WMS has been quiet this long is stale, in milliseconds. */
  readonly staleAfterMs: number;
  readonly channelLocations: ReadonlyMap<string, readonly string[]>;
}

const MAX_AVAILABILITY_SKUS = 1_000;
const MAX_EVENT_IDS = 1_000;

export const inventoryResolvers: GraphQLResolverMap<InventoryContext> = {
  DateTime: DateTimeScalar,
  Query: {
    viewer: async (_: unknown, __: unknown, { caller, grant, repository }: InventoryContext) => ({
      name: caller.name,
      scopes: [...caller.scopes].sort(),
      locations: grant === null ? null : await repository.allLocations(grant),
    }),
    item: (_: unknown, { sku }: { sku: string }, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    items: async (_: unknown, args: { filter?: ItemFilter | null; first: number; after?: string | null }, { loaders, repository }: InventoryContext) => {
      const first = pageSize(args.first);
      const rows = await repository.itemPage(args.filter ?? {}, first + 1, args.after ? decodeCursor(args.after) : undefined);
      for (const item of rows) loaders.itemBySku.prime(item.sku, item);
      return connectionOf(rows, first, (item) => encodeCursor(item.sku));
    },
    location: (_: unknown, { id }: { id: string }, { loaders, grant }: InventoryContext) => (grantsLocation(grant, id) ? loaders.locationById.load(id) : null),
    locations: async (_: unknown, __: unknown, { loaders, repository, grant }: InventoryContext) => {
      const locations = await repository.allLocations(grant);
      for (const location of locations) loaders.locationById.prime(location.id, location);
      return locations;
    },
    stockLevel: (_: unknown, key: StockLevelKey, { loaders }: InventoryContext) => loaders.stockLevelByKey.load(key),
    availability: (_: unknown, args: AvailabilityArgs, context: InventoryContext) => availability(args, context),
    deadLetters: (
      _: unknown,
      args: { source?: string | null; includeReplayed: boolean; first: number; after?: string | null },
      { repository, grant }: InventoryContext,
    ) => {
      refuseLocationRestricted(grant, 'deadLetters');
      return newestFirstConnection(args, (take, after) => repository.deadLetterPage(args, take, after), (letter) => letter.receivedAt);
    },
    reservation: (_: unknown, { id }: { id: string }, { loaders }: InventoryContext) => loaders.reservationById.load(id),
    transfer: async (_: unknown, { id }: { id: string }, { transfers, grant }: InventoryContext) => (await transfers.byIds([id], grant))[0] ?? null,
    stockChanges: (_: unknown, { ids }: { ids: string[] }, { repository }: InventoryContext) =>
      recordedEvents(ids, 'stock change', (numbers) => repository.stockChangesById(numbers)),
    reservationChanges: (_: unknown, { ids }: { ids: string[] }, { repository }: InventoryContext) =>
      recordedEvents(ids, 'reservation change', (numbers) => repository.reservationChangesById(numbers)),
  },
  Mutation: {
    replayDeadLetter: async (_: unknown, { id }: { id: string }, { ingestion, repository, afterCommit, grant }: InventoryContext) => {
      refuseLocationRestricted(grant, 'replayDeadLetter');
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
    createReservation: (_: unknown, { input }: { input: CreateReservationInput }, { reservations, grant, cacheHints }: InventoryContext) =>
      reportingReservationChanges(cacheHints, () => reservations.create({ ...input, locationId: input.locationId ?? null }, grant)),
    extendReservation: (_: unknown, { id, ttlSeconds }: { id: string; ttlSeconds: number }, { reservations, grant, cacheHints }: InventoryContext) =>
      reportingReservationChanges(cacheHints, () => reservations.extend(id, ttlSeconds, grant)),
    confirmReservation: (_: unknown, { id }: { id: string }, { reservations, grant, cacheHints }: InventoryContext) =>
      reportingReservationChanges(cacheHints, () => reservations.confirm(id, grant)),
    releaseReservation: (_: unknown, { id }: { id: string }, { reservations, grant, cacheHints }: InventoryContext) =>
      reportingReservationChanges(cacheHints, () => reservations.release(id, grant)),
    createTransfer: (_: unknown, { input }: { input: CreateTransferInput }, { transfers, grant, cacheHints }: InventoryContext) =>
      reportingTransferChanges(cacheHints, () => transfers.create({
        ...input,
        lots: input.lots ?? null,
        serials: input.serials ?? null,
        expectedArrivalAt: input.expectedArrivalAt ?? null,
      }, grant)),
    receiveTransfer: (_: unknown, { input }: { input: ReceiveTransferInput }, { transfers, grant, cacheHints }: InventoryContext) =>
      reportingTransferChanges(cacheHints, () => transfers.receive({ ...input, quantity: input.quantity ?? null, lots: input.lots ?? null, serials: input.serials ?? null }, grant)),
    setSafetyStock: async (_: unknown, { input }: { input: SafetyStockInput }, context: InventoryContext) => (await setSafetyStocks([input], context))[0],
    setSafetyStocks: (_: unknown, { input }: { input: { lines: SafetyStockInput[] } }, context: InventoryContext) => setSafetyStocks(input.lines, context),
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
  ReservationChange: {
    // Only the gateway knows where a change sits in the stream: it sets this on delivery.
    cursor: () => null,
    reservation: (change: ReservationChangeRecord, _: unknown, { loaders }: InventoryContext) => loaders.reservationById.load(change.reservationId),
    item: (change: ReservationChangeRecord, _: unknown, { loaders }: InventoryContext) => loaders.itemBySku.load(change.sku),
  },
  DeadLetter: {
    payload: (letter: DeadLetter) => letter.rawPayload ?? JSON.stringify(letter.payload),
  },
  Item: {
    __resolveReference: ({ sku }: { sku: string }, { loaders }: InventoryContext) => loaders.itemBySku.load(sku),
    stockLevels: async (item: Item, { locationIds }: { locationIds?: string[] | null }, { loaders, cacheHints }: InventoryContext) => {
      if (!locationIds) {
        cacheHints.readEveryLevelOf(item.sku);
        return loaders.stockLevelsBySku.load(item.sku);
      }
      // Only the levels asked for are read (a point lookup reads one of the SKU's twelve), by key,
      // which tags the answer with each of them, found or not.
      const keys = [...new Set(locationIds)].sort().map((locationId) => ({ sku: item.sku, locationId }));
      const levels = await Promise.all(keys.map((key) => loaders.stockLevelByKey.load(key)));
      return levels.filter((level) => level !== null);
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
    safetyStockOrigin: (level: StockLevelRecord) => (level.safetyStockExplicit ? 'SET' : 'DEFAULT'),
    stale: (level: StockLevelRecord, _: unknown, { settings }: InventoryContext) => restsOnStaleSources(level.sourceReports, level.readAt, settings.staleAfterMs),
    sources: (level: StockLevelRecord, _: unknown, { settings }: InventoryContext) => sourceFreshness(level.sourceReports, level.readAt, settings.staleAfterMs),
    lots: (level: StockLevelRecord) => lotHoldings(level.positions, level.readAt),
    positions: (level: StockLevelRecord) => [...level.positions].sort(inPositionOrder).map((position) => ({
      ...position,
      subinventory: { code: position.subinventory, nettable: position.nettable },
      lot: position.lot || null,
      expiresAt: position.lotExpiresAt,
      expired: isLotExpired(position.lotExpiresAt, level.readAt),
    })),
    bucketChanges: (level: StockLevelRecord) => bucketChangesOf(level.bucketChangesJson),
  },
  StockPosition: {
    bucketChanges: (position: StockPositionRecord) => bucketChangesOf(position.bucketChangesJson),
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
    sources: ({ locations, readAt }: ItemAvailabilityLine, _: unknown, { settings }: InventoryContext) =>
      sourceFreshness(leastFreshReports(locations.map((line) => line.sourceReports)), readAt, settings.staleAfterMs),
    stale: ({ locations, readAt }: ItemAvailabilityLine, _: unknown, { settings }: InventoryContext) =>
      locations.some((line) => restsOnStaleSources(line.sourceReports, readAt, settings.staleAfterMs)),
  },
  LocationAvailability: {
    location: ({ locationId }: { locationId: string }, _: unknown, { loaders }: InventoryContext) => loaders.locationById.load(locationId),
    sources: ({ sourceReports, readAt }: LocationAvailabilityLine, _: unknown, { settings }: InventoryContext) =>
      sourceFreshness(sourceReports, readAt, settings.staleAfterMs),
    stale: ({ sourceReports, readAt }: LocationAvailabilityLine, _: unknown, { settings }: InventoryContext) =>
      restsOnStaleSources(sourceReports, readAt, settings.staleAfterMs),
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

interface SafetyStockInput {
  readonly sku: string;
  readonly locationId: string;
  readonly quantity?: number | null;
}

interface ReceiveTransferInput {
  readonly transferId: string;
  readonly quantity?: number | null;
  readonly lots?: readonly { readonly lot: string; readonly quantity: number }[] | null;
  readonly serials?: readonly string[] | null;
  readonly close: boolean;
}

/** Dead letters are kept per WMS source, not per location: a caller granted only some locations may neither read nor replay them. */
function refuseLocationRestricted(grant: LocationGrant, field: string): void {
  if (grant !== null) {
    throw new UserInputError(`${field} is not kept per location, and this caller is granted only some locations`, CommonErrorCode.FORBIDDEN);
  }
}

/** Turns the inventory's refusals into GraphQL errors with their code and details; anything else stays unexpected. */
async function refusalsAsUserErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof InventoryError) throw toUserError(error);
    throw error;
  }
}

const toUserError = (error: InventoryError) => new UserInputError(error.message, error.code, error.details);

// A mutation that fails reports nothing: the gateway then forgets every answer it kept (see INVALIDATES_HEADER).

/** Runs a reservation's change; reports the levels it holds stock at (for a release or confirmation: held) as changed. */
async function reportingReservationChanges(hints: StockCacheHints, change: () => Promise<ReservationRecord>): Promise<ReservationRecord> {
  const reservation = await refusalsAsUserErrors(change);
  for (const line of reservation.lines) hints.changedStockLevel(reservation.sku, line.locationId);
  hints.changesComplete();
  return reservation;
}

/** Runs a transfer's shipment or receipt; reports both its ends' levels as changed. */
async function reportingTransferChanges(hints: StockCacheHints, change: () => Promise<TransferRecord>): Promise<TransferRecord> {
  const transfer = await refusalsAsUserErrors(change);
  for (const end of [transfer.from, transfer.to]) hints.changedStockLevel(transfer.sku, end.locationId);
  hints.changesComplete();
  return transfer;
}

interface AvailabilityArgs {
  readonly skus: readonly string[];
  readonly locationIds?: readonly string[] | null;
  readonly channel?: string | null;
  readonly quantity: number;
}

/** The last change of each bucket (BucketStamps as JSON text) as BucketChange entries, in bucket order. */
function bucketChangesOf(stampsJson: string) {
  return Object.entries(JSON.parse(stampsJson) as BucketStamps)
    .map(([bucket, stamp]) => ({ bucket, ...stamp }))
    .sort((a, b) => (a.bucket < b.bucket ? -1 : 1));
}

/** Positions in subinventory code order, then lot order. */
function inPositionOrder(a: StockPositionRecord, b: StockPositionRecord): number {
  if (a.subinventory !== b.subinventory) return a.subinventory < b.subinventory ? -1 : 1;
  return a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0;
}

/** One location's line of an availability answer; its sources and staleness are worked out only when asked for. */
interface LocationAvailabilityLine {
  readonly locationId: string;
  readonly available: number;
  readonly inboundInTransit: number;
  readonly inboundExpectedAt: Date | null;
  readonly sourceReports: SourceReports;
  /** The answer's asOf. */
  readonly readAt: Date;
}

/** One SKU's line of an availability answer. */
interface ItemAvailabilityLine {
  readonly sku: string;
  readonly available: number;
  readonly inboundInTransit: number;
  readonly earliestPromiseDate: Date | null;
  readonly locations: readonly LocationAvailabilityLine[];
  readonly readAt: Date;
}

/**
 * Bulk availability: three SQL statements at most (known SKUs, locations, stock levels), whatever
 * the number of SKUs, and one more for the items' own fields when they are asked for. Only the
 * locations the caller is granted are considered, in the lines and in the sums; naming another
 * is FORBIDDEN (before whether it exists is checked, so that nothing is learnt of it).
 */
async function availability({ skus, locationIds, channel, quantity }: AvailabilityArgs, { repository, settings, grant, cacheHints }: InventoryContext) {
  if (skus.length > MAX_AVAILABILITY_SKUS) {
    throw new UserInputError(`availability takes at most ${MAX_AVAILABILITY_SKUS} SKUs per request, got ${skus.length}`, InventoryErrorCode.TOO_MANY_SKUS);
  }
  if (!Number.isInteger(quantity) || quantity < 1) throw new UserInputError(`quantity must be a whole number of at least 1, got ${quantity}`);
  const outside = ungrantedLocations(grant, locationIds ?? []);
  if (outside.length) throw toUserError(InventoryError.notGranted(outside));
  const wanted = [...new Set(skus)];
  const channelRule = channel ? settings.channelLocations.get(channel) : undefined;
  // Those asked for (or every one) that the caller is granted, then those of them the channel may use.
  const considered = locationsWithinGrant(grant, locationIds);
  const eligible = channelRule ? (considered ?? channelRule).filter((id) => channelRule.includes(id)) : (considered ?? undefined);
  // The stock is read alongside the checks rather than after them: a request naming an unknown
  // SKU or location wastes one read, and every other request saves a round of waiting.
  const [knownSkus, locations, snapshot] = await Promise.all([
    repository.knownSkus(wanted),
    locationIds ? repository.locationsById(locationIds) : null,
    repository.promiseFigures(wanted, eligible),
  ]);
  const { readAt: asOf, levelsBySku } = snapshot;
  reportAvailabilityRead(cacheHints, wanted, eligible, snapshot, settings.staleAfterMs);
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
    items: wanted.map((sku): ItemAvailabilityLine => {
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
          sourceReports: level.sourceReports,
          readAt: asOf,
        })),
        readAt: asOf,
      };
    }),
  };
}

/** Sets the lines' safety stocks, then answers their levels as they are now, in the order of the lines. */
async function setSafetyStocks(input: readonly SafetyStockInput[], { safetyStock, repository, grant, cacheHints }: InventoryContext): Promise<StockLevelRecord[]> {
  const lines = input.map(({ sku, locationId, quantity }) => ({ sku, locationId, quantity: quantity ?? null }));
  await refusalsAsUserErrors(() => safetyStock.set(lines, grant));
  for (const line of lines) cacheHints.changedStockLevel(line.sku, line.locationId);
  cacheHints.changesComplete();
  if (lines.length === 0) return [];
  const key = (level: StockLevelKey) => JSON.stringify([level.sku, level.locationId]);
  const levels = indexBy(lines.map(key), await repository.stockLevelsByKey(lines), key);
  // Every line's level exists once the lines are set: they are created when missing.
  return levels.map((level) => level!);
}

/** The recorded events (`what`: stock changes, reservation changes) with these ids, in the order asked; null for an id that names none. */
async function recordedEvents<Event extends { readonly id: string }>(
  ids: readonly string[],
  what: string,
  read: (numbers: bigint[]) => Promise<Event[]>,
): Promise<(Event | null)[]> {
  if (ids.length > MAX_EVENT_IDS) {
    throw new UserInputError(`At most ${MAX_EVENT_IDS} ${what} ids per request, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
  }
  // Ids are outbox record numbers; anything else names no change.
  const byId = new Map((await read(ids.filter((id) => /^\d{1,18}$/.test(id)).map(BigInt))).map((event) => [event.id, event]));
  return ids.map((id) => byId.get(id) ?? null);
}
