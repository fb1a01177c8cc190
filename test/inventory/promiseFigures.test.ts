import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { seedDemoData } from '../../prisma/seed.ts';
import { InventoryRepository, type PromiseFigures } from '../../subgraphs/inventory/data/inventoryRepository.ts';
import { applyStockChanges, StockLedger, type StockChange } from '../../subgraphs/inventory/data/stockLedger.ts';
import type { LedgerEffect } from '../../subgraphs/inventory/domain/applyBucketEffects.ts';
import { inboundSupply } from '../../subgraphs/inventory/domain/stockLevelSummary.ts';
import { resumDuePromiseFigures } from '../../subgraphs/inventory/services/promiseFigures.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenStock } from '../support/stock.ts';

const SKUS = Array.from({ length: 20 }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
const LOCATIONS = ['DC-01', 'DC-02', 'DC-03'];

/** A deterministic pseudo-random sequence (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The figures themselves, not until when they hold (stored per SKU, summed per level). */
type Figures = Omit<PromiseFigures, 'holdsUntil'>;

/** Figures compared with inbound supply in arrival order. */
function comparable(figures: readonly Figures[]) {
  return figures.map(({ inboundSupply: supply, ...rest }) => ({
    ...rest,
    inboundSupply: [...supply].sort((a, b) => a.expectedAt.getTime() - b.expectedAt.getTime() || a.quantity - b.quantity),
  }));
}

describe('promise figures', () => {
  let database: TestDatabase;
  let repository: InventoryRepository;
  const levelsNotHolding = async (skus: readonly string[]) =>
    (await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM stock_level WHERE sku = ANY($1) AND NOT (figures_valid_until > now())`, [skus]))[0]!.n;
  /** The promise figures of `skus` in (sku, location) order, as stock levels are read. */
  const promiseFigures = async (skus: readonly string[]): Promise<Figures[]> => {
    const { levelsBySku } = await repository.promiseFigures(skus);
    return [...skus].sort().flatMap((sku) => levelsBySku.get(sku) ?? []).map(({ holdsUntil: _, ...figures }) => figures);
  };
  /** The same figures summed from the positions, as stock levels are read. */
  const summedFromPositions = async (skus: readonly string[]): Promise<Figures[]> =>
    (await repository.stockLevelsBySku(skus, null)).map((level) => ({
      sku: level.sku, locationId: level.locationId, available: level.available, inboundInTransit: level.inboundInTransit,
      inboundExpectedAt: level.inboundExpectedAt, inboundSupply: inboundSupply(level.positions), wmsReportedAt: level.wmsReportedAt,
      sourceReports: level.sourceReports,
    }));

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: SKUS.length });
    repository = new InventoryRepository(database.db);
  });

  after(async () => {
    await database?.drop();
  });

  it('keeps the stored figures equal to what the positions sum to, through 300 random changes', async () => {
    const next = random(7);
    const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
    const randomEffect = (sku: string): LedgerEffect => {
      // SKU-00010 and SKU-00020 are lot-controlled, with a live lot (-A) and an expired one (-B).
      const lot = sku.endsWith('0') ? `${sku}${pick(['-A', '-B'])}` : '';
      const quantity = 1 + Math.floor(next() * 20);
      const bucket = pick(['onHandWms', 'onHandWms', 'onHandErp', 'allocated', 'reserved', 'qualityHold', 'inboundInTransit'] as const);
      return {
        subinventory: pick(['STOCK', 'STOCK', 'QA', 'DAMAGED']), lot, bucket, op: 'add', quantity: next() < 0.3 ? -quantity : quantity,
        ...(bucket === 'inboundInTransit' ? { expectedAt: new Date(Date.now() + Math.floor(next() * 10) * 86_400_000) } : {}),
      };
    };
    for (let batch = 0; batch < 30; batch++) {
      const changes: StockChange[] = Array.from({ length: 10 }, (_, i) => {
        const sku = pick(SKUS);
        // Reservations change no WMS bucket: they must leave the WMS report time as it was.
        const source = next() < 0.3 ? 'stockgraph' : 'test-wms';
        return {
          sku, locationId: pick(LOCATIONS), cause: { type: 'WAREHOUSE_EVENT', id: `random-${batch}-${i}` }, source,
          effects: Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomEffect(sku)),
        };
      });
      await database.db.prisma.$transaction((tx) => applyStockChanges(tx, changes));
    }

    const stored = await promiseFigures(SKUS);
    assert.equal(await levelsNotHolding(SKUS), 0, 'every level is read from its stored figures');
    assert.equal(stored.length, SKUS.length * 12);
    assert.deepEqual(comparable(stored), comparable(await summedFromPositions(SKUS)));
    assert.ok(stored.some((level) => level.inboundSupply.length > 1), 'some levels expect inbound stock at more than one time');

    await database.db.query(`UPDATE stock_level SET figures_valid_until = NULL WHERE sku = ANY($1)`, [SKUS]);
    assert.deepEqual(comparable(await promiseFigures(SKUS)), comparable(stored), 'summed from the positions when the figures do not hold');
    assert.equal(await resumDuePromiseFigures(database.db.prisma, 1_000), SKUS.length * 12);
  });

  it('stops reading the stored figures when a lot in them expires, with no write, and sums them again', async () => {
    const sku = 'LOT-EXPIRING';
    await givenStock(database.db, sku, { 'DC-01': 0 }, { lotControlled: true });
    await database.db.query(`INSERT INTO lot (sku, lot, expires_at) VALUES ($1, 'SOON', now() + interval '3 seconds'), ($1, 'LATER', now() + interval '30 days')`, [sku]);
    const receive = (lot: string, quantity: number): StockChange => ({
      sku, locationId: 'DC-01', cause: { type: 'WAREHOUSE_EVENT', id: `${sku}-${lot}` }, source: 'test-wms',
      effects: [{ subinventory: 'STOCK', lot, bucket: 'onHandWms', op: 'add', quantity }],
    });
    await database.db.prisma.$transaction((tx) => applyStockChanges(tx, [receive('SOON', 8), receive('LATER', 5)]));
    const [validUntil] = await database.db.query<{ soon: boolean }>(
      `SELECT figures_valid_until = (SELECT expires_at FROM lot WHERE sku = $1 AND lot = 'SOON') AS soon FROM stock_level WHERE sku = $1`, [sku]);

    const before = await promiseFigures([sku]);
    while ((await database.db.query<{ due: boolean }>(`SELECT expires_at <= now() AS due FROM lot WHERE sku = $1 AND lot = 'SOON'`, [sku]))[0]!.due === false) await delay(100);
    const expired = await promiseFigures([sku]);
    const summedAgain = await resumDuePromiseFigures(database.db.prisma, 1_000);
    const after = await promiseFigures([sku]);

    assert.deepEqual(validUntil, { soon: true }, 'the figures hold until the first lot expires');
    assert.equal(before[0]!.available, 13);
    assert.equal(expired[0]!.available, 5, 'the expired lot no longer counts, though nothing was written');
    assert.equal(summedAgain, 1);
    assert.equal(await levelsNotHolding([sku]), 0);
    assert.deepEqual(comparable(after), comparable(expired));
  });

  it('gives a level it creates its figures, though no change touches it', async () => {
    await givenStock(database.db, 'NEW-LEVEL', {});
    await database.db.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'NEW-LEVEL', locationId: 'DC-05' }]);
      await ledger.write();
    });

    assert.equal(await levelsNotHolding(['NEW-LEVEL']), 0);
    assert.deepEqual((await promiseFigures(['NEW-LEVEL'])).map((level) => [level.locationId, level.available]), [['DC-05', 0]]);
  });

  it('reads levels written by plain SQL from their positions, and sums them, leaving levels another transaction holds for later', async () => {
    await givenStock(database.db, 'PLAIN-1', { 'DC-01': 10, 'DC-02': 3 }, { safetyStock: 2 });
    const plain = await promiseFigures(['PLAIN-1']);
    assert.deepEqual(plain.map((level) => [level.locationId, level.available]), [['DC-01', 8], ['DC-02', 1]]);

    let release!: () => void;
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    const holder = database.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM stock_level WHERE sku = 'PLAIN-1' AND location_id = 'DC-02' FOR UPDATE`;
      held();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await holding;
    const whileHeld = await resumDuePromiseFigures(database.db.prisma, 1_000);
    release();
    await holder;
    const afterwards = await resumDuePromiseFigures(database.db.prisma, 1_000);

    assert.deepEqual([whileHeld, afterwards], [1, 1], 'the held level was skipped, then summed');
    assert.equal(await levelsNotHolding(['PLAIN-1']), 0);
    assert.deepEqual(comparable(await promiseFigures(['PLAIN-1'])), comparable(plain));
  });
});
