import { fewKeys, type Database, type PrismaClient } from '../../../platform/database/database.ts';
import { reservationChanged, stockLevelChanged, type EventContract, type PayloadOf } from '../../../platform/contracts/events.ts';
import type { DeadLetter, Item, Location, Subinventory } from '../../../platform/database/generated/client.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { InboundSupply } from '../domain/promiseDate.ts';
import { INVENTORY_PRODUCER } from './inventoryOutbox.ts';
import { inboundSupply, nextLotExpiry, summarizeStockLevel, type PositionState, type StockLevelBuckets } from '../domain/stockLevelSummary.ts';
import type { SourceReports } from '../domain/stockProvenance.ts';

export type { DeadLetter, Item, Location, Subinventory };

/** What can be promised at one item x location, and when more arrives (see LocationAvailability in schema.graphql). */
export interface PromiseFigures {
  readonly sku: string;
  readonly locationId: string;
  readonly available: number;
  readonly inboundInTransit: number;
  readonly inboundExpectedAt: Date | null;
  readonly inboundSupply: readonly InboundSupply[];
  /** When the WMS last changed any of its positions; null if never. */
  readonly wmsReportedAt: Date | null;
  /** The sources its figures rest on, each with its last report here. */
  readonly sourceReports: SourceReports;
  /** Until when, at the latest, the figures hold by the clock (the next expiry of a lot they count); null: for ever. */
  readonly holdsUntil: Date | null;
}

/** The promise figures of some SKUs, all from one snapshot. */
export interface PromiseFiguresSnapshot {
  /** When the database took the snapshot (the service's clock when no SKU has a stock level). */
  readonly readAt: Date;
  /** The levels of each SKU that has any, in location order (by code point, as JavaScript compares strings). */
  readonly levelsBySku: ReadonlyMap<string, readonly PromiseFigures[]>;
}

/** One item x location, summed from its positions by the domain's rules (see StockLevel in schema.graphql). */
export interface StockLevelFigures extends StockLevelBuckets {
  readonly sku: string;
  readonly locationId: string;
  readonly wmsReportedAt: Date | null;
  readonly positions: readonly PositionState[];
  readonly readAt: Date;
}

/** A position of a stock level, with who changed each of its buckets. */
export interface StockPositionRecord extends PositionState {
  /** Per bucket, its last change as JSON text (BucketStamps): parsed only when asked for. */
  readonly bucketChangesJson: string;
}

/** A stock level with when anything last changed it, who changed each bucket, and the sources it rests on. */
export interface StockLevelRecord extends StockLevelFigures {
  /** Whether its safety stock was set for it, rather than its configured default. */
  readonly safetyStockExplicit: boolean;
  readonly positions: readonly StockPositionRecord[];
  /** When the newest change to any of its positions or settings was recorded. */
  readonly asOf: Date;
  /** When the ERP last changed any of its positions; null if never. */
  readonly erpReportedAt: Date | null;
  /** Per bucket, its last change as JSON text (BucketStamps): parsed only when asked for. */
  readonly bucketChangesJson: string;
  /** The sources its figures rest on, each with its last report here. */
  readonly sourceReports: SourceReports;
}

/**
 * One position of a stock level as the query returns it, after the level's own columns, in the
 * query's column order; a level without positions comes as one row whose position columns are
 * null, and the columns of a StockLevelRecord alone are null when only promise figures are read.
 * Instants are epoch seconds (float8): the driver reads a number far faster than it parses a
 * timestamp's text.
 */
type PositionRow = [
  sku: string, locationId: string, safetyStock: number, readAt: number, safetyStockExplicit: boolean | null,
  bucketChanges: string | null, levelUpdatedAt: number | null, erpUpdatedAt: number | null, updatedAt: number | null,
  sourceReports: string | null, positionBucketChanges: string | null,
  subinventory: string | null, lot: string, nettable: boolean, lotExpiresAt: number | null,
  onHandWms: number, onHandErp: number, allocated: number, reserved: number,
  inboundInTransit: number, inboundExpectedAt: number | null, qualityHold: number, wmsUpdatedAt: number | null,
];

/**
 * A SKU as the promise-figures read returns it: the snapshot's time, its levels' location ids and
 * their figures, both as the text of JSON arrays in the same order.
 */
type PromiseRow = [sku: string, readAt: number, locationIdsJson: string, levelsJson: string, storedFiguresHoldUntil: number | null];

