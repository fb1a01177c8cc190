import type { INVENTORY_TRANSACTION_KINDS, STOCK_CHANGE_CAUSE_TYPES } from '../../../platform/contracts/events.ts';
import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { outboxInsert, type OutboxRecord } from '../../../platform/events/outbox.ts';
import { applyBucketEffects, positionKey, type LedgerEffect, type OnHandChange } from '../domain/applyBucketEffects.ts';
import type { InboundSupply } from '../domain/promiseDate.ts';
import { isWithinStockRange, QUANTITY_OUT_OF_RANGE, STOCK_RANGE_DESCRIPTION } from '../domain/quantityRange.ts';
import { figureBeyondStockRange, inboundSupply, nextLotExpiry, summarizeStockLevel, type PositionState, type StockLevelBuckets } from '../domain/stockLevelSummary.ts';
import { changedPositionBuckets, recordSourceReport, stampBuckets, type BucketStamps, type SourceReports } from '../domain/stockProvenance.ts';
import { INVENTORY_PRODUCER, stockChangeRecord, transactionRecord, type StockChangeCause } from './inventoryOutbox.ts';
import { defaultSafetyStockOf } from './safetyStockStore.ts';

/** What made a stock level change; travels with its stock-change event. */
export type StockChangeCauseType = (typeof STOCK_CHANGE_CAUSE_TYPES)[number];

export type InventoryTransactionKind = (typeof INVENTORY_TRANSACTION_KINDS)[number];

/**
 * The inventory transaction a change is, as the ERP is told of it (`inventory.transaction.recorded`).
 * The ledger adds the rest: the item's unit of measure, and what the change did to on hand.
 */
export interface TransactionDescription {
  readonly kind: InventoryTransactionKind;
  /**
   * `<cause type>:<cause id>` of the change, and what tells apart the transactions of one cause
   * (`TRANSFER:<id>:SHIP`, `/<sku>` for each item of a snapshot): the same on every delivery.
   */
  readonly transactionId: string;
  /** The movement's quantity as stated, unsigned (a count's counted units). */
  readonly quantity: number;
  /** Where the units come from when no line tells it (a pick); the first line's subinventory when not given. */
  readonly subinventory?: string;
  /** Where a transfer takes the units at its other end. */
  readonly transferSubinventory?: string;
  /** The other location of a transfer between locations. */
  readonly counterpartLocationId?: string;
  readonly serials?: readonly string[];
  /** When it happened in the warehouse; when the ledger applies it if not given. */
  readonly occurredAt?: Date;
}

/** One change to the positions of one item x location, applied all or nothing. */
export interface StockChange {
  readonly sku: string;
  readonly locationId: string;
  readonly cause: StockChangeCause;
  /**
   * Who reported the change; stamped, with the time, on every bucket it changes (of the level and
   * of each position), and recorded among the level's source reports unless it changes ERP on
   * hand alone.
   */
  readonly source: string;
  readonly effects: readonly LedgerEffect[];
  /**
   * Where the change stands among its source's changes. A count covers its source's older
   * changes to the WMS on hand of what it counted: such an effect of a change that arrives after
   * the count, with a sequence at or below the count's, is superseded (the count includes it)
   * rather than applied, while the change's other effects apply.
   */
  readonly order?: ChangeOrder;
  /**
   * The inventory transaction the change is. Once applied, it is recorded in the same write as
   * the change, if it changed some position's WMS on hand (by what it really changed: a count its
   * delta, a superseded effect nothing) or is a pick. A change without effects changes no level
   * and only records its transaction (a pick its order's allocation holds already).
   */
  readonly transaction?: TransactionDescription;
}

/** A level's safety stock: the units it keeps back, and whether they were set for it or are its configured default. */
export interface SafetyStockSetting {
  readonly quantity: number;
  /** False: the default of the level's location and item class (safety_stock_default), which it follows. */
  readonly explicit: boolean;
}

/** A new safety stock for one item x location (see StockLedger.setSafetyStock). */
export interface SafetyStockChange extends Pick<StockChange, 'sku' | 'locationId' | 'cause' | 'source'>, SafetyStockSetting {}

export interface ChangeOrder {
  /** The source's sequence number of the change. */
  readonly sequence: number;
  /**
   * Set when the change is a count: of the positions its `set` effects name (a cycle count), or
   * of every position of the item at the location, named or not (a location snapshot).
   */
  readonly counts?: 'positions' | 'level';
}

/** The newest count of a source applied to a position. */
interface Count {
  readonly source: string;
  readonly sequence: bigint;
}

const NO_COUNTS: ReadonlyMap<string, Count> = new Map();

