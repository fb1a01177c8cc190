import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { applyStockChanges, type StockChange } from '../data/stockLedger.ts';
import { positionKey, type LedgerEffect } from '../domain/applyBucketEffects.ts';
import { parseBalancesCsv } from '../erp/balancesCsv.ts';
import type { ErpBalance, RejectedBalance } from '../erp/erpBalance.ts';
import { pullInventoryBalances, type InventoryBalancesClientOptions } from '../erp/inventoryBalancesClient.ts';

export interface ErpImportResult {
  /** Balances received (CSV rows, ERP records), rejected ones included. */
  readonly received: number;
  /** Item x locations whose ERP on hand changed. */
  readonly updated: number;
  /** Item x locations whose ERP on hand already matched the import; they get no stock-change event. */
  readonly unchanged: number;
  readonly rejected: readonly RejectedBalance[];
}

export type ErpImportMode = 'partial' | 'full';

/** A balances CSV that cannot be read at all (its header lacks a required column); nothing was applied. */
export class MalformedCsvError extends Error {
  override readonly name = 'MalformedCsvError';
}

/**
 * An import that failed partway (the database went away, say): exactly the balances on
 * `appliedLines` were applied, in the transactions that committed before the failure; no other
 * balance of the import was. Applying the import again is safe: a balance sets on hand.
 */
export class ErpImportInterruptedError extends Error {
  override readonly name = 'ErpImportInterruptedError';

  constructor(
    /** The lines (see ErpImportResult.rejected) of the balances applied, ascending. */
    readonly appliedLines: readonly number[],
    /** Item x locations applied (updated or unchanged), and those in the import in all. */
    readonly progress: { readonly applied: number; readonly total: number },
    cause: unknown,
  ) {
    super(`ERP balance import failed after ${progress.applied} of ${progress.total} item x locations were applied`, { cause });
  }
}

// Bounds how long one transaction holds its stock-level locks, and the size of its statements.
const MAX_CHANGES_PER_TRANSACTION = 5_000;

interface Catalogue {
  readonly lotControlledBySku: ReadonlyMap<string, boolean>;
  readonly locationIds: ReadonlySet<string>;
  /** `${locationId}\0${code}` of every subinventory of the locations concerned. */
  readonly subinventories: ReadonlySet<string>;
}

/** The balances of one item x location, with their 1-based position in the input. */
interface BalanceGroup {
  readonly sku: string;
  readonly locationId: string;
  readonly entries: readonly { readonly balance: ErpBalance; readonly line: number }[];
}

interface StoredPosition {
  readonly subinventory: string;
  readonly lot: string;
  readonly onHandErp: number;
}

const pairKey = (sku: string, locationId: string) => `${sku}\u0000${locationId}`;

/**
 * Sets the ERP's view of on hand (`onHandErp`) from ERP balances: a CSV upload, a pull from
 * the ERP's REST API, or balances given directly. Never touches the warehouse's buckets.
 *
 * Each item x location is one stock change, applied all or nothing: when any of its balances
 * is refused by the catalogue, none of them applies. An item x location whose every balance
 * already matches is not changed at all, so it publishes no stock-change event.
 */
export class ErpBalanceImport {
  private readonly source: string;

  private readonly changesPerTransaction: number;

  constructor(
    private readonly prisma: PrismaClient,
    {
      source = 'erp', // stamped on the onHandErp bucket of every level changed
      changesPerTransaction = MAX_CHANGES_PER_TRANSACTION,
    }: { source?: string; changesPerTransaction?: number } = {},
  ) {
    this.source = source;
    this.changesPerTransaction = changesPerTransaction;
  }

  /**
   * Sets ERP on hand of each position to its balance. In 'partial' mode the other positions
   * of the same item x location are left alone; in 'full' mode the import is the ERP's whole
   * view of each item x location it names, so their positions it does not list go to 0.
   * Item x locations the import does not name are never touched.
   *
   * A rejected balance's `line` is its own `line`, or else its 1-based position in `balances`. Work is committed in
   * transactions of at most 5,000 item x locations: when one fails, ErpImportInterruptedError
   * says exactly which balances the earlier ones applied; applying again is safe, because
   * setting a balance again changes nothing.
   */
  apply(balances: readonly ErpBalance[], mode: ErpImportMode = 'partial'): Promise<ErpImportResult> {
    return this.applyBalances(balances, mode);
  }

  /**
   * Parses a balances CSV (see parseBalancesCsv) and applies it in 'partial' mode. Every
   * rejection, by the parser or by the catalogue, is numbered by its CSV line.
   *
   * @throws MalformedCsvError when the header row lacks a required column.
   */
  async importCsv(text: string, asOf = new Date()): Promise<ErpImportResult> {
    let parsed: ReturnType<typeof parseBalancesCsv>;
    try {
      parsed = parseBalancesCsv(text, asOf);
    } catch (error) {
      if (error instanceof TypeError) throw new MalformedCsvError(error.message, { cause: error });
      throw error;
    }
    const applied = await this.applyBalances(parsed.balances, 'partial');
    const rejected = [...parsed.rejected, ...applied.rejected].sort((a, b) => a.line - b.line);
    return { ...applied, received: parsed.balances.length + parsed.rejected.length, rejected };
  }

