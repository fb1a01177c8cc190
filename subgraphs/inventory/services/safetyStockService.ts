import { randomUUID } from 'node:crypto';
import { sweepUntilShort } from '../../../platform/concurrency/batchSweeper.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import { ungrantedLocations, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { StockLevelKey } from '../data/inventoryRepository.ts';
import { defaultSafetyStocks, levelsOffDefault, replaceSafetyStockDefaults } from '../data/safetyStockStore.ts';
import { readStockCatalogue } from '../data/stockCatalogue.ts';
import { StockLedger, type StockChange } from '../data/stockLedger.ts';
import type { SafetyStockDefaultRule } from '../domain/safetyStock/safetyStockDefaults.ts';
import { validateSafetyStockLines, type SafetyStockLine } from '../domain/safetyStock/safetyStockRequest.ts';
import { InventoryError, InventoryErrorCode } from '../errors.ts';
import { STOCKGRAPH_SOURCE } from '../domain/stockProvenance.ts';
import { runStockTransaction } from './ledgerTransactions.ts';

/** Levels the defaults pass looks at per transaction. */
const DEFAULTS_BATCH_SIZE = 500;

/**
 * Safety stock: set per stock level (an explicit value), or else the configured default of the
 * level's location and item class (SAFETY_STOCK_DEFAULTS, kept in safety_stock_default). A level
 * follows its default until a value is set for it, and again once that value is cleared; the
 * ledger creates new levels at their default. Every change of a level's safety stock is a
 * SAFETY_STOCK stock change, published like any other (cause id `SST-<uuid>` for a request,
 * `defaults-<uuid>` for a pass that applied the defaults).
 */
export class SafetyStockService {
  constructor(
    private readonly prisma: PrismaClient,
    /** Called after each commit that changed stock, so that the change is published at once. */
    private readonly afterCommit: () => void,
  ) {}

  /**
   * Sets the safety stock of each line's level, all or nothing, in one transaction: a quantity
   * explicitly, null back to the level's default. A level that does not exist yet is created.
   * Refused, with nothing changed: BAD_USER_INPUT (every problem of the lines, see
   * validateSafetyStockLines), FORBIDDEN for locations `grant` does not cover (before whether they
   * exist), then UNKNOWN_SKU and UNKNOWN_LOCATION, each naming every unknown one.
   */
  async set(lines: readonly SafetyStockLine[], grant: LocationGrant): Promise<void> {
    const problems = validateSafetyStockLines(lines);
    if (problems.length) throw InventoryError.badInput(problems);
    const outside = ungrantedLocations(grant, lines.map((line) => line.locationId));
    if (outside.length) throw InventoryError.notGranted(outside);
    if (lines.length === 0) return;
    const cause = { type: 'SAFETY_STOCK', id: `SST-${randomUUID()}` } as const;
    await runStockTransaction(this.prisma, async (tx) => {
      const catalogue = await readStockCatalogue(tx, lines.map((line) => line.sku), lines.map((line) => line.locationId));
      const unknownSkus = [...new Set(lines.map((line) => line.sku).filter((sku) => !catalogue.stockedBySku.has(sku)))];
      if (unknownSkus.length) throw new InventoryError(InventoryErrorCode.UNKNOWN_SKU, `Unknown SKU: ${unknownSkus.join(', ')}`, { unknownSkus });
      const unknownLocations = [...new Set(lines.map((line) => line.locationId).filter((id) => !catalogue.subinventoriesByLocation.has(id)))];
      if (unknownLocations.length) {
        throw new InventoryError(InventoryErrorCode.UNKNOWN_LOCATION, `Unknown location: ${unknownLocations.join(', ')}`, { unknownLocations });
      }
      const ledger = await StockLedger.open(tx, lines);
      // Read under the levels' locks: the defaults in force when the change commits.
      const defaults = lines.some((line) => line.quantity === null) ? await defaultSafetyStocks(tx, lines) : [];
      const outcomes = lines.map(({ sku, locationId, quantity }, index) => ledger.setSafetyStock({
        sku, locationId, cause, source: STOCKGRAPH_SOURCE,
        ...(quantity === null ? { quantity: defaults[index]!, explicit: false } : { quantity, explicit: true }),
      }));
      await ledger.write();
      return { result: undefined, changedStock: outcomes.some((outcome) => outcome.before.safetyStock !== outcome.after.safetyStock) };
    }, { afterCommit: this.afterCommit });
  }

  /**
   * Stores `rules` as the defaults in force (see replaceSafetyStockDefaults): from then on, levels
   * are created and cleared to them. UnknownDefaultLocationsError when a rule names a location
   * that does not exist; nothing is stored then.
   */
  async configureDefaults(rules: readonly SafetyStockDefaultRule[]): Promise<void> {
    const { unknownLocations } = await replaceSafetyStockDefaults(this.prisma, rules);
    if (unknownLocations.length) throw new UnknownDefaultLocationsError(unknownLocations);
  }

  /**
   * Gives every level that follows its default, and differs from it, the default in force: one
   * pass over the levels in key order, a batch per transaction, each change published, until
   * done or `stopped()`. Returns how many levels changed. Safe on several replicas at once, and
   * beside any other stock change: each level is looked at again under its lock.
   */
  async applyDefaults(stopped: () => boolean = () => false): Promise<number> {
    const cause = { type: 'SAFETY_STOCK', id: `defaults-${randomUUID()}` } as const;
    let after: StockLevelKey | null = null;
    let changed = 0;
    await sweepUntilShort(async (limit) => {
      const due = await levelsOffDefault(this.prisma, after, limit);
      after = due.at(-1) ?? after;
      if (due.length) changed += await this.applyDefaultsTo(due, cause);
      return due.length;
    }, DEFAULTS_BATCH_SIZE, stopped);
    return changed;
  }

  private applyDefaultsTo(levels: readonly StockLevelKey[], cause: StockChange['cause']): Promise<number> {
    return runStockTransaction(this.prisma, async (tx) => {
      const ledger = await StockLedger.open(tx, levels);
      const defaults = await defaultSafetyStocks(tx, levels);
      // A level set explicitly since it was found keeps its value.
      const changes = levels.flatMap((level, index) => (ledger.safetyStock(level.sku, level.locationId).explicit ? [] : [
        ledger.setSafetyStock({ ...level, cause, source: STOCKGRAPH_SOURCE, quantity: defaults[index]!, explicit: false }),
      ])).filter((outcome) => outcome.before.safetyStock !== outcome.after.safetyStock);
      await ledger.write();
      return { result: changes.length, changedStock: changes.length > 0 };
    }, { afterCommit: this.afterCommit });
  }
}

/** SAFETY_STOCK_DEFAULTS names locations that do not exist: a typo would silently default nothing. */
export class UnknownDefaultLocationsError extends Error {
  constructor(readonly locationIds: readonly string[]) {
    super(`names locations that do not exist: ${locationIds.join(', ')}`);
    this.name = 'UnknownDefaultLocationsError';
  }
}