export type AppliedChange = { readonly status: 'APPLIED'; readonly sequence: number; readonly before: StockLevelBuckets; readonly after: StockLevelBuckets };

export type RejectedChange = { readonly status: 'REJECTED'; readonly code: string; readonly reason: string };

export type ChangeOutcome = AppliedChange | { readonly status: 'SUPERSEDED' } | RejectedChange;

interface LevelRow {
  sku: string;
  locationId: string;
  safetyStock: number;
  safetyStockExplicit: boolean;
  sequence: bigint;
  bucketChanges: BucketStamps;
  sourceReports: SourceReports;
  lastSnapshotSource: string | null;
  lastSnapshotSequence: bigint | null;
  /** When the WMS last changed any of its positions, as read under the lock. */
  wmsReportedAt: Date | null;
}

interface PositionRow extends PositionState {
  sku: string;
  locationId: string;
  nettable: boolean;
  unitOfMeasure: null;
  wmsUpdatedAt: Date | null;
  lastCountSource: string | null;
  lastCountSequence: bigint | null;
  bucketChanges: BucketStamps;
}

interface SubinventoryRow {
  sku: null;
  locationId: string;
  subinventory: string;
  nettable: boolean;
}

interface LotRow {
  sku: string;
  locationId: null;
  lot: string;
  lotExpiresAt: Date | null;
}

interface ItemRow {
  sku: string;
  locationId: null;
  lot: null;
  unitOfMeasure: string;
}

const keyOf = (sku: string, locationId: string) => `${sku}\u0000${locationId}`;

export interface StockLevelKey {
  readonly sku: string;
  readonly locationId: string;
}

/**
 * Applies stock changes inside the caller's transaction with a fixed number of SQL statements
 * per call, whatever the number of changes. Every item and location must exist (the caller
 * checks the catalogue first). Changes to the same item x location apply in the order given;
 * a rejected change leaves no trace.
 */
export async function applyStockChanges(
  tx: Prisma.TransactionClient,
  changes: readonly StockChange[],
  now = new Date(),
): Promise<ChangeOutcome[]> {
  if (changes.length === 0) return [];
  const ledger = await StockLedger.open(tx, changes, now);
  const outcomes = changes.map((change) => ledger.apply(change));
  await ledger.write();
  return outcomes;
}

/**
 * The stock levels of a set of item x locations, locked for the caller's transaction: open()
 * locks them (in key order, so that concurrent callers cannot deadlock) and reads their
 * positions; changes are then applied in memory, where callers may read the levels as they
 * stand to decide the next change; write() stores the positions, the levels and one outbox
 * record per applied change, and one more per inventory transaction recorded (see
 * StockChange.transaction). A fixed number of SQL statements, whatever the number of changes.
 */
export class StockLedger {
  private readonly touchedKeys = new Set<string>();
  /**
   * Levels written again although no change touched their figures: to sum their promise figures
   * again, or to store whether their safety stock is explicit.
   */
  private readonly resummedKeys = new Set<string>();
  private readonly outbox: OutboxRecord[] = [];