  /**
   * Pulls every balance from the ERP and applies them in 'full' mode. Records the client
   * refuses come first in `rejected`, numbered by record; those the catalogue refuses follow,
   * numbered by their position among the usable records.
   *
   * @throws ErpUnavailableError when the ERP cannot be read, before anything is applied;
   *   the abort reason when `signal` aborts, between transactions once applying has begun.
   */
  async pull(options: InventoryBalancesClientOptions, signal?: AbortSignal): Promise<ErpImportResult & { pages: number }> {
    const pulled = await pullInventoryBalances(options, signal);
    const applied = await this.applyBalances(pulled.balances, 'full', signal);
    return {
      ...applied,
      received: pulled.balances.length + pulled.rejected.length,
      rejected: [...pulled.rejected, ...applied.rejected],
      pages: pulled.pages,
    };
  }

  private async applyBalances(balances: readonly ErpBalance[], mode: ErpImportMode, signal?: AbortSignal): Promise<ErpImportResult> {
    let catalogue: Catalogue;
    try {
      catalogue = await this.catalogue(balances);
    } catch (error) {
      throw new ErpImportInterruptedError([], { applied: 0, total: new Set(balances.map((b) => pairKey(b.sku, b.locationId))).size }, error);
    }
    const { groups, rejected } = checkGroups(balances, catalogue);
    const cause = { type: 'ERP_BALANCE', id: `erp-import:${randomUUID()}` } as const;
    let updated = 0;
    let unchanged = 0;
    for (let start = 0; start < groups.length; start += this.changesPerTransaction) {
      signal?.throwIfAborted();
      const chunk = groups.slice(start, start + this.changesPerTransaction);
      const counts = await this.prisma.$transaction(async (tx) => {
        const stored = await lockAndReadErpOnHand(tx, chunk);
        const sent: { group: BalanceGroup; change: StockChange }[] = [];
        for (const group of chunk) {
          const effects = effectsOf(group, stored.get(pairKey(group.sku, group.locationId)) ?? [], mode);
          if (effects.length > 0) {
            sent.push({ group, change: { sku: group.sku, locationId: group.locationId, cause, source: this.source, effects } });
          }
        }
        const outcomes = await applyStockChanges(tx, sent.map(({ change }) => change));
        let applied = 0;
        const refused: RejectedBalance[] = [];
        outcomes.forEach((outcome, index) => {
          switch (outcome.status) {
            case 'APPLIED':
              applied++;
              break;
            case 'REJECTED':
              for (const { line } of sent[index]!.group.entries) refused.push({ line, reason: outcome.reason });
              break;
            case 'SUPERSEDED':
              throw new TypeError('applyStockChanges superseded an ERP balance change, which carries no order');
          }
        });
        return { applied, unchanged: chunk.length - sent.length, refused };
      }, { timeout: 60_000 }).catch((error: unknown) => { // 60 seconds
        // The committed transactions' item x locations, less those the ledger refused in them.
        const refusedLines = new Set(rejected.map(({ line }) => line));
        const applied = groups.slice(0, start).filter((group) => !group.entries.some(({ line }) => refusedLines.has(line)));
        const appliedLines = applied.flatMap((group) => group.entries.map(({ line }) => line)).sort((a, b) => a - b);
        throw new ErpImportInterruptedError(appliedLines, { applied: applied.length, total: groups.length }, error);
      });
      updated += counts.applied;
      unchanged += counts.unchanged;
      rejected.push(...counts.refused);
    }
    return { received: balances.length, updated, unchanged, rejected: rejected.sort((a, b) => a.line - b.line) };
  }

