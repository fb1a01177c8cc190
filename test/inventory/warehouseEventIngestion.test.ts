import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { stockLevelChanged, warehouseEventApplied, type PayloadOf } from '../../platform/contracts/events.ts';
import type { BusEvent, EventSubscription } from '../../platform/events/eventBus.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { EXAMPLE_MAPPINGS_DIR, loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { MAX_STOCK_QUANTITY } from '../../subgraphs/inventory/domain/quantityRange.ts';
import { UnknownSourceError, WarehouseEventIngestion } from '../../subgraphs/inventory/services/warehouseEventIngestion.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import type { RecordedStockChange } from '../support/stockChanges.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// The demo seed counts SKU-n in EA when n % 5 is 0, 1 or 2, and lot-controls every tenth SKU:
// these tests use EA SKUs without lots.
describe('warehouse events in, stock changes out', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let inventory: RunningService;
  let baseUrl: string;
  let subscription: EventSubscription;
  const published: RecordedStockChange[] = [];
  let onPublished: (() => void) | null = null;
  let firstOutboxIdOfTest = 0n;

  const position = (sku: string, locationId: string, subinventory = 'STOCK', lot = '') =>
    database.db.prisma.stockPosition.findUnique({ where: { sku_locationId_subinventory_lot: { sku, locationId, subinventory, lot } } });
  const outboxCount = () => database.db.prisma.eventOutbox.count({ where: { type: stockLevelChanged.type } });
  /** Resolves once the stream has carried every change this test made, and returns them in stream order. */
  const publishedByThisTest = async () => {
    const expected = await database.db.prisma.eventOutbox.count({ where: { type: stockLevelChanged.type, id: { gte: firstOutboxIdOfTest } } });
    const ours = () => published.filter((change) => BigInt(change.id) >= firstOutboxIdOfTest);
    while (ours().length < expected) await new Promise<void>((resolve) => (onPublished = resolve));
    return ours();
  };

  const redis = redisNamespace('ingestion');

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 50 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    subscription = await infrastructure.bus.subscribe(stockLevelChanged.stream, (events: readonly BusEvent[]) => {
      // The stream carries inventory transactions beside the stock changes: only the changes count here.
      for (const { id, payload } of events.filter((event) => event.type === stockLevelChanged.type)) {
        const change = { ...(payload as RecordedStockChange), id: id! };
        // The stream is shared by every test run on this Redis: keep this process's changes only.
        if (change.cause.id.startsWith(`acme-wms:acme-${process.pid}-`) || change.cause.id.startsWith(`northwind-3pl:nw-${process.pid}-`)) {
          published.push(change);
          onPublished?.();
        }
      }
    });
    inventory = await startInventory(infrastructure, { WMS_SOURCE_SECRETS: 'acme-wms=test-secret,northwind-3pl=nw-secret', WMS_MAX_BATCH_EVENTS: '100' }, createLogger('error'));
    baseUrl = inventory.url;
  });

  after(async () => {
    await inventory?.stop();
    await subscription?.close();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  beforeEach(async () => {
    const last = await database.db.prisma.eventOutbox.findFirst({ orderBy: { id: 'desc' } });
    firstOutboxIdOfTest = (last?.id ?? 0n) + 1n;
  });

  it('applies a signed receipt, records an outbox change and publishes it', async () => {
    const before = (await position('SKU-00002', 'DC-01'))!;
    const { status, body } = await postEvents(baseUrl, 'acme-wms', [acmeEvent({ item_code: 'ACME-00002', qty: 2, uom: 'CS' })]);

    assert.equal(status, 200);
    assert.deepEqual(body.results.map((r: { status: string }) => r.status), ['APPLIED']);
    assert.equal((await position('SKU-00002', 'DC-01'))!.onHandWms, before.onHandWms + 24, '2 cases of 12');
    const [change] = await publishedByThisTest();
    assert.equal(change!.sku, 'SKU-00002');
    assert.equal(change!.after.onHandWms - change!.before.onHandWms, 24);
    assert.equal(change!.after.available - change!.before.available, 24);
    assert.equal(change!.sequence, 1);
  });

  it('applies an event exactly once, however often and concurrently it is delivered', async () => {
    const receipt = acmeEvent({ item_code: 'ACME-00011', qty: 5 });
    const before = (await position('SKU-00011', 'DC-01'))!.onHandWms;
    const outboxBefore = await outboxCount();

    const deliveries = await Promise.all([1, 2, 3, 4].map(() => postEvents(baseUrl, 'acme-wms', [receipt])));
    const again = await postEvents(baseUrl, 'acme-wms', [receipt, receipt]);

    const statuses = deliveries.map((delivery) => delivery.body.results[0].status).sort();
    assert.deepEqual(statuses, ['APPLIED', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE']);
    assert.deepEqual(again.body.results.map((r: { status: string }) => r.status), ['DUPLICATE', 'DUPLICATE']);
    assert.equal((await position('SKU-00011', 'DC-01'))!.onHandWms, before + 5);
    assert.equal(await outboxCount(), outboxBefore + 1);
  });

  it("publishes each applied event that moves an order, naming the order's reference, in the transaction that applies it", async () => {
    const confirmations = async () => (await database.db.prisma.eventOutbox.findMany({
      where: { type: warehouseEventApplied.type, id: { gte: firstOutboxIdOfTest } }, orderBy: { id: 'asc' },
    })).map((row) => row.payload as PayloadOf<typeof warehouseEventApplied>);
    const forOrder = (fields: Record<string, unknown>) => acmeEvent({ item_code: 'ACME-00016', order_no: 'WEB-777', ...fields });
    const stockBefore = (await position('SKU-00016', 'DC-01'))!;
    const stockChangesBefore = await outboxCount();

    const { body } = await postEvents(baseUrl, 'acme-wms', [
      forOrder({ txn_type: 'PCK', qty: 2 }),
      forOrder({ txn_type: 'PAK', qty: 2 }),
      forOrder({ txn_type: 'SHP', qty: 2 }),
      forOrder({ txn_type: 'DLV', qty: 2 }),
      forOrder({ txn_type: 'RCV', qty: 9 }),
      acmeEvent({ item_code: 'ACME-00016', txn_type: 'PCK', qty: 1 }),
      forOrder({ txn_type: 'RTN', qty: 1 }),
      forOrder({ txn_type: 'RST', qty: 1, subinv: 'DMG' }),
    ]);

    assert.equal(body.applied, 8);
    const published = await confirmations();
    assert.deepEqual(published.map((event) => [event.type, event.orderReference, event.quantity, event.subinventory, event.subinventoryNettable]), [
      ['PICK', 'WEB-777', 2, 'STOCK', true],
      ['PACK', 'WEB-777', 2, 'STOCK', true],
      ['SHIP', 'WEB-777', 2, 'STOCK', true],
      ['DELIVERY', 'WEB-777', 2, 'STOCK', true],
      ['RETURN_RECEIVED', 'WEB-777', 1, 'QA', false],
      ['RETURN_RESTOCKED', 'WEB-777', 1, 'DAMAGED', false],
    ], 'a receipt naming a purchase order moves no order, and a pick naming none is not published');
    assert.deepEqual([published[5]!.fromSubinventory, published[0]!.sku, published[0]!.locationId, published[0]!.source], ['QA', 'SKU-00016', 'DC-01', 'acme-wms']);
    assert.equal(await outboxCount(), stockChangesBefore + 6, 'the pack and the delivery change no stock: no stock change for them');
    assert.equal((await position('SKU-00016', 'DC-01'))!.onHandWms, stockBefore.onHandWms - 2 + 9);
  });

  it('dead-letters an event whose id was applied, or comes earlier in its batch, with other contents', async () => {
    const stock = async () => (await position('SKU-00012', 'DC-01'))!.onHandWms;
    const before = await stock();
    const first = acmeEvent({ item_code: 'ACME-00012', qty: 2 });
    await postEvents(baseUrl, 'acme-wms', [first]);
    const repeated = await postEvents(baseUrl, 'acme-wms', [first]);
    const changed = await postEvents(baseUrl, 'acme-wms', [{ ...first, qty: 7 }]);
    const twin = acmeEvent({ item_code: 'ACME-00012', qty: 1 });
    const inOneBatch = await postEvents(baseUrl, 'acme-wms', [twin, { ...twin, site: 'ORD1' }, twin]);

    const codes = (body: { results: { status: string; code?: string }[] }) => body.results.map((r) => r.code ?? r.status);
    assert.deepEqual([...codes(repeated.body), ...codes(changed.body)], ['DUPLICATE', 'CONFLICTING_DUPLICATE']);
    assert.match(changed.body.results[0].reason, new RegExp(`^event id ${first.event_id} was applied before with other contents; this one is not applied$`));
    assert.deepEqual(codes(inOneBatch.body), ['APPLIED', 'CONFLICTING_DUPLICATE', 'DUPLICATE']);
    assert.equal(await stock(), before + 3, 'each id applied once, with its first contents');
  });

  it('orders by source sequence: a count supersedes older movements, even when they arrive late', async () => {
    const count = acmeEvent({ item_code: 'ACME-00012', txn_type: 'CNT', qty: 70, seq: 1_000_010 });
    const lateReceipt = acmeEvent({ item_code: 'ACME-00012', qty: 5, seq: 1_000_008 });
    const newerReceipt = acmeEvent({ item_code: 'ACME-00012', qty: 3, seq: 1_000_011 });

    const first = await postEvents(baseUrl, 'acme-wms', [newerReceipt, count]);
    const late = await postEvents(baseUrl, 'acme-wms', [lateReceipt]);

    assert.deepEqual(first.body.results.map((r: { status: string }) => r.status), ['APPLIED', 'APPLIED']);
    assert.deepEqual(late.body.results.map((r: { status: string }) => r.status), ['SUPERSEDED']);
    assert.equal((await position('SKU-00012', 'DC-01'))!.onHandWms, 73, 'the count (70) then the newer receipt (3), in sequence order');
  });

  it('adds to a late count the newer movements of its position that were applied before it arrived', async () => {
    const event = (fields: Record<string, unknown>) => acmeEvent({ item_code: 'ACME-00027', ...fields });
    await postEvents(baseUrl, 'acme-wms', [event({ qty: 3, seq: 6_000_011 }), event({ txn_type: 'ADJ', qty: -1, seq: 6_000_012 })]);
    await postEvents(baseUrl, 'acme-wms', [event({ qty: 100, seq: 6_000_005 })]);

    const late = await postEvents(baseUrl, 'acme-wms', [event({ txn_type: 'CNT', qty: 70, seq: 6_000_010 }), event({ qty: 4, seq: 6_000_013 })]);

    assert.deepEqual(late.body.results.map((r: { status: string }) => r.status), ['APPLIED', 'APPLIED']);
    assert.equal((await position('SKU-00027', 'DC-01'))!.onHandWms, 76, 'counted 70, then +3 and -1 applied before the count arrived, then +4 after it');

    // The same for a late snapshot of a location (DEN1 is DC-04, which no other test uses).
    await postEvents(baseUrl, 'acme-wms', [event({ site: 'DEN1', qty: 2, seq: 6_100_011 })]);
    await postEvents(baseUrl, 'acme-wms', [acmeEvent({ txn_type: 'SNAP', site: 'DEN1', seq: 6_100_010, lines: [{ item_code: 'ACME-00027', qty: 9, uom: 'EA' }] })]);
    assert.equal((await position('SKU-00027', 'DC-04'))!.onHandWms, 11);
  });

  it('lets a cycle count supersede only what it counted: late changes to other buckets and positions apply', async () => {
    const event = (fields: Record<string, unknown>) => acmeEvent({ item_code: 'ACME-00021', ...fields });
    const stockBefore = (await position('SKU-00021', 'DC-01'))!;
    const returnsBefore = (await position('SKU-00021', 'DC-01', 'RETURNS'))?.onHandWms ?? 0;
    await postEvents(baseUrl, 'acme-wms', [event({ txn_type: 'PCK', qty: 4, seq: 3_000_001 }), event({ txn_type: 'CNT', qty: 70, seq: 3_000_010 })]);

    const late = await postEvents(baseUrl, 'acme-wms', [
      event({ txn_type: 'SHP', qty: 4, seq: 3_000_005 }),
      event({ txn_type: 'QHD', qty: 2, seq: 3_000_006 }),
      event({ txn_type: 'RTN', subinv: 'RET', qty: 3, seq: 3_000_007 }),
      event({ qty: 5, seq: 3_000_008 }),
    ]);

    assert.deepEqual(late.body.results.map((r: { status: string }) => r.status), ['APPLIED', 'APPLIED', 'APPLIED', 'SUPERSEDED']);
    const stock = (await position('SKU-00021', 'DC-01'))!;
    assert.equal(stock.onHandWms, 70, 'the count includes the late ship and the late receipt into STOCK');
    assert.equal(stock.allocated, stockBefore.allocated, 'the late ship still releases what the pick allocated');
    assert.equal(stock.qualityHold, stockBefore.qualityHold + 2, 'a count does not count holds');
    assert.equal((await position('SKU-00021', 'DC-01', 'RETURNS'))!.onHandWms, returnsBefore + 3, 'nor other subinventories');
    assert.equal(stock.lastCountSequence, 3_000_010n);
  });

  it('records a count that confirms the on hand, and one that opens a position', async () => {
    const event = (fields: Record<string, unknown>) => acmeEvent({ item_code: 'ACME-00026', ...fields });
    const onHand = (await position('SKU-00026', 'DC-01'))!.onHandWms;
    assert.equal(await position('SKU-00026', 'DC-01', 'RETURNS'), null);
    await postEvents(baseUrl, 'acme-wms', [
      event({ txn_type: 'CNT', qty: onHand, seq: 5_000_010 }),
      event({ txn_type: 'CNT', subinv: 'RET', qty: 2, seq: 5_000_011 }),
    ]);

    const late = await postEvents(baseUrl, 'acme-wms', [event({ qty: 5, seq: 5_000_005 }), event({ txn_type: 'RTN', subinv: 'RET', qty: 1, seq: 5_000_006 })]);

    assert.deepEqual(late.body.results.map((r: { status: string }) => r.status), ['SUPERSEDED', 'SUPERSEDED']);
    assert.equal((await position('SKU-00026', 'DC-01'))!.onHandWms, onHand);
    assert.equal((await position('SKU-00026', 'DC-01', 'RETURNS'))!.onHandWms, 2);
  });

  it('lets a location snapshot supersede late on-hand changes of every position of the item there, listed or not', async () => {
    const holdBefore = (await position('SKU-00022', 'DC-12'))!.qualityHold;
    await postEvents(baseUrl, 'acme-wms', [acmeEvent({ txn_type: 'SNAP', site: 'MDT1', seq: 4_000_000, lines: [{ item_code: 'ACME-00022', qty: 9, uom: 'EA' }] })]);

    const late = await postEvents(baseUrl, 'acme-wms', [
      acmeEvent({ item_code: 'ACME-00022', site: 'MDT1', txn_type: 'RTN', subinv: 'RET', qty: 3, seq: 3_999_998 }),
      acmeEvent({ item_code: 'ACME-00022', site: 'MDT1', txn_type: 'QHD', qty: 1, seq: 3_999_999 }),
    ]);

    assert.deepEqual(late.body.results.map((r: { status: string }) => r.status), ['SUPERSEDED', 'APPLIED']);
    assert.equal((await position('SKU-00022', 'DC-12', 'RETURNS'))?.onHandWms ?? 0, 0, 'the snapshot counted RETURNS empty');
    const stock = (await position('SKU-00022', 'DC-12'))!;
    assert.deepEqual([stock.onHandWms, stock.qualityHold], [9, holdBefore + 1]);
  });

  it('keeps every event it cannot apply in the dead-letter store, applying the rest of the batch', async () => {
    const stockBefore = (await position('SKU-00005', 'DC-01'))!.onHandWms;
    const batch = [
      acmeEvent({ item_code: 'ACME-00005', qty: 1 }),
      acmeEvent({ item_code: 'ACME-99999', qty: 1 }),
      acmeEvent({ qty: 'lots' }),
      acmeEvent({ site: 'XXX9' }),
      acmeEvent({ item_code: 'ACME-00005', txn_type: 'ADJ', qty: -1_000_000 }),
      acmeEvent({ item_code: 'ACME-00005', uom: 'KG' }),
      { nonsense: true },
    ];
    const { body } = await postEvents(baseUrl, 'acme-wms', batch);

    assert.deepEqual(
      body.results.map((r: { status: string; code?: string }) => r.code ?? r.status),
      ['APPLIED', 'UNKNOWN_SKU', 'INVALID_QUANTITY', 'UNKNOWN_LOCATION', 'NEGATIVE_STOCK', 'UNIT_MISMATCH', 'MALFORMED_EVENT'],
    );
    assert.equal((await position('SKU-00005', 'DC-01'))!.onHandWms, stockBefore + 1, 'only the good receipt changed stock');
    const letters = await graphql(baseUrl, '{ deadLetters(source: "acme-wms", first: 100) { nodes { code reason payload } } }');
    // Each kept exactly as it was sent: its text in the posted body.
    const payloads = new Set(batch.map((event) => JSON.stringify(event)));
    const ours = letters.data.deadLetters.nodes.filter((letter: { payload: string }) => payloads.has(letter.payload));
    const negative = ours.find((letter: { code: string }) => letter.code === 'NEGATIVE_STOCK');
    assert.match(negative.reason, /onHandWms in STOCK would go from \d+ to -\d+/);
    assert.equal(JSON.parse(negative.payload).qty, -1_000_000);
    assert.equal(ours.length, 6);
  });

  it('refuses quantities beyond the stock range and dead-letters an event the database refuses, applying the rest of its batch', async () => {
    const stock = async () => (await position('SKU-00011', 'DC-01'))!.onHandWms;
    const before = await stock();
    const { status, body } = await postEvents(baseUrl, 'acme-wms', [
      acmeEvent({ item_code: 'ACME-00011', qty: 1_000_000_000_000 }),
      acmeEvent({ item_code: 'ACME-00011', qty: 1e11, uom: 'CS' }),
      // In range alone, one past it once added to what the position holds.
      acmeEvent({ item_code: 'ACME-00011', qty: MAX_STOCK_QUANTITY - before + 1 }),
      acmeEvent({ item_code: 'ACME-00011', qty: 2 }),
      // PostgreSQL cannot store a NUL: this one passes every check and fails in the database.
      acmeEvent({ event_id: `acme-${process.pid}-nul\u0000id`, item_code: 'ACME-00011', qty: 1 }),
      acmeEvent({ item_code: 'ACME-00011', qty: 3 }),
    ]);

    assert.equal(status, 200);
    assert.deepEqual(
      body.results.map((r: { status: string; code?: string }) => r.code ?? r.status),
      ['QUANTITY_OUT_OF_RANGE', 'QUANTITY_OUT_OF_RANGE', 'QUANTITY_OUT_OF_RANGE', 'APPLIED', 'APPLY_FAILED', 'APPLIED'],
    );
    assert.match(body.results[0].reason, /quantity 1000000000000 EA is beyond 2,147,483,647, the largest quantity Stockgraph keeps/);
    assert.match(body.results[2].reason, /onHandWms in STOCK would go from \d+ to 2147483648, beyond 2,147,483,647/);
    assert.match(body.results[4].reason, /^it could not be applied: unsupported Unicode escape sequence/);
    assert.equal(await stock(), before + 5, 'the good receipts applied, nothing else');
    const letter = await database.db.prisma.deadLetter.findUniqueOrThrow({ where: { id: body.results[4].deadLetterId } });
    assert.equal((letter.payload as { event_id: string }).event_id, `acme-${process.pid}-nul\\u0000id`, 'parsed, the NUL is kept as text');
    const sent = await graphql(baseUrl, '{ deadLetters(source: "acme-wms", first: 100) { nodes { id payload } } }');
    const kept = sent.data.deadLetters.nodes.find((node: { id: string }) => node.id === letter.id);
    assert.match(kept.payload, new RegExp(`"event_id":"acme-${process.pid}-nul\\\\u0000id"`), 'and the text is exactly what was sent');
  });

  it('replays a dead letter once its cause is fixed', async () => {
    const { body } = await postEvents(baseUrl, 'acme-wms', [acmeEvent({ item_code: 'ACME-00777', qty: 4 })]);
    const deadLetterId = body.results[0].deadLetterId;
    await database.db.prisma.item.create({ data: { sku: 'SKU-00777', description: 'Added after the event', unitOfMeasure: 'EA' } });
    await database.db.prisma.subinventory.findFirstOrThrow({ where: { locationId: 'DC-01', code: 'STOCK' } });

    // A replica whose configuration lost the source fails the replay, which must not use it up.
    const withoutAcme = new WarehouseEventIngestion(database.db.prisma, loadExampleMappings().filter((mapping) => mapping.source !== 'acme-wms'));
    await assert.rejects(withoutAcme.replay(deadLetterId), UnknownSourceError);

    const replayMutation = 'mutation ($id: ID!) { replayDeadLetter(id: $id) { outcome replayed { id replayedAt } deadLetter { id } } }';
    const racing = await Promise.all([1, 2, 3].map(() => graphql(baseUrl, replayMutation, { id: deadLetterId })));
    const twice = await graphql(baseUrl, 'mutation ($id: ID!) { replayDeadLetter(id: $id) { outcome } }', { id: deadLetterId });
    const unknown = await graphql(baseUrl, 'mutation { replayDeadLetter(id: "DL-nope") { outcome } }');

    const replays = racing.filter((answer) => answer.data?.replayDeadLetter);
    assert.equal(replays.length, 1, 'racing replays apply the letter once');
    assert.deepEqual(racing.flatMap((answer) => answer.errors?.map((error) => error.extensions?.code) ?? []), ['DEAD_LETTER_ALREADY_REPLAYED', 'DEAD_LETTER_ALREADY_REPLAYED']);
    const replay = replays[0]!;
    assert.equal(replay.data.replayDeadLetter.outcome, 'APPLIED');
    assert.ok(replay.data.replayDeadLetter.replayed.replayedAt);
    assert.equal(replay.data.replayDeadLetter.deadLetter, null);
    assert.equal((await position('SKU-00777', 'DC-01'))!.onHandWms, 4);
    assert.equal(twice.errors?.[0]?.extensions?.code, 'DEAD_LETTER_ALREADY_REPLAYED');
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  });

  it('applies all of a snapshot or none of it', async () => {
    // CMH1 is DC-11, which no other test uses. The snapshot counted 1 of SKU-00031 before a
    // newer adjustment took 3: it cannot be, so it changes no position of the location, neither
    // SKU-00032's that it lists nor the others that it would set to zero.
    await postEvents(baseUrl, 'acme-wms', [acmeEvent({ item_code: 'ACME-00031', site: 'CMH1', txn_type: 'ADJ', qty: -3, seq: 7_000_020 })]);
    const stockAtDc11 = async () => (await database.db.prisma.stockPosition.findMany({ where: { locationId: 'DC-11' } }))
      .map((p) => `${p.sku} ${p.subinventory} ${p.lot} ${p.onHandWms}`).sort();
    const before = await stockAtDc11();

    const { body } = await postEvents(baseUrl, 'acme-wms', [acmeEvent({
      txn_type: 'SNAP', site: 'CMH1', seq: 7_000_010,
      lines: [{ item_code: 'ACME-00031', qty: 1, uom: 'EA' }, { item_code: 'ACME-00032', qty: 8, uom: 'EA' }],
    })]);

    assert.deepEqual([body.results[0].status, body.results[0].code], ['DEAD_LETTERED', 'NEGATIVE_STOCK']);
    assert.ok(before.length > 2);
    assert.deepEqual(await stockAtDc11(), before);
  });

  it('takes a new WMS source from a mapping file in WMS_MAPPINGS_DIR, in place of the examples', async () => {
    const acme = JSON.parse(readFileSync(join(EXAMPLE_MAPPINGS_DIR, 'acme-wms.json'), 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'stockgraph-mappings-'));
    writeFileSync(join(dir, 'globex.json'), JSON.stringify({ ...acme, source: 'globex-wms', fields: { ...acme.fields, quantity: 'units' } }));
    const globex = await startInventory(infrastructure, { WMS_MAPPINGS_DIR: dir, WMS_SOURCE_SECRETS: 'globex-wms=globex-secret,acme-wms=test-secret' });
    try {
      const before = (await position('SKU-00025', 'DC-01'))!.onHandWms;
      const { qty: _, ...receipt } = acmeEvent({ item_code: 'ACME-00025' });

      const applied = await postEvents(globex.url, 'globex-wms', [{ ...receipt, units: 6 }], { secret: 'globex-secret' });
      const unmapped = await postEvents(globex.url, 'acme-wms', [acmeEvent({ item_code: 'ACME-00025' })]);

      assert.deepEqual(applied.body.results.map((r: { status: string }) => r.status), ['APPLIED']);
      assert.equal((await position('SKU-00025', 'DC-01'))!.onHandWms, before + 6);
      assert.deepEqual([unmapped.status, unmapped.body.error.code], [401, 'BAD_SIGNATURE'], 'a source without a mapping is refused as a wrong signature is');
    } finally {
      await globex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps two WMS formats to the same stock change', async () => {
    const sku = 'SKU-00006';
    const before = (await position(sku, 'DC-03'))!.onHandWms;
    await postEvents(baseUrl, 'acme-wms', [acmeEvent({ item_code: 'ACME-00006', site: 'DFW1', qty: 1, uom: 'CS' })]);
    await postEvents(baseUrl, 'northwind-3pl', [{
      header: { messageId: `nw-${process.pid}-1`, sequenceNo: '1', timestamp: Date.now() },
      movement: { kind: 'goods-receipt', product: { sku }, warehouse: 'NW-DALLAS', bin: { zone: 'PICKFACE' }, quantity: { value: 12, unit: 'EACH' } },
    }], { secret: 'nw-secret' });

    assert.equal((await position(sku, 'DC-03'))!.onHandWms, before + 24);
    const changes = await publishedByThisTest();
    assert.deepEqual(changes.map((change) => change.after.onHandWms - change.before.onHandWms), [12, 12]);
    assert.deepEqual(changes.map((change) => change.sequence), [1, 2]);
  });

  it('sets a location to a full snapshot, zeroing what the snapshot does not list', async () => {
    const { body } = await postEvents(baseUrl, 'acme-wms', [acmeEvent({
      txn_type: 'SNAP', site: 'SEA1', seq: 2_000_000,
      lines: [{ item_code: 'ACME-00007', qty: 11, uom: 'EA' }, { item_code: 'ACME-00016', subinv: 'QC', qty: 2, uom: 'EA' }],
    })]);

    assert.equal(body.results[0].status, 'APPLIED');
    const positions = await database.db.prisma.stockPosition.findMany({ where: { locationId: 'DC-10', onHandWms: { gt: 0 } } });
    assert.deepEqual(
      positions.map((p) => [p.sku, p.subinventory, p.onHandWms]).sort(),
      [['SKU-00007', 'STOCK', 11], ['SKU-00016', 'QA', 2]],
    );
  });

  it('refuses a whole batch that is unsigned, wrongly signed, stale, oversize or malformed, changing nothing', async () => {
    const event = acmeEvent({ item_code: 'ACME-00017', qty: 1 });
    const stock = (await position('SKU-00017', 'DC-01'))!.onHandWms;
    const outbox = await outboxCount();
    const tooMany = Array.from({ length: 101 }, () => acmeEvent({ item_code: 'ACME-00017' }));

    const refusals = [
      await postEvents(baseUrl, 'acme-wms', [event], { signature: null }),
      await postEvents(baseUrl, 'acme-wms', [event], { secret: 'wrong' }),
      await postEvents(baseUrl, 'acme-wms', [event], { timestamp: Math.floor(Date.now() / 1000) - 3_600 }),
      await postEvents(baseUrl, 'acme-wms', tooMany),
      await postEvents(baseUrl, 'no-such-wms', [event]),
      await postEvents(baseUrl, 'no-such-wms', [event], { signature: null }),
    ];
    const malformed = await fetch(`${baseUrl}/events/acme-wms`, { method: 'POST', body: 'not json' });
    const oversize = await fetch(`${baseUrl}/events/acme-wms`, { method: 'POST', body: 'x'.repeat(8 * 1024 * 1024 + 1) });

    assert.deepEqual(
      refusals.map(({ status, body }) => [status, body.error.code]),
      [[401, 'MISSING_SIGNATURE'], [401, 'BAD_SIGNATURE'], [401, 'STALE_SIGNATURE'], [413, 'BATCH_TOO_LARGE'], [401, 'BAD_SIGNATURE'], [401, 'MISSING_SIGNATURE']],
    );
    assert.deepEqual(refusals[4]!.body, refusals[1]!.body, 'an unknown source is answered exactly as a wrong signature: no source listing');
    assert.equal(malformed.status, 401, 'an unsigned body is refused before it is parsed');
    assert.deepEqual([oversize.status, ((await oversize.json()) as { error: { code: string } }).error.code], [413, 'PAYLOAD_TOO_LARGE']);
    assert.equal((await position('SKU-00017', 'DC-01'))!.onHandWms, stock);
    assert.equal(await outboxCount(), outbox);
  });
});