  private constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly now: Date,
    private readonly levelByKey: Map<string, LevelRow>,
    private readonly positionsByKey: Map<string, ReadonlyMap<string, PositionState>>,
    /** Per level, the last cycle count of each counted position, by positionKey. */
    private readonly countsByKey: Map<string, ReadonlyMap<string, Count>>,
    /** Per level, who last changed each bucket of each position, by positionKey. */
    private readonly stampsByKey: Map<string, ReadonlyMap<string, BucketStamps>>,
    private readonly nettableBySubinventory: ReadonlyMap<string, boolean>,
    private readonly lotsBySku: ReadonlyMap<string, ReadonlyMap<string, Date | null>>,
    private readonly unitOfMeasureBySku: ReadonlyMap<string, string>,
  ) {}

  static async open(tx: Prisma.TransactionClient, levelKeys: readonly StockLevelKey[], now = new Date()): Promise<StockLedger> {
    const keys = [...new Map(levelKeys.map((key) => [keyOf(key.sku, key.locationId), key])).values()]
      .map(({ sku, locationId }) => ({ sku, locationId }))
      .sort((a, b) => (a.sku === b.sku ? compare(a.locationId, b.locationId) : compare(a.sku, b.sku)));
    const levels = await lockLevels(tx, keys);
    let created: StockLevelKey[] = [];
    if (levels.length < keys.length) {
      // Levels that do not exist yet are created, at their default safety stock, then locked.
      // This transaction holds every existing level it needs by now, so waiting on another's
      // uncommitted insert cannot close a cycle.
      const found = new Set(levels.map((level) => keyOf(level.sku, level.locationId)));
      const missing = keys.filter((key) => !found.has(keyOf(key.sku, key.locationId)));
      await tx.$executeRaw`
        INSERT INTO stock_level (sku, location_id, safety_stock)
        SELECT k.sku, k.location_id, ${defaultSafetyStockOf(Prisma.sql`k.sku`, Prisma.sql`k.location_id`)}
          FROM unnest(${missing.map((key) => key.sku)}::text[], ${missing.map((key) => key.locationId)}::text[]) AS k(sku, location_id)
        ON CONFLICT DO NOTHING`;
      levels.push(...(await lockLevels(tx, missing)));
      created = missing;
    }
    // Read in a statement after the lock, so that its snapshot holds what the previous holder of
    // the lock committed. Subinventories come as rows without a SKU, the items' lots (with their
    // expiry, for positions new and old) as rows without a location, and the items' units of
    // measure (for their transactions) as rows with neither a location nor a lot.
    const skus = [...new Set(keys.map((key) => key.sku))];
    const rows = await tx.$queryRaw<(PositionRow | SubinventoryRow | LotRow | ItemRow)[]>`
      SELECT p.sku, p.location_id AS "locationId", p.subinventory, p.lot, NULL::boolean AS nettable, NULL::timestamptz AS "lotExpiresAt",
             NULL::text AS "unitOfMeasure", p.on_hand_wms AS "onHandWms", p.on_hand_erp AS "onHandErp", p.allocated, p.reserved,
             p.inbound_in_transit AS "inboundInTransit", p.inbound_expected_at AS "inboundExpectedAt",
             p.quality_hold AS "qualityHold", p.wms_updated_at AS "wmsUpdatedAt",
             p.last_count_source AS "lastCountSource", p.last_count_sequence AS "lastCountSequence", p.bucket_changes AS "bucketChanges"
        FROM unnest(${keys.map((key) => key.sku)}::text[], ${keys.map((key) => key.locationId)}::text[]) AS k(sku, location_id)
        JOIN stock_position p USING (sku, location_id)
      UNION ALL
      SELECT NULL, location_id, code, NULL, nettable, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM subinventory WHERE location_id = ANY(${[...new Set(keys.map((key) => key.locationId))]}::text[])
      UNION ALL
      SELECT sku, NULL, NULL, lot, NULL, expires_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM lot WHERE sku = ANY(${skus}::text[])
      UNION ALL
      SELECT sku, NULL, NULL, NULL, NULL, NULL, unit_of_measure, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM item WHERE sku = ANY(${skus}::text[])`;

    const nettableBySubinventory = new Map<string, boolean>();
    const lotsBySku = new Map<string, Map<string, Date | null>>();
    const unitOfMeasureBySku = new Map<string, string>();
    for (const row of rows) {
      if (row.sku === null) nettableBySubinventory.set(`${row.locationId}\u0000${row.subinventory}`, row.nettable);
      else if (row.locationId === null && row.lot === null) unitOfMeasureBySku.set(row.sku, row.unitOfMeasure);
      else if (row.locationId === null) {
        if (!lotsBySku.has(row.sku)) lotsBySku.set(row.sku, new Map());
        lotsBySku.get(row.sku)!.set(row.lot, row.lotExpiresAt);
      }
    }
    const levelByKey = new Map<string, LevelRow>(levels.map((level) => [keyOf(level.sku, level.locationId), { ...level, wmsReportedAt: null }]));
    const positionsByKey = new Map<string, Map<string, PositionState>>();
    const countsByKey = new Map<string, Map<string, Count>>();
    const stampsByKey = new Map<string, Map<string, BucketStamps>>();
    for (const row of rows) {
      if (row.sku === null || row.locationId === null) continue;
      const { sku, locationId, wmsUpdatedAt, lastCountSource, lastCountSequence, bucketChanges, unitOfMeasure: _unitOfMeasure, ...position } = row as PositionRow;
      const key = keyOf(sku, locationId);
      if (!positionsByKey.has(key)) positionsByKey.set(key, new Map());
      if (!stampsByKey.has(key)) stampsByKey.set(key, new Map());
      // Every position's subinventory exists (a foreign key), so the lookup finds it.
      position.nettable = nettableBySubinventory.get(`${locationId}\u0000${position.subinventory}`)!;
      position.lotExpiresAt = lotsBySku.get(sku)?.get(position.lot) ?? null;
      positionsByKey.get(key)!.set(positionKey(position.subinventory, position.lot), position);
      stampsByKey.get(key)!.set(positionKey(position.subinventory, position.lot), bucketChanges);
      if (lastCountSource !== null && lastCountSequence !== null) {
        if (!countsByKey.has(key)) countsByKey.set(key, new Map());
        countsByKey.get(key)!.set(positionKey(position.subinventory, position.lot), { source: lastCountSource, sequence: lastCountSequence });
      }
      const level = levelByKey.get(key)!;
      if (wmsUpdatedAt && (!level.wmsReportedAt || wmsUpdatedAt > level.wmsReportedAt)) level.wmsReportedAt = wmsUpdatedAt;
    }
    const ledger = new StockLedger(tx, now, levelByKey, positionsByKey, countsByKey, stampsByKey, nettableBySubinventory, lotsBySku, unitOfMeasureBySku);
    // Levels created here get their figures (none in stock) even if no change touches them.
    for (const { sku, locationId } of created) ledger.resummedKeys.add(keyOf(sku, locationId));
    return ledger;
  }

  /** The level as it stands with the changes applied so far. */
  level(sku: string, locationId: string): StockLevelBuckets {
    return summarizeStockLevel(this.positions(sku, locationId).values(), this.lockedLevel(sku, locationId).safetyStock, this.now);
  }

  /** The level's safety stock as it stands. */
  safetyStock(sku: string, locationId: string): SafetyStockSetting {
    const { safetyStock, safetyStockExplicit } = this.lockedLevel(sku, locationId);
    return { quantity: safetyStock, explicit: safetyStockExplicit };
  }

  /** The positions (subinventory x lot) as they stand, keyed by positionKey. */
  positions(sku: string, locationId: string): ReadonlyMap<string, PositionState> {
    return this.positionsByKey.get(keyOf(sku, locationId)) ?? new Map();
  }

  /** The item's lots with their expiry (null: does not expire), from the lot catalogue. */
  lots(sku: string): ReadonlyMap<string, Date | null> {
    return this.lotsBySku.get(sku) ?? new Map();
  }

  /** Whether `subinventory` exists at the location, and if so whether it is nettable; undefined when it does not. */
  isNettable(locationId: string, subinventory: string): boolean | undefined {
    return this.nettableBySubinventory.get(`${locationId}\u0000${subinventory}`);
  }

  /** The nettable subinventories of the location, in code order. */
  nettableSubinventories(locationId: string): string[] {
    const prefix = `${locationId}\u0000`;
    return [...this.nettableBySubinventory]
      .filter(([key, nettable]) => nettable && key.startsWith(prefix))
      .map(([key]) => key.slice(prefix.length))
      .sort(compare);
  }

  apply(change: StockChange): ChangeOutcome {
    const key = keyOf(change.sku, change.locationId);
    const level = this.lockedLevel(change.sku, change.locationId);
    const positionCounts = this.countsByKey.get(key) ?? NO_COUNTS;
    const { order } = change;
    const effects = order ? change.effects.filter((effect) => !isCounted(effect, change.source, order.sequence, level, positionCounts)) : change.effects;
    if (effects.length === 0 && change.effects.length > 0) return { status: 'SUPERSEDED' };
    if (change.effects.length === 0) {
      // Nothing moves, so the level keeps its sequence and publishes no change; the transaction stands.
      this.recordTransaction(change, []);
      const current = this.level(change.sku, change.locationId);
      return { status: 'APPLIED', sequence: Number(level.sequence), before: current, after: current };
    }
    const positions = this.positions(change.sku, change.locationId);
    const result = applyBucketEffects(positions, effects, (subinventory, lot) => {
      const nettable = this.isNettable(change.locationId, subinventory);
      return nettable === undefined ? null : blankPosition(subinventory, lot, nettable, this.lots(change.sku).get(lot) ?? null);
    });
    if (!result.ok) return { status: 'REJECTED', code: result.code, reason: result.reason };
    const before = summarizeStockLevel(positions.values(), level.safetyStock, this.now);
    const after = summarizeStockLevel(result.positions.values(), level.safetyStock, this.now);
    const beyondRange = figureBeyondStockRange(after);
    if (beyondRange) {
      return { status: 'REJECTED', code: QUANTITY_OUT_OF_RANGE, reason: `${beyondRange} of ${change.sku} at ${change.locationId} would be ${after[beyondRange]}, ${STOCK_RANGE_DESCRIPTION}` };
    }
    this.stampsByKey.set(key, stampPositions(this.stampsByKey.get(key), positions, result.positions, change.source, this.now));
    this.positionsByKey.set(key, result.positions);
    level.sequence += 1n;
    level.bucketChanges = stampBuckets(level.bucketChanges, result.changedBuckets, change.source, this.now);
    level.sourceReports = recordSourceReport(level.sourceReports, result.changedBuckets, change.source, this.now);
    if (order?.counts === 'level') {
      level.lastSnapshotSource = change.source;
      level.lastSnapshotSequence = BigInt(order.sequence);
    } else if (order?.counts === 'positions') {
      const counted = new Map(positionCounts);
      for (const effect of effects) {
        if (effect.op === 'set' && effect.bucket === 'onHandWms') counted.set(positionKey(effect.subinventory, effect.lot), { source: change.source, sequence: BigInt(order.sequence) });
      }
      this.countsByKey.set(key, counted);
    }
    this.touchedKeys.add(key);
    this.outbox.push(stockChangeRecord({ sku: change.sku, locationId: change.locationId, sequence: Number(level.sequence), cause: change.cause, source: change.source, before, after }, this.now));
    this.recordTransaction(change, result.onHandChanges);
    return { status: 'APPLIED', sequence: Number(level.sequence), before, after };
  }

  /**
   * Sets the level's safety stock, a figure of the level rather than of its positions. A new
   * quantity is a stock change like any other: the level's next sequence, `safetyStock` stamped
   * with the change's source, and its event. The quantity the level has already changes no
   * figure and publishes nothing: only whether it is explicit is stored.
   */
  setSafetyStock(change: SafetyStockChange): AppliedChange {
    const { sku, locationId, quantity, explicit } = change;
    if (!Number.isInteger(quantity) || quantity < 0 || !isWithinStockRange(quantity)) {
      throw new TypeError(`StockLedger: a safety stock is a whole number of units from 0 (the caller checks it), got ${quantity}`);
    }
    const key = keyOf(sku, locationId);
    const level = this.lockedLevel(sku, locationId);
    const before = this.level(sku, locationId);
    if (quantity === level.safetyStock) {
      if (explicit !== level.safetyStockExplicit) this.resummedKeys.add(key);
      level.safetyStockExplicit = explicit;
      return { status: 'APPLIED', sequence: Number(level.sequence), before, after: before };
    }
    level.safetyStockExplicit = explicit;
    level.safetyStock = quantity;
    level.sequence += 1n;
    level.bucketChanges = stampBuckets(level.bucketChanges, ['safetyStock'], change.source, this.now);
    this.touchedKeys.add(key);
    const after = this.level(sku, locationId);
    this.outbox.push(stockChangeRecord({ sku, locationId, sequence: Number(level.sequence), cause: change.cause, source: change.source, before, after }, this.now));
    return { status: 'APPLIED', sequence: Number(level.sequence), before, after };
  }

  /**
   * Sums every opened level's promise figures again on write(), changed or not: for levels whose
   * figures are missing (rows written by plain SQL) or have passed their validity (a lot expired).
   */
  resumFigures(): void {
    for (const key of this.levelByKey.keys()) this.resummedKeys.add(key);
  }

  /**
   * Applies every change or none: the first that is refused undoes the others and is returned. A
   * superseded change (counts already include it) is no refusal.
   */
  applyAll(changes: readonly StockChange[]): { readonly ok: true; readonly outcomes: Exclude<ChangeOutcome, RejectedChange>[] } | { readonly ok: false; readonly refused: RejectedChange } {
    if (changes.length === 1) {
      // One change is all or nothing by itself: apply() leaves no trace of a refusal.
      const outcome = this.apply(changes[0]!);
      return outcome.status === 'REJECTED' ? { ok: false, refused: outcome } : { ok: true, outcomes: [outcome] };
    }
    const keys = new Set(changes.map((change) => keyOf(change.sku, change.locationId)));
    const saved = [...keys].map((key) => ({
      key, positions: this.positionsByKey.get(key), counts: this.countsByKey.get(key), stamps: this.stampsByKey.get(key),
      level: { ...this.levelByKey.get(key)! }, touched: this.touchedKeys.has(key),
    }));
    const outboxLength = this.outbox.length;
    const outcomes: Exclude<ChangeOutcome, RejectedChange>[] = [];
    for (const change of changes) {
      const outcome = this.apply(change);
      if (outcome.status !== 'REJECTED') {
        outcomes.push(outcome);
        continue;
      }
      for (const { key, positions, counts, stamps, level, touched } of saved) {
        if (positions) this.positionsByKey.set(key, positions);
        else this.positionsByKey.delete(key);
        if (counts) this.countsByKey.set(key, counts);
        else this.countsByKey.delete(key);
        if (stamps) this.stampsByKey.set(key, stamps);
        else this.stampsByKey.delete(key);
        Object.assign(this.levelByKey.get(key)!, level);
        if (!touched) this.touchedKeys.delete(key);
      }
      this.outbox.length = outboxLength;
      return { ok: false, refused: outcome };
    }
    return { ok: true, outcomes };
  }

  /**
   * Stores what was applied, in one statement (positions, levels and outbox records as parts of
   * one WITH), so that the levels stay locked for as short a time as possible. `alongside` are
   * the caller's own data-modifying statements (no WITH of their own), run as further parts of
   * that statement: all-or-nothing with the rest, and no round trip of their own. Once per
   * ledger: the WMS report times read by open() do not follow what a write stamps.
   */
  async write(alongside: readonly Prisma.Sql[] = []): Promise<void> {
    if (this.touchedKeys.size === 0 && this.resummedKeys.size === 0 && this.outbox.length === 0 && alongside.length === 0) return;
    const { now, outbox } = this;
    const positions = upsertPositions([...this.touchedKeys].flatMap((key) => {
      const [sku, locationId] = key.split('\u0000') as [string, string];
      const counts = this.countsByKey.get(key);
      const stamps = this.stampsByKey.get(key);
      return [...this.positions(sku, locationId)].map(([key, position]) => ({
        sku, locationId, ...position, lastCount: counts?.get(key) ?? null, bucketChanges: stamps?.get(key) ?? {},
      }));
    }), now);
    const levels = updateLevels([...new Set([...this.touchedKeys, ...this.resummedKeys])].map((key) => {
      const level = this.levelByKey.get(key)!;
      const positions = [...this.positions(level.sku, level.locationId).values()];
      return {
        ...level,
        changed: this.touchedKeys.has(key),
        figures: summarizeStockLevel(positions, level.safetyStock, now),
        inboundSupply: inboundSupply(positions),
        figuresValidUntil: nextLotExpiry(positions, now),
      };
    }), now);
    const parts = [
      Prisma.sql`positions AS (${positions})`,
      Prisma.sql`position_reports AS (SELECT sku, location_id, max(wms_updated_at) AS wms_updated_at FROM positions GROUP BY sku, location_id)`,
      Prisma.sql`levels AS (${levels})`,
      ...alongside.map((statement, index) => Prisma.sql`${Prisma.raw(`alongside_${index}`)} AS (${statement})`),
    ];
    await this.tx.$executeRaw`WITH ${Prisma.join(parts, ', ')} ${outboxInsert(INVENTORY_PRODUCER, outbox, now)}`;
    this.touchedKeys.clear();
    this.resummedKeys.clear();
    this.outbox.length = 0;
  }

  /** The `inventory.transaction.recorded` record of an applied change that is a transaction and changed on hand by `lines`, or is a pick. */
  private recordTransaction(change: StockChange, lines: readonly OnHandChange[]): void {
    const { transaction, sku, locationId } = change;
    if (!transaction || (lines.length === 0 && transaction.kind !== 'PICK')) return;
    const { kind, transactionId, quantity, subinventory = lines[0]?.subinventory, serials = [], occurredAt = this.now } = transaction;
    const unitOfMeasure = this.unitOfMeasureBySku.get(sku);
    if (unitOfMeasure === undefined) throw new TypeError(`StockLedger: item ${sku} does not exist (the caller checks the catalogue first)`);
    if (subinventory === undefined) throw new TypeError(`StockLedger: transaction ${transactionId} changes no on hand and names no subinventory`);
    this.outbox.push(transactionRecord({
      transactionId, kind, sku, locationId, unitOfMeasure, quantity, lines, subinventory,
      transferSubinventory: transaction.transferSubinventory ?? null,
      counterpartLocationId: transaction.counterpartLocationId ?? null,
      serials, occurredAt,
    }));
  }

  private lockedLevel(sku: string, locationId: string): LevelRow {
    const level = this.levelByKey.get(keyOf(sku, locationId));
    if (!level) throw new TypeError(`StockLedger: ${sku} at ${locationId} was not opened (open() takes every level a change touches)`);
    return level;
  }
}