  // Arrays rather than IN lists: an import may name more SKUs than a statement can take parameters.
  private async catalogue(balances: readonly ErpBalance[]): Promise<Catalogue> {
    const skus = [...new Set(balances.map((balance) => balance.sku))];
    const locationIds = [...new Set(balances.map((balance) => balance.locationId))];
    const [items, locations, subinventories] = await Promise.all([
      this.prisma.$queryRaw<{ sku: string; lotControlled: boolean }[]>`
        SELECT sku, lot_controlled AS "lotControlled" FROM item WHERE sku = ANY(${skus}::text[])`,
      this.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM location WHERE id = ANY(${locationIds}::text[])`,
      this.prisma.$queryRaw<{ locationId: string; code: string }[]>`
        SELECT location_id AS "locationId", code FROM subinventory WHERE location_id = ANY(${locationIds}::text[])`,
    ]);
    return {
      lotControlledBySku: new Map(items.map((item) => [item.sku, item.lotControlled])),
      locationIds: new Set(locations.map((location) => location.id)),
      subinventories: new Set(subinventories.map((s) => `${s.locationId}\u0000${s.code}`)),
    };
  }
}

/**
 * Groups balances by item x location and keeps the groups whose every balance the catalogue
 * accepts; every balance of any other group is rejected, so that no item x location is half set.
 */
function checkGroups(balances: readonly ErpBalance[], catalogue: Catalogue): { groups: BalanceGroup[]; rejected: RejectedBalance[] } {
  const byPair = new Map<string, { balance: ErpBalance; line: number }[]>();
  balances.forEach((balance, index) => {
    const key = pairKey(balance.sku, balance.locationId);
    if (!byPair.has(key)) byPair.set(key, []);
    byPair.get(key)!.push({ balance, line: balance.line ?? index + 1 });
  });

  const groups: BalanceGroup[] = [];
  const rejected: RejectedBalance[] = [];
  for (const entries of byPair.values()) {
    const firstLineByPosition = new Map<string, number>();
    const reasons = new Map<number, string>();
    for (const { balance, line } of entries) {
      const position = positionKey(balance.subinventory, balance.lot);
      const first = firstLineByPosition.get(position);
      const reason = first === undefined ? catalogueRejection(balance, catalogue) : `duplicate of line ${first}`;
      firstLineByPosition.set(position, first ?? line);
      if (reason) reasons.set(line, reason);
    }
    const { sku, locationId } = entries[0]!.balance;
    if (reasons.size === 0) {
      groups.push({ sku, locationId, entries });
      continue;
    }
    const [firstRejected] = reasons.keys();
    for (const { line } of entries) {
      rejected.push({ line, reason: reasons.get(line) ?? `not applied: line ${firstRejected} for ${sku} at ${locationId} was rejected` });
    }
  }
  return { groups, rejected };
}

function catalogueRejection({ sku, locationId, subinventory, lot }: ErpBalance, catalogue: Catalogue): string | null {
  const lotControlled = catalogue.lotControlledBySku.get(sku);
  if (lotControlled === undefined) return `SKU ${sku} does not exist`;
  if (!catalogue.locationIds.has(locationId)) return `location ${locationId} does not exist`;
  if (!catalogue.subinventories.has(`${locationId}\u0000${subinventory}`)) return `subinventory ${subinventory} does not exist at ${locationId}`;
  if (lot && !lotControlled) return `${sku} is not lot-controlled, yet the balance names lot ${lot}`;
  if (!lot && lotControlled) return `${sku} is lot-controlled: the balance must name a lot`;
  return null;
}

/**
 * ERP on hand of every position of the given item x locations, read under the lock of their
 * stock levels (taken in key order, as applyStockChanges takes it), so that the values
 * compared against the import cannot change before the import is applied. Every position has
 * its stock level: the ledger creates the level before its first position.
 */
async function lockAndReadErpOnHand(tx: Prisma.TransactionClient, groups: readonly BalanceGroup[]): Promise<Map<string, StoredPosition[]>> {
  const rows = await tx.$queryRaw<({ sku: string; locationId: string } & (StoredPosition | { subinventory: null }))[]>`
    SELECT level.sku, level.location_id AS "locationId", p.subinventory, p.lot, p.on_hand_erp AS "onHandErp"
      FROM stock_level level
      LEFT JOIN stock_position p ON p.sku = level.sku AND p.location_id = level.location_id
     WHERE (level.sku, level.location_id) IN (SELECT * FROM unnest(${groups.map((g) => g.sku)}::text[], ${groups.map((g) => g.locationId)}::text[]))
     ORDER BY level.sku, level.location_id
       FOR UPDATE OF level`;
  const byPair = new Map<string, StoredPosition[]>();
  for (const { sku, locationId, ...position } of rows) {
    if (position.subinventory === null) continue;
    const key = pairKey(sku, locationId);
    if (!byPair.has(key)) byPair.set(key, []);
    byPair.get(key)!.push(position);
  }
  return byPair;
}

/** The sets that bring the stored ERP on hand of one item x location to the import's; none when it already matches. */
function effectsOf(group: BalanceGroup, stored: readonly StoredPosition[], mode: ErpImportMode): LedgerEffect[] {
  const storedByPosition = new Map(stored.map((position) => [positionKey(position.subinventory, position.lot), position.onHandErp]));
  const set = (subinventory: string, lot: string, quantity: number): LedgerEffect => ({ subinventory, lot, bucket: 'onHandErp', op: 'set', quantity });
  const effects: LedgerEffect[] = [];
  for (const { balance } of group.entries) {
    if ((storedByPosition.get(positionKey(balance.subinventory, balance.lot)) ?? 0) !== balance.onHand) {
      effects.push(set(balance.subinventory, balance.lot, balance.onHand));
    }
  }
  if (mode === 'full') {
    const listed = new Set(group.entries.map(({ balance }) => positionKey(balance.subinventory, balance.lot)));
    for (const position of stored) {
      if (position.onHandErp !== 0 && !listed.has(positionKey(position.subinventory, position.lot))) effects.push(set(position.subinventory, position.lot, 0));
    }
  }
  return effects;
}