/**
 * One level: its stored figures (the promise_figures_json column) while they hold; otherwise
 * its safety stock, its source reports and its positions (the columns of a PositionRow from
 * `subinventory` on; null when it has none) to sum instead.
 */
type PromiseFiguresJson =
  | [available: number, inboundInTransit: number, inboundExpectedAt: number | null, wmsReportedAt: number | null,
     inboundSupply: { quantity: number; expectedAt: string }[] | null, sourceReports: SourceReports]
  | { safetyStock: number; sourceReports: SourceReports; positions: PositionColumns[] | null };
type PositionColumns = PositionRow extends [...LevelColumns, ...infer Rest] ? Rest : never;
type LevelColumns = [string, string, number, number, boolean | null, string | null, number | null, number | null, number | null, string | null, string | null];

// The columns of a PositionRow from `subinventory` on, and the joins they need.
const POSITION_COLUMNS = `p.subinventory, p.lot, s.nettable, date_part('epoch', lot.expires_at),
              p.on_hand_wms, p.on_hand_erp, p.allocated, p.reserved,
              p.inbound_in_transit, date_part('epoch', p.inbound_expected_at), p.quality_hold, date_part('epoch', p.wms_updated_at)`;
const POSITION_DETAILS = `LEFT JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
         LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot`;
const READ_AT = `date_part('epoch', date_trunc('milliseconds', statement_timestamp()))`;

/** A recorded stock change: its `inventory.stockLevel.changed` payload, and its outbox id. */
export type StockChangeRecord = PayloadOf<typeof stockLevelChanged> & { readonly id: string };

/** A recorded reservation change: its `inventory.reservation.changed` payload, and its outbox id. */
export type ReservationChangeRecord = PayloadOf<typeof reservationChanged> & { readonly id: string };

/** See ItemFilter in schema.graphql. */
export interface ItemFilter {
  readonly skuPrefix?: string | null;
  readonly descriptionContains?: string | null;
  readonly lotControlled?: boolean | null;
  readonly serialControlled?: boolean | null;
}

export interface StockLevelKey {
  readonly sku: string;
  readonly locationId: string;
}

/** Read access to the inventory tables. Every method is one SQL statement, whatever its input size. */
export class InventoryRepository {
  private readonly prisma: PrismaClient;

  constructor(private readonly db: Database) {
    this.prisma = db.prisma;
  }

  /** Those of `skus` that name an item: for checks, without Prisma's cost of decoding whole rows. */
  async knownSkus(skus: readonly string[]): Promise<string[]> {
    return (await this.db.queryTuples<[string]>('SELECT sku FROM item WHERE sku = ANY($1::text[])', [skus], fewKeys(skus))).map(([sku]) => sku);
  }

  /**
   * The items of `skus`, as every point lookup and entity reference reads them: through the
   * driver, since Prisma's building and decoding of this one-row read cost the service more
   * than the stock level read beside it.
   */
  async itemsBySku(skus: readonly string[]): Promise<Item[]> {
    const rows = await this.db.queryTuples<[string, string, string, boolean, boolean, string | null, Date]>(
      'SELECT sku, description, unit_of_measure, lot_controlled, serial_controlled, item_class, created_at FROM item WHERE sku = ANY($1::text[])',
      [skus],
      fewKeys(skus),
    );
    return rows.map(([sku, description, unitOfMeasure, lotControlled, serialControlled, itemClass, createdAt]) => ({
      sku, description, unitOfMeasure, lotControlled, serialControlled, itemClass, createdAt,
    }));
  }

  /** Up to `take` items matching `filter` after `afterSku`, in SKU order. */
  itemPage(filter: ItemFilter, take: number, afterSku: string | undefined): Promise<Item[]> {
    return this.prisma.item.findMany({
      where: {
        sku: { ...(afterSku === undefined ? {} : { gt: afterSku }), ...(filter.skuPrefix ? { startsWith: filter.skuPrefix } : {}) },
        ...(filter.descriptionContains ? { description: { contains: filter.descriptionContains, mode: 'insensitive' as const } } : {}),
        ...(typeof filter.lotControlled === 'boolean' ? { lotControlled: filter.lotControlled } : {}),
        ...(typeof filter.serialControlled === 'boolean' ? { serialControlled: filter.serialControlled } : {}),
      },
      orderBy: { sku: 'asc' },
      take,
    });
  }