/** The levels among `keys` (in key order) that exist, locked in key order, so that concurrent callers cannot deadlock. */
function lockLevels(tx: Prisma.TransactionClient, keys: readonly StockLevelKey[]): Promise<Omit<LevelRow, 'wmsReportedAt'>[]> {
  return tx.$queryRaw<Omit<LevelRow, 'wmsReportedAt'>[]>`
    SELECT level.sku, level.location_id AS "locationId", level.safety_stock AS "safetyStock",
           level.safety_stock_explicit AS "safetyStockExplicit", level.sequence,
           level.bucket_changes AS "bucketChanges", level.source_reports AS "sourceReports", level.last_snapshot_source AS "lastSnapshotSource",
           level.last_snapshot_sequence AS "lastSnapshotSequence"
      FROM unnest(${keys.map((key) => key.sku)}::text[], ${keys.map((key) => key.locationId)}::text[]) AS k(sku, location_id)
      JOIN stock_level level USING (sku, location_id)
     ORDER BY level.sku, level.location_id
       FOR UPDATE OF level`;
}

/**
 * Whether a count of `source` at or after `sequence` already covers the effect: a snapshot of the
 * level, or a cycle count of the position, counted the WMS on hand it changes.
 */
function isCounted(effect: LedgerEffect, source: string, sequence: number, level: LevelRow, counts: ReadonlyMap<string, Count>): boolean {
  if (effect.bucket !== 'onHandWms') return false;
  const covers = (countSource: string | null | undefined, countSequence: bigint | null | undefined) =>
    countSource === source && countSequence != null && BigInt(sequence) <= countSequence;
  const count = counts.get(positionKey(effect.subinventory, effect.lot));
  return covers(level.lastSnapshotSource, level.lastSnapshotSequence) || covers(count?.source, count?.sequence);
}