  locationsById(ids: readonly string[]): Promise<Location[]> {
    return this.prisma.location.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Every location the grant covers, in id order. */
  allLocations(grant: LocationGrant): Promise<Location[]> {
    return this.prisma.location.findMany({ where: grant === null ? {} : { id: { in: [...grant] } }, orderBy: { id: 'asc' } });
  }

  subinventoriesByLocation(locationIds: readonly string[]): Promise<Subinventory[]> {
    return this.prisma.subinventory.findMany({
      where: { locationId: { in: [...locationIds] } },
      orderBy: [{ locationId: 'asc' }, { code: 'asc' }],
    });
  }

  /** Recorded stock changes (their outbox records) by id, in no particular order. */
  stockChangesById(ids: readonly bigint[]): Promise<StockChangeRecord[]> {
    return this.recordedEventsById(stockLevelChanged, ids);
  }

  /** Recorded reservation changes (their outbox records) by id, in no particular order. */
  reservationChangesById(ids: readonly bigint[]): Promise<ReservationChangeRecord[]> {
    return this.recordedEventsById(reservationChanged, ids);
  }

  private async recordedEventsById<Payload>(contract: EventContract<Payload>, ids: readonly bigint[]): Promise<(Payload & { readonly id: string })[]> {
    const rows = await this.db.queryTuples<[string, Payload]>(
      'SELECT id::text, payload FROM event_outbox WHERE id = ANY($1::bigint[]) AND producer = $2 AND type = $3',
      [ids.map(String), INVENTORY_PRODUCER, contract.type],
    );
    return rows.map(([id, payload]) => ({ ...payload, id }));
  }

  deadLettersById(ids: readonly string[]): Promise<DeadLetter[]> {
    return this.prisma.deadLetter.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Up to `take` dead letters after `after`, newest first. */
  deadLetterPage(filter: { source?: string | null; includeReplayed: boolean }, take: number, after: NewestFirstPosition | undefined): Promise<DeadLetter[]> {
    return this.prisma.deadLetter.findMany({
      where: {
        ...(filter.source ? { source: filter.source } : {}),
        ...(filter.includeReplayed ? {} : { replayedAt: null }),
        ...newestFirstAfter('receivedAt', after),
      },
      orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** The stock levels of `skus` at the locations the grant covers. */
  stockLevelsBySku(skus: readonly string[], grant: LocationGrant): Promise<StockLevelRecord[]> {
    if (grant === null) return this.stockLevels('level.sku = ANY($1::text[])', [skus]);
    return this.stockLevels('level.sku = ANY($1::text[]) AND level.location_id = ANY($2::text[])', [skus, grant]);
  }

  stockLevelsByKey(keys: readonly StockLevelKey[]): Promise<StockLevelRecord[]> {
    return this.stockLevels('(level.sku, level.location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
      keys.map((key) => key.sku),
      keys.map((key) => key.locationId),
    ]);
  }

  /**
   * The promise figures of `skus`, at `locationIds` only when given. One statement, so that all
   * come from one snapshot: a level's figures as the ledger stored them while they hold, else
   * summed from its positions. Bulk availability reads up to 12,000 levels this way; a stored
   * level is a quarter of the values of its positions with their subinventories and lots, and
   * needs no summing. Each SKU comes as one row holding its levels' figures as JSON text (the
   * generated promise_figures_json): the driver decoding 12,000 rows of separate columns, or the
   * database building their JSON at each read, cost more than the rest of the read.
   */
  async promiseFigures(skus: readonly string[], locationIds?: readonly string[]): Promise<PromiseFiguresSnapshot> {
    const where = locationIds ? 'level.sku = ANY($1::text[]) AND level.location_id = ANY($2::text[])' : 'level.sku = ANY($1::text[])';
    // A level's positions are read (a subquery per level) only when its figures do not hold.
    const rows = await this.db.queryTuples<PromiseRow>(
      `SELECT level.sku, ${READ_AT}, json_agg(level.location_id)::text,
              '[' || string_agg(CASE WHEN level.figures_valid_until > statement_timestamp() THEN level.promise_figures_json
                ELSE json_build_object('safetyStock', level.safety_stock, 'sourceReports', level.source_reports, 'positions', (
                  SELECT json_agg(json_build_array(${POSITION_COLUMNS}))
                    FROM stock_position p
                    ${POSITION_DETAILS}
                   WHERE p.sku = level.sku AND p.location_id = level.location_id))::text END, ',') || ']',
              date_part('epoch', min(level.figures_valid_until) FILTER (WHERE level.figures_valid_until > statement_timestamp()))
         FROM stock_level level
        WHERE ${where}
        GROUP BY level.sku`,
      locationIds ? [skus, locationIds] : [skus],
      fewKeys(skus),
    );
    const readAt = rows[0] ? instant(rows[0][1]) : new Date();
    // Aggregates of one group see its rows in the same order, so the two arrays line up.
    const levelsBySku = new Map(rows.map(([sku, , locationIdsJson, levelsJson, storedFiguresHoldUntil]) => {
      const locations = JSON.parse(locationIdsJson) as string[];
      // The earliest among the SKU's stored figures ('infinity' for those no lot expiry ends): for each of them, no later than its own.
      const storedHoldUntil = storedFiguresHoldUntil !== null && Number.isFinite(storedFiguresHoldUntil) ? instant(storedFiguresHoldUntil) : null;
      const levels = (JSON.parse(levelsJson) as PromiseFiguresJson[]).map((level, i) => toPromiseFigures(sku, locations[i]!, level, readAt, storedHoldUntil));
      return [sku, inLocationOrder(levels)] as const;
    }));
    return { readAt, levelsBySku };
  }

  // One statement, so every level of an answer comes from the same snapshot (`readAt`). It goes
  // through the driver: Prisma's row decoding of thousands of rows cost three times the query
  // itself. Flat rows joined to their level by the hash join cost the database a third of
  // packing positions as JSON per level (no aggregate, no timestamp text); levels are put in key
  // order here rather than by a sort in the database. `$1` is always the SKUs: repeated on the
  // positions, it lets the planner fetch them by index instead of scanning the table for a hash
  // join. Subinventories and lots are joined to the positions' rows (outer joins: a position
  // always has its subinventory) rather than to the positions table: joined to the table, for a
  // few hundred SKUs the planner looked positions up once per subinventory (48 index scans of
  // the whole list), and 500 SKUs took longer than 1,000.
  private async stockLevels(where: string, params: SkuParams): Promise<StockLevelRecord[]> {
    const rows = await this.db.queryTuples<PositionRow>(
      `SELECT level.sku, level.location_id, level.safety_stock, ${READ_AT}, level.safety_stock_explicit,
              level.bucket_changes::text, date_part('epoch', level.updated_at), date_part('epoch', p.erp_updated_at), date_part('epoch', p.updated_at),
              level.source_reports::text, p.bucket_changes::text, ${POSITION_COLUMNS}
         FROM stock_level level
         LEFT JOIN stock_position p ON p.sku = level.sku AND p.location_id = level.location_id AND p.sku = ANY($1::text[])
         ${POSITION_DETAILS}
        WHERE ${where}`,
      params,
      fewKeys(params[0]),
    );
    if (!rows[0]) return [];
    const readAt = instant(rows[0][3]);
    return rowsByLevelInKeyOrder(rows).map((levelRows) => toStockLevelRecord(levelRows, readAt));
  }
}

type SkuParams = [skus: readonly string[], ...rest: unknown[]];

/**
 * The rows of each level, levels in (sku, location) order. Rows are grouped by SKU, then
 * location: one map keyed by both would build a key string for every row, which cost more than
 * the rest of building the levels.
 */
function rowsByLevelInKeyOrder(rows: readonly PositionRow[]): PositionRow[][] {
  const bySku = new Map<string, Map<string, PositionRow[]>>();
  for (const row of rows) {
    const [sku, locationId] = row;
    let atLocations = bySku.get(sku);
    if (!atLocations) bySku.set(sku, (atLocations = new Map()));
    const level = atLocations.get(locationId);
    if (level) level.push(row);
    else atLocations.set(locationId, [row]);
  }
  const ordered: PositionRow[][] = [];
  for (const sku of [...bySku.keys()].sort()) {
    const atLocations = bySku.get(sku)!;
    for (const locationId of [...atLocations.keys()].sort()) ordered.push(atLocations.get(locationId)!);
  }
  return ordered;
}

/** `rows` are one level's (at least one; a lone row without a subinventory means no positions). */
function toStockFigures(rows: readonly PositionRow[], readAt: Date): StockLevelFigures {
  const [[sku, locationId, safetyStock]] = rows as [PositionRow];
  const positions: PositionState[] = [];
  let wmsSeconds: number | null = null;
  for (const row of rows) {
    const [, , , , , , , , , , , subinventory, lot, nettable, lotExpiresAt, onHandWms, onHandErp, allocated, reserved,
      inboundInTransit, inboundExpectedAt, qualityHold, wmsUpdatedAt] = row;
    if (subinventory === null) continue;
    positions.push({
      subinventory, lot, nettable, lotExpiresAt: optionalInstant(lotExpiresAt), onHandWms, onHandErp, allocated, reserved,
      inboundInTransit, inboundExpectedAt: optionalInstant(inboundExpectedAt), qualityHold,
    });
    wmsSeconds = latest(wmsSeconds, wmsUpdatedAt);
  }
  return { sku, locationId, ...summarizeStockLevel(positions, safetyStock, readAt), wmsReportedAt: optionalInstant(wmsSeconds), positions, readAt };
}

/**
 * `levels` of one SKU in location order, by code point. The database aggregates them in the
 * order it reads them, along its index, unless a plan reads them otherwise.
 */
function inLocationOrder(levels: PromiseFigures[]): PromiseFigures[] {
  const sorted = levels.every((level, i) => i === 0 || levels[i - 1]!.locationId < level.locationId);
  return sorted ? levels : levels.sort((a, b) => (a.locationId < b.locationId ? -1 : 1));
}

function toPromiseFigures(sku: string, locationId: string, level: PromiseFiguresJson, readAt: Date, storedHoldUntil: Date | null): PromiseFigures {
  if (Array.isArray(level)) {
    const [available, inboundInTransit, inboundExpectedAt, wmsReportedAt, supply, sourceReports] = level;
    return {
      sku, locationId, available, inboundInTransit, inboundExpectedAt: optionalInstant(inboundExpectedAt),
      inboundSupply: supply?.map(({ quantity, expectedAt }) => ({ quantity, expectedAt: new Date(expectedAt) })) ?? [],
      wmsReportedAt: optionalInstant(wmsReportedAt),
      sourceReports,
      holdsUntil: storedHoldUntil,
    };
  }
  const { safetyStock, sourceReports, positions } = level;
  const levelColumns: LevelColumns = [sku, locationId, safetyStock, readAt.getTime() / 1_000, null, null, null, null, null, null, null];
  const rows = positions?.map((position): PositionRow => [...levelColumns, ...position]) ?? [[...levelColumns, ...NO_POSITION]];
  const summed = toStockFigures(rows, readAt);
  return {
    sku, locationId, available: summed.available, inboundInTransit: summed.inboundInTransit, inboundExpectedAt: summed.inboundExpectedAt,
    inboundSupply: inboundSupply(summed.positions), wmsReportedAt: summed.wmsReportedAt, sourceReports,
    holdsUntil: nextLotExpiry(summed.positions, readAt),
  };
}

// The position columns of a level without positions (see toStockFigures).
const NO_POSITION: PositionColumns = [null, '', false, null, 0, 0, 0, 0, 0, null, 0, null];

function toStockLevelRecord(rows: readonly PositionRow[], readAt: Date): StockLevelRecord {
  const [[, , , , safetyStockExplicit, bucketChanges, levelUpdatedAt, , , sourceReports]] = rows as [PositionRow];
  let asOfSeconds = levelUpdatedAt!;
  let erpSeconds: number | null = null;
  const positionStamps: string[] = [];
  for (const [, , , , , , , erpUpdatedAt, updatedAt, , positionBucketChanges, subinventory] of rows) {
    if (subinventory === null) continue;
    asOfSeconds = Math.max(asOfSeconds, updatedAt!);
    erpSeconds = latest(erpSeconds, erpUpdatedAt);
    positionStamps.push(positionBucketChanges!);
  }
  const figures = toStockFigures(rows, readAt);
  return {
    ...figures,
    // toStockFigures keeps the rows' order, leaving out the same lone row without a position.
    positions: figures.positions.map((position, i) => ({ ...position, bucketChangesJson: positionStamps[i]! })),
    safetyStockExplicit: safetyStockExplicit!,
    asOf: instant(asOfSeconds),
    erpReportedAt: optionalInstant(erpSeconds),
    bucketChangesJson: bucketChanges!,
    sourceReports: JSON.parse(sourceReports!) as SourceReports,
  };
}

const latest = (newest: number | null, seconds: number | null) => (seconds !== null && (newest === null || seconds > newest) ? seconds : newest);

/** Epoch seconds as the database gives them (timestamptz(3), so whole milliseconds) as a Date. */
function instant(epochSeconds: number): Date {
  return new Date(Math.round(epochSeconds * 1_000));
}

function optionalInstant(epochSeconds: number | null): Date | null {
  return epochSeconds === null ? null : instant(epochSeconds);
}