function blankPosition(subinventory: string, lot: string, nettable: boolean, lotExpiresAt: Date | null): PositionState {
  return {
    subinventory, lot, nettable, lotExpiresAt,
    onHandWms: 0, onHandErp: 0, allocated: 0, reserved: 0, inboundInTransit: 0, inboundExpectedAt: null, qualityHold: 0,
  };
}

/** A level's position stamps after a change took its positions from `before` to `after`: each bucket it moved is stamped `source` at `now`. */
function stampPositions(
  stamps: ReadonlyMap<string, BucketStamps> | undefined,
  before: ReadonlyMap<string, PositionState>,
  after: ReadonlyMap<string, PositionState>,
  source: string,
  now: Date,
): ReadonlyMap<string, BucketStamps> {
  const next = new Map(stamps);
  for (const [key, position] of after) {
    const changed = changedPositionBuckets(before.get(key), position);
    if (changed.length) next.set(key, stampBuckets(next.get(key) ?? {}, changed, source, now));
  }
  return next;
}

// Each position records when the WMS and when the ERP last changed it (a level's report times), and who last changed each bucket.
function upsertPositions(rows: (PositionState & { sku: string; locationId: string; lastCount: Count | null; bucketChanges: BucketStamps })[], now: Date): Prisma.Sql {
  const values = rows.map((row) => ({
    sku: row.sku, location_id: row.locationId, subinventory: row.subinventory, lot: row.lot,
    on_hand_wms: row.onHandWms, on_hand_erp: row.onHandErp, allocated: row.allocated, reserved: row.reserved,
    inbound_in_transit: row.inboundInTransit, inbound_expected_at: row.inboundExpectedAt, quality_hold: row.qualityHold,
    last_count_source: row.lastCount?.source ?? null, last_count_sequence: row.lastCount?.sequence.toString() ?? null,
    bucket_changes: row.bucketChanges,
  }));
  return Prisma.sql`
    INSERT INTO stock_position AS p (sku, location_id, subinventory, lot, on_hand_wms, on_hand_erp, allocated, reserved,
                                inbound_in_transit, inbound_expected_at, quality_hold, last_count_source, last_count_sequence,
                                bucket_changes, updated_at, wms_updated_at, erp_updated_at)
    SELECT v.*, ${now.toISOString()}::timestamptz,
           CASE WHEN (v.on_hand_wms, v.allocated, v.inbound_in_transit, v.quality_hold) <> (0, 0, 0, 0)
                THEN ${now.toISOString()}::timestamptz END,
           CASE WHEN v.on_hand_erp <> 0 THEN ${now.toISOString()}::timestamptz END
      FROM ${recordset(values, 'v', {
        sku: 'text', location_id: 'text', subinventory: 'text', lot: 'text', on_hand_wms: 'int', on_hand_erp: 'int',
        allocated: 'int', reserved: 'int', inbound_in_transit: 'int', inbound_expected_at: 'timestamptz', quality_hold: 'int',
        last_count_source: 'text', last_count_sequence: 'bigint', bucket_changes: 'jsonb',
      })}
    ON CONFLICT (sku, location_id, subinventory, lot) DO UPDATE SET
      on_hand_wms = EXCLUDED.on_hand_wms, on_hand_erp = EXCLUDED.on_hand_erp, allocated = EXCLUDED.allocated,
      reserved = EXCLUDED.reserved, inbound_in_transit = EXCLUDED.inbound_in_transit,
      inbound_expected_at = EXCLUDED.inbound_expected_at, quality_hold = EXCLUDED.quality_hold,
      last_count_source = EXCLUDED.last_count_source,
      last_count_sequence = EXCLUDED.last_count_sequence, bucket_changes = EXCLUDED.bucket_changes, updated_at = EXCLUDED.updated_at,
      wms_updated_at = CASE WHEN (p.on_hand_wms, p.allocated, p.inbound_in_transit, p.quality_hold)
                                 IS DISTINCT FROM (EXCLUDED.on_hand_wms, EXCLUDED.allocated, EXCLUDED.inbound_in_transit,
                                                   EXCLUDED.quality_hold)
                            THEN EXCLUDED.updated_at ELSE p.wms_updated_at END,
      erp_updated_at = CASE WHEN p.on_hand_erp IS DISTINCT FROM EXCLUDED.on_hand_erp THEN EXCLUDED.updated_at ELSE p.erp_updated_at END
    WHERE (p.on_hand_wms, p.on_hand_erp, p.allocated, p.reserved, p.inbound_in_transit, p.inbound_expected_at, p.quality_hold,
           p.last_count_source, p.last_count_sequence, p.bucket_changes)
          IS DISTINCT FROM (EXCLUDED.on_hand_wms, EXCLUDED.on_hand_erp, EXCLUDED.allocated, EXCLUDED.reserved,
                            EXCLUDED.inbound_in_transit, EXCLUDED.inbound_expected_at, EXCLUDED.quality_hold,
                            EXCLUDED.last_count_source, EXCLUDED.last_count_sequence, EXCLUDED.bucket_changes)
    RETURNING p.sku, p.location_id, p.wms_updated_at`;
}

/** A level to store: changed (a new sequence and change time) or only summed again, with its promise figures. */
interface LevelWrite extends LevelRow {
  readonly changed: boolean;
  readonly figures: StockLevelBuckets;
  readonly inboundSupply: readonly InboundSupply[];
  /** Null when no lot is still to expire: the figures hold until the positions change. */
  readonly figuresValidUntil: Date | null;
}

// A level's WMS report time is the newest of what was read under the lock and what the
// positions' upsert stamped (position_reports, in the same statement: it sees no other row).
function updateLevels(levels: LevelWrite[], now: Date): Prisma.Sql {
  const values = levels.map((level) => ({
    sku: level.sku, location_id: level.locationId, sequence: level.sequence.toString(), bucket_changes: level.bucketChanges, source_reports: level.sourceReports,
    safety_stock: level.safetyStock, safety_stock_explicit: level.safetyStockExplicit,
    last_snapshot_source: level.lastSnapshotSource, last_snapshot_sequence: level.lastSnapshotSequence?.toString() ?? null, changed: level.changed,
    available: level.figures.available, inbound_in_transit: level.figures.inboundInTransit, inbound_expected_at: level.figures.inboundExpectedAt,
    inbound_supply: level.inboundSupply.length ? level.inboundSupply : null, wms_reported_at: level.wmsReportedAt,
    figures_valid_until: level.figuresValidUntil ?? 'infinity',
  }));
  return Prisma.sql`
    UPDATE stock_level AS level
       SET sequence = changed.sequence, bucket_changes = changed.bucket_changes, source_reports = changed.source_reports,
           safety_stock = changed.safety_stock, safety_stock_explicit = changed.safety_stock_explicit,
           last_snapshot_source = changed.last_snapshot_source, last_snapshot_sequence = changed.last_snapshot_sequence,
           updated_at = CASE WHEN changed.changed THEN ${now.toISOString()}::timestamptz ELSE level.updated_at END,
           available = changed.available, inbound_in_transit = changed.inbound_in_transit,
           inbound_expected_at = changed.inbound_expected_at, inbound_supply = changed.inbound_supply,
           wms_reported_at = GREATEST(changed.wms_reported_at, reported.wms_updated_at),
           figures_valid_until = changed.figures_valid_until
      FROM ${recordset(values, 'changed', {
        sku: 'text', location_id: 'text', sequence: 'bigint', bucket_changes: 'jsonb', source_reports: 'jsonb', safety_stock: 'int', safety_stock_explicit: 'boolean',
        last_snapshot_source: 'text', last_snapshot_sequence: 'bigint',
        changed: 'boolean', available: 'int', inbound_in_transit: 'int', inbound_expected_at: 'timestamptz', inbound_supply: 'jsonb',
        wms_reported_at: 'timestamptz', figures_valid_until: 'timestamptz',
      })}
      LEFT JOIN position_reports AS reported ON reported.sku = changed.sku AND reported.location_id = changed.location_id
     WHERE level.sku = changed.sku AND level.location_id = changed.location_id`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
