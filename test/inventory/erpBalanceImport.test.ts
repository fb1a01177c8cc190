import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { JobLease } from '../../platform/concurrency/jobLease.ts';
import type { Database } from '../../platform/database/database.ts';
import { closeServer, listen, type HttpRoute } from '../../platform/http/serviceHttpServer.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import type { ErpBalance } from '../../subgraphs/inventory/erp/erpBalance.ts';
import { ErpUnavailableError } from '../../subgraphs/inventory/erp/inventoryBalancesClient.ts';
import { erpBalancesRoute } from '../../subgraphs/inventory/http/erpBalancesRoute.ts';
import { ErpBalanceImport } from '../../subgraphs/inventory/services/erpBalanceImport.ts';
import { ERP_BALANCE_PULL_JOB, ErpBalancePoller } from '../../subgraphs/inventory/services/erpBalancePoller.ts';
import { useCleanup } from '../support/cleanup.ts';
import { collectingLogger } from '../support/collectingLogger.ts';
import { startErpSimulator, type OnhandBalanceRecord } from '../../simulators/erp/erpSimulator.ts';
import { createTestDatabase } from '../support/services.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';

const TOKEN = 'erp-upload-token-0123456789';
const asOf = new Date('2024-06-01T10:00:00Z');

interface PositionRow {
  sku: string;
  locationId: string;
  subinventory: string;
  lot: string;
  onHandWms: number;
  onHandErp: number;
  allocated: number;
  reserved: number;
  inboundInTransit: number;
  qualityHold: number;
}

interface OutboxRow {
  sku: string;
  locationId: string;
  causeType: string;
  causeId: string;
  before: { onHandErp: number; onHandWms: number };
  after: { onHandErp: number; onHandWms: number };
}

/** Every position of the given item x locations (all of them when none are given), in key order. */
function positions(db: Database, pairs?: readonly (readonly [sku: string, locationId: string])[]): Promise<PositionRow[]> {
  const skus = pairs?.map(([sku]) => sku) ?? null;
  const locationIds = pairs?.map(([, locationId]) => locationId) ?? null;
  return db.prisma.$queryRaw<PositionRow[]>`
    SELECT sku, location_id AS "locationId", subinventory, lot, on_hand_wms AS "onHandWms", on_hand_erp AS "onHandErp",
           allocated, reserved, inbound_in_transit AS "inboundInTransit", quality_hold AS "qualityHold"
      FROM stock_position
     WHERE ${skus}::text[] IS NULL OR (sku, location_id) IN (SELECT * FROM unnest(${skus}::text[], ${locationIds}::text[]))
     ORDER BY sku, location_id, subinventory, lot`;
}

async function erpOnHand(db: Database, sku: string, locationId: string, subinventory = 'STOCK', lot = ''): Promise<number | undefined> {
  const [row] = await db.prisma.$queryRaw<{ onHandErp: number }[]>`
    SELECT on_hand_erp AS "onHandErp" FROM stock_position
     WHERE sku = ${sku} AND location_id = ${locationId} AND subinventory = ${subinventory} AND lot = ${lot}`;
  return row?.onHandErp;
}

async function outbox(db: Database): Promise<OutboxRow[]> {
  return (await recordedStockChanges(db)).map(({ sku, locationId, cause, before, after }) => ({ sku, locationId, causeType: cause.type, causeId: cause.id, before, after }));
}

const balance = (sku: string, locationId: string, subinventory: string, onHand: number, lot = ''): ErpBalance =>
  ({ sku, locationId, subinventory, lot, onHand, asOf });

const csv = (...rows: string[]) => ['sku,location,subinventory,lot,on_hand', ...rows].join('\n');

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

function useSeededDatabase() {
  const cleanup = useCleanup();
  return {
    cleanup,
    /** A new database holding the demo data for `skuCount` SKUs at DC-01..DC-12. */
    seeded: async (skuCount = 20) => {
      const database = await createTestDatabase();
      cleanup(() => database.drop());
      await seedDemoData(database.db, { skuCount });
      // Statistics, as autovacuum gathers them after a bulk load: without them the planner
      // takes the freshly loaded tables for empty and joins 5,000 positions in seconds, not milliseconds.
      await database.db.runScript('ANALYZE');
      return database.db;
    },
  };
}

describe('ErpBalanceImport', () => {
  const { seeded } = useSeededDatabase();

  it('sets ERP on hand from a CSV upload and leaves every warehouse bucket alone', async () => {
    const db = await seeded();
    const pairs = [['SKU-00002', 'DC-01'], ['SKU-00003', 'DC-02']] as const;
    const before = await positions(db, pairs);
    const erp = new ErpBalanceImport(db.prisma, { source: 'oracle-fusion' });

    const result = await erp.importCsv(csv('SKU-00002,DC-01,STOCK,,7001', 'SKU-00003,DC-02,STOCK,,7002'));

    assert.deepEqual(result, { received: 2, updated: 2, unchanged: 0, rejected: [] });
    const expected = new Map([['SKU-00002', 7001], ['SKU-00003', 7002]]);
    assert.deepEqual(
      await positions(db, pairs),
      before.map((position) => (position.subinventory === 'STOCK' ? { ...position, onHandErp: expected.get(position.sku)! } : position)),
    );
    const [stamp] = await db.prisma.$queryRaw<{ source: string }[]>`
      SELECT bucket_changes -> 'onHandErp' ->> 'source' AS source FROM stock_level WHERE sku = 'SKU-00002' AND location_id = 'DC-01'`;
    assert.equal(stamp?.source, 'oracle-fusion');
  });

  it('writes one stock change per changed item x location, with ERP on hand before and after, and none for a level that already matches', async () => {
    const db = await seeded();
    const stockBefore = (await erpOnHand(db, 'SKU-00002', 'DC-01'))!;
    const unchangedLevel = (await erpOnHand(db, 'SKU-00003', 'DC-01'))!;
    const { onHandWms } = (await positions(db, [['SKU-00002', 'DC-01']])).find((position) => position.subinventory === 'STOCK')!;
    const sequences = () => db.prisma.stockLevel.findMany({ where: { locationId: 'DC-01', sku: { in: ['SKU-00002', 'SKU-00003'] } }, orderBy: { sku: 'asc' }, select: { sequence: true } });
    const [sequence2, sequence3] = await sequences();

    const result = await new ErpBalanceImport(db.prisma, {}).importCsv(csv(
      'SKU-00002,DC-01,STOCK,,7001',
      'SKU-00002,DC-01,RETURNS,,2',
      `SKU-00003,DC-01,STOCK,,${unchangedLevel}`,
    ));

    assert.deepEqual(result, { received: 3, updated: 1, unchanged: 1, rejected: [] });
    const rows = await outbox(db);
    assert.equal(rows.length, 1);
    const [row] = rows as [OutboxRow];
    assert.deepEqual([row.sku, row.locationId, row.causeType], ['SKU-00002', 'DC-01', 'ERP_BALANCE']);
    assert.match(row.causeId, /^erp-import:[0-9a-f-]{36}$/);
    assert.deepEqual([row.before.onHandErp, row.after.onHandErp], [stockBefore, 7001]);
    assert.deepEqual([row.before.onHandWms, row.after.onHandWms], [onHandWms, onHandWms]);
    assert.equal(await erpOnHand(db, 'SKU-00002', 'DC-01', 'RETURNS'), 2, 'a position the ERP knows of is created');
    assert.deepEqual(await sequences(), [{ sequence: sequence2!.sequence + 1n }, sequence3]);
  });

  it('counts a second import of the same balances as unchanged and changes nothing', async () => {
    const db = await seeded();
    const erp = new ErpBalanceImport(db.prisma, {});
    const upload = csv('SKU-00002,DC-01,STOCK,,7001', 'SKU-00010,DC-01,STOCK,SKU-00010-A,7002', 'SKU-00010,DC-01,STOCK,SKU-00010-B,7003');
    await erp.importCsv(upload);
    const [positionsAfterFirst, outboxAfterFirst] = await Promise.all([positions(db), outbox(db)]);

    const result = await erp.importCsv(upload);

    assert.deepEqual(result, { received: 3, updated: 0, unchanged: 2, rejected: [] });
    assert.deepEqual(await positions(db), positionsAfterFirst);
    assert.equal((await outbox(db)).length, outboxAfterFirst.length);
  });

  it('reports every unreadable CSV row with its line and applies every other row', async () => {
    const db = await seeded();

    const result = await new ErpBalanceImport(db.prisma, {}).importCsv(csv(
      'SKU-00002,DC-01,STOCK,,7001', //    line 2
      'SKU-00003,DC-01,STOCK,,-4', //      line 3
      '', //                               line 4: blank, skipped
      'SKU-00004,DC-01,STOCK,7003', //     line 5
      'SKU-00005,DC-01,STOCK,,7004', //    line 6
    ));

    assert.deepEqual(result, {
      received: 4,
      updated: 2,
      unchanged: 0,
      rejected: [
        { line: 3, reason: 'on_hand "-4" must be a whole number of at least 0' },
        { line: 5, reason: 'has 4 fields, the header has 5' },
      ],
    });
    assert.deepEqual([await erpOnHand(db, 'SKU-00002', 'DC-01'), await erpOnHand(db, 'SKU-00005', 'DC-01')], [7001, 7004]);
  });

  it('refuses balances the catalogue does not know, and the other balances of their item x location, numbered by position', async () => {
    const db = await seeded();
    const untouched = [['SKU-00003', 'DC-01'], ['SKU-00006', 'DC-03']] as const;
    const before = await positions(db, untouched);

    const result = await new ErpBalanceImport(db.prisma, {}).apply([
      balance('SKU-99999', 'DC-01', 'STOCK', 7001),
      balance('SKU-00002', 'DC-99', 'STOCK', 7002),
      balance('SKU-00003', 'DC-01', 'BULK', 7003),
      balance('SKU-00003', 'DC-01', 'STOCK', 7004),
      balance('SKU-00004', 'DC-01', 'STOCK', 7005, 'L-1'),
      balance('SKU-00010', 'DC-01', 'STOCK', 7006),
      balance('SKU-00010', 'DC-02', 'STOCK', 7007, 'SKU-00010-A'),
      balance('SKU-00005', 'DC-01', 'STOCK', 7008),
      balance('SKU-00006', 'DC-03', 'STOCK', 7009),
      balance('SKU-00006', 'DC-03', 'STOCK', 7010),
    ]);

    assert.deepEqual(result, {
      received: 10,
      updated: 2,
      unchanged: 0,
      rejected: [
        { line: 1, reason: 'SKU SKU-99999 does not exist' },
        { line: 2, reason: 'location DC-99 does not exist' },
        { line: 3, reason: 'subinventory BULK does not exist at DC-01' },
        { line: 4, reason: 'not applied: line 3 for SKU-00003 at DC-01 was rejected' },
        { line: 5, reason: 'SKU-00004 is not lot-controlled, yet the balance names lot L-1' },
        { line: 6, reason: 'SKU-00010 is lot-controlled: the balance must name a lot' },
        { line: 9, reason: 'not applied: line 10 for SKU-00006 at DC-03 was rejected' },
        { line: 10, reason: 'duplicate of line 9' },
      ],
    });
    assert.deepEqual(await positions(db, untouched), before);
    assert.equal(await erpOnHand(db, 'SKU-00010', 'DC-02', 'STOCK', 'SKU-00010-A'), 7007);
    assert.equal(await erpOnHand(db, 'SKU-00005', 'DC-01'), 7008);
    assert.deepEqual((await outbox(db)).map((row) => `${row.sku}@${row.locationId}`), ['SKU-00010@DC-02', 'SKU-00005@DC-01']);
  });

  it('leaves positions an import does not list alone in partial mode, and sets them to 0 in full mode', async () => {
    const db = await seeded();
    const lotB = () => erpOnHand(db, 'SKU-00010', 'DC-01', 'STOCK', 'SKU-00010-B');
    const lotBBefore = await lotB();
    const otherLocation = await positions(db, [['SKU-00010', 'DC-02']]);
    const erp = new ErpBalanceImport(db.prisma, {});
    const lotA = [balance('SKU-00010', 'DC-01', 'STOCK', 7001, 'SKU-00010-A')];

    const partial = await erp.apply(lotA, 'partial');
    const lotBAfterPartial = await lotB();
    const full = await erp.apply(lotA, 'full');

    assert.equal(partial.updated, 1);
    assert.equal(lotBAfterPartial, lotBBefore);
    assert.ok(lotBBefore! > 0);
    assert.equal(full.updated, 1, 'lot B going to 0 is a change of the level');
    assert.equal(await lotB(), 0);
    assert.deepEqual(await positions(db, [['SKU-00010', 'DC-02']]), otherLocation, 'a location the import does not name is untouched');
  });
});

describe('POST /erp/balances', () => {
  const { cleanup, seeded } = useSeededDatabase();

  /** Serves `route` alone on a free port, as the service's HTTP server would. */
  async function serve(route: HttpRoute): Promise<string> {
    const server = createServer((request, response) => {
      const match = new URL(request.url!, 'http://x').pathname.match(route.path);
      if (match && request.method === route.method) void route.handle(request, response, match);
      else {
        response.statusCode = 404;
        response.end();
      }
    });
    const url = await listen(server, 0, '127.0.0.1');
    cleanup(() => closeServer(server));
    return `${url}/erp/balances`;
  }

  async function upload(token: string | null, importerOptions: ConstructorParameters<typeof ErpBalanceImport>[1] = {}) {
    const db = await seeded();
    const { calls, logger } = collectingLogger();
    let commits = 0;
    const url = await serve(erpBalancesRoute({ importer: new ErpBalanceImport(db.prisma, importerOptions), token, logger, onCommitted: () => commits++ }));
    const post = async (body: string, headers: Record<string, string>) => {
      const response = await fetch(url, { method: 'POST', headers, body });
      return { status: response.status, body: await response.json() as Record<string, unknown> };
    };
    return { db, post, calls, commits: () => commits };
  }

  const authorized = { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv; charset=utf-8' };

  it('applies an authenticated CSV and answers what became of it', async () => {
    const { db, post, calls, commits } = await upload(TOKEN);

    const response = await post(csv('SKU-00002,DC-01,STOCK,,7001', 'SKU-00003,DC-01,STOCK,,many', 'SKU-99999,DC-01,STOCK,,4'), authorized);

    assert.deepEqual(response, {
      status: 200,
      body: {
        received: 3,
        updated: 1,
        unchanged: 0,
        rejectedCount: 2,
        rejected: [
          { line: 3, reason: 'on_hand "many" must be a whole number of at least 0' },
          { line: 4, reason: 'SKU SKU-99999 does not exist' },
        ],
      },
    });
    assert.equal(await erpOnHand(db, 'SKU-00002', 'DC-01'), 7001);
    assert.equal(commits(), 1);
    assert.deepEqual(calls.error, []);
  });

  it('lists the first 1,000 rejected rows, by line, and counts them all', async () => {
    const { post } = await upload(TOKEN);
    const junk = Array.from({ length: 1_500 }, (_, i) => `SKU-00002,DC-01,STOCK,,${'x'.repeat(i % 7 + 1)}`);

    const { status, body } = await post(csv('SKU-00002,DC-01,STOCK,,42', ...junk), authorized);

    assert.equal(status, 200);
    assert.deepEqual([body.received, body.updated, body.rejectedCount], [1_501, 1, 1_500]);
    const rejected = body.rejected as { line: number }[];
    assert.equal(rejected.length, 1_000);
    assert.deepEqual([rejected[0]!.line, rejected.at(-1)!.line], [3, 1_002]);
  });

  it('answers 503 IMPORT_INTERRUPTED naming exactly the rows applied when the database fails partway', async () => {
    // Two item x locations per transaction; the database refuses the fifth one's position.
    const { db, post, calls, commits } = await upload(TOKEN, { changesPerTransaction: 2 });
    await db.prisma.$executeRawUnsafe(`
      CREATE FUNCTION refuse_sku_00006() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.sku = 'SKU-00006' THEN RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$`);
    await db.prisma.$executeRawUnsafe('CREATE TRIGGER refuse_sku_00006 BEFORE INSERT OR UPDATE ON stock_position FOR EACH ROW EXECUTE FUNCTION refuse_sku_00006()');
    const rows = ['SKU-00002', 'SKU-00003', 'SKU-00004', 'SKU-00005', 'SKU-00006', 'SKU-00007'].map((sku, i) => `${sku},DC-01,STOCK,,${9_000 + i}`);
    const before = await Promise.all(['SKU-00006', 'SKU-00007'].map((sku) => erpOnHand(db, sku, 'DC-01')));

    const { status, body } = await post(csv(...rows), authorized);

    assert.equal(status, 503);
    assert.deepEqual(body.error, {
      code: 'IMPORT_INTERRUPTED',
      message: 'The database failed after 4 of 6 item x locations were applied: the rows in appliedLines were applied, no other.'
        + ' Uploading the same file again is safe: it sets balances, it does not add to them',
    });
    assert.deepEqual(body.appliedLines, [[2, 5]]);
    assert.deepEqual(await Promise.all(['SKU-00002', 'SKU-00003', 'SKU-00004', 'SKU-00005'].map((sku) => erpOnHand(db, sku, 'DC-01'))), [9_000, 9_001, 9_002, 9_003]);
    assert.deepEqual(await Promise.all(['SKU-00006', 'SKU-00007'].map((sku) => erpOnHand(db, sku, 'DC-01'))), before, 'no other row applied');
    assert.equal(commits(), 1, 'what committed is published');
    assert.match(String((calls.error[0]?.[0] as { err?: Error })?.err?.message), /the disk is full/);
  });

  const refusals: { name: string; token: string | null; headers: Record<string, string>; body?: string; status: number; code: string; message?: RegExp }[] = [
    { name: 'no token is configured', token: null, headers: authorized, status: 401, code: 'ERP_IMPORT_NOT_CONFIGURED' },
    { name: 'the request has no token', token: TOKEN, headers: { 'content-type': 'text/csv' }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'the token is wrong', token: TOKEN, headers: { ...authorized, authorization: `Bearer ${TOKEN}x` }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'the token is sent as Basic credentials', token: TOKEN, headers: { ...authorized, authorization: `Basic ${TOKEN}` }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'the body is JSON', token: TOKEN, headers: { ...authorized, 'content-type': 'application/json' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    {
      name: 'the header row lacks a column',
      token: TOKEN,
      headers: authorized,
      body: 'sku,location,subinventory\nSKU-00002,DC-01,STOCK',
      status: 400,
      code: 'MALFORMED_CSV',
      message: /Balances CSV header lacks the column on_hand/,
    },
  ];
  for (const refusal of refusals) {
    it(`answers ${refusal.status} ${refusal.code} and changes nothing when ${refusal.name}`, async () => {
      const { db, post, commits } = await upload(refusal.token);
      const before = await positions(db, [['SKU-00002', 'DC-01']]);

      const response = await post(refusal.body ?? csv('SKU-00002,DC-01,STOCK,,7001'), refusal.headers);

      assert.equal(response.status, refusal.status);
      const error = response.body.error as { code: string; message: string };
      assert.equal(error.code, refusal.code);
      assert.match(error.message, refusal.message ?? /\S/);
      assert.deepEqual(await positions(db, [['SKU-00002', 'DC-01']]), before);
      assert.deepEqual(await outbox(db), []);
      assert.equal(commits(), 0);
    });
  }
});

describe('pulling balances from the ERP', () => {
  const { cleanup, seeded } = useSeededDatabase();
  const organizationLocations = { ATL: 'DC-01', DFW: 'DC-02' };

  const record = (sku: string, organization: string, quantity: number, lot: string | null = null): OnhandBalanceRecord =>
    ({ ItemNumber: sku, OrganizationCode: organization, SubinventoryCode: 'STOCK', LotNumber: lot, PrimaryQuantity: quantity, PrimaryUOMCode: 'Ea' });

  async function simulator(records: readonly OnhandBalanceRecord[]) {
    const erp = await startErpSimulator({ records });
    cleanup(() => erp.stop());
    return erp;
  }

  it('applies every page in full mode, retrying a page answered 503: a position the ERP no longer lists goes to 0', async () => {
    const db = await seeded();
    const erp = await simulator([
      record('SKU-00010', 'ATL', 7001, 'SKU-00010-A'),
      record('SKU-00002', 'DFW', 7002),
      record('SKU-00003', 'LHR', 7003),
      record('SKU-00004', 'ATL', 7004),
    ]);
    erp.failNext(1, 503, { offset: 2 });
    const untouched = await positions(db, [['SKU-00010', 'DC-02']]);

    const result = await new ErpBalanceImport(db.prisma, {}).pull({ baseUrl: erp.baseUrl, organizationLocations, pageSize: 2, backoffMs: 1 });

    assert.deepEqual(result, {
      received: 4,
      updated: 3,
      unchanged: 0,
      rejected: [{ line: 3, reason: 'OrganizationCode "LHR" is not mapped to a Stockgraph location' }],
      pages: 2,
    });
    assert.deepEqual(erp.requests.map((request) => Number(request.query.offset)), [0, 2, 2]);
    assert.equal(await erpOnHand(db, 'SKU-00010', 'DC-01', 'STOCK', 'SKU-00010-A'), 7001);
    assert.equal(await erpOnHand(db, 'SKU-00010', 'DC-01', 'STOCK', 'SKU-00010-B'), 0);
    assert.equal(await erpOnHand(db, 'SKU-00002', 'DC-02'), 7002);
    assert.equal(await erpOnHand(db, 'SKU-00004', 'DC-01'), 7004);
    assert.deepEqual(await positions(db, [['SKU-00010', 'DC-02']]), untouched);
  });

  it('changes nothing when the ERP stays down', async () => {
    const db = await seeded();
    const erp = await simulator([record('SKU-00002', 'ATL', 7001)]);
    erp.failNext(10, 503);
    const before = await positions(db);

    await assert.rejects(
      new ErpBalanceImport(db.prisma, {}).pull({ baseUrl: erp.baseUrl, organizationLocations, maxAttempts: 3, backoffMs: 1 }),
      ErpUnavailableError,
    );

    assert.deepEqual(await positions(db), before);
    assert.deepEqual(await outbox(db), []);
  });

  it('polls on: a failed pull is logged at warn and the next one applies', async () => {
    const db = await seeded();
    const erp = await simulator([record('SKU-00002', 'ATL', 7001)]);
    erp.failNext(2, 503);
    const { calls, logger } = collectingLogger();
    const committed = deferred();
    const poller = new ErpBalancePoller(
      new ErpBalanceImport(db.prisma, {}),
      { baseUrl: erp.baseUrl, organizationLocations, maxAttempts: 2, backoffMs: 1 },
      { lease: pullLease(db, 5), logger, onCommitted: committed.resolve },
    );
    cleanup(() => poller.stop());

    poller.start();
    await committed.promise;
    await poller.stop();

    assert.equal(calls.warn.length, 1);
    assert.match(String(calls.warn[0]![1]), /^ERP balance pull failed: ERP inventory balances page at offset 0 failed 2 times; last: answered 503/);
    assert.deepEqual(calls.error, []);
    assert.equal(await erpOnHand(db, 'SKU-00002', 'DC-01'), 7001);
  });

  it('pulls on one replica at a time, once per interval across them', async () => {
    const db = await seeded();
    const erp = await simulator([record('SKU-00002', 'ATL', 7001)]);
    const { logger } = collectingLogger();
    const replicas = ['replica-a', 'replica-b'].map((holder) => new ErpBalancePoller(
      new ErpBalanceImport(db.prisma, {}),
      { baseUrl: erp.baseUrl, organizationLocations },
      { lease: pullLease(db, 60_000, holder), logger, onCommitted: () => {} },
    ));
    cleanup(() => Promise.all(replicas.map((poller) => poller.stop())));

    const first = await Promise.all(replicas.map((poller) => poller.pullIfDue()));
    const again = await Promise.all(replicas.map((poller) => poller.pullIfDue()));

    assert.equal(first.filter((pulled) => pulled !== null).length, 1, 'one replica pulled');
    assert.deepEqual(again, [null, null], 'and neither again within the interval');
    assert.equal(erp.requests.length, 1);
  });

  it('hands the pull to another replica once the one holding it has died', async () => {
    const db = await seeded();
    const erp = await simulator([record('SKU-00002', 'ATL', 7001)]);
    // A replica took the lease for a minute and died before finishing.
    await db.query(`INSERT INTO job_lease (job, holder, expires_at) VALUES ($1, 'dead-replica', now() + interval '1 minute')`, [ERP_BALANCE_PULL_JOB]);
    const poller = new ErpBalancePoller(
      new ErpBalanceImport(db.prisma, {}),
      { baseUrl: erp.baseUrl, organizationLocations },
      { lease: pullLease(db, 60_000), logger: collectingLogger().logger, onCommitted: () => {} },
    );
    cleanup(() => poller.stop());

    assert.equal(await poller.pullIfDue(), null, 'held by the other replica');
    await db.query(`UPDATE job_lease SET expires_at = now() - interval '1 second'`); // the minute passes
    assert.notEqual(await poller.pullIfDue(), null, 'taken over once its lease ran out');
    assert.equal(erp.requests.length, 1);
  });

  it('stop() aborts a pull under way, which pullNow joins rather than repeats', async () => {
    const db = await seeded();
    const requested = deferred();
    const hangingErp = createServer(() => requested.resolve());
    const baseUrl = await listen(hangingErp, 0, '127.0.0.1');
    cleanup(() => closeServer(hangingErp));
    const { calls, logger } = collectingLogger();
    const poller = new ErpBalancePoller(
      new ErpBalanceImport(db.prisma, {}),
      { baseUrl, organizationLocations, timeoutMs: 60_000 },
      { lease: pullLease(db, 60_000), logger, onCommitted: () => assert.fail('nothing was pulled') },
    );

    poller.start();
    await requested.promise;
    const joined = poller.pullNow();
    assert.equal(poller.pullNow(), joined);
    const stoppedAt = performance.now();
    await poller.stop();

    assert.ok(performance.now() - stoppedAt < 1_000, 'stop() did not wait for the 60-second timeout');
    await assert.rejects(joined, /ERP balance poller stopped/);
    await assert.rejects(poller.pullNow(), /ERP balance poller stopped/);
    assert.deepEqual([calls.warn, calls.error], [[], []]);
  });
});

/** The ERP pull's lease, as inventorySubgraph makes it. */
function pullLease(db: Database, intervalMs: number, holder = 'this-replica'): JobLease {
  return new JobLease(db.prisma, { job: ERP_BALANCE_PULL_JOB, holder, intervalMs, leaseMs: 60_000 });
}

describe('a 60,000-balance import', () => {
  const { seeded } = useSeededDatabase();

  it('applies in chunks and writes one stock change per changed item x location', async (t) => {
    const db = await seeded(5_000);
    const stored = await db.prisma.$queryRaw<{ sku: string; locationId: string; lot: string; onHandErp: number }[]>`
      SELECT sku, location_id AS "locationId", lot, on_hand_erp AS "onHandErp" FROM stock_position
       WHERE subinventory = 'STOCK' AND (lot = '' OR lot LIKE '%-A') ORDER BY sku, location_id`;
    assert.equal(stored.length, 60_000);
    // Every third level already matches; the others move by one.
    const rows = stored.map((position, index) => `${position.sku},${position.locationId},STOCK,${position.lot},${position.onHandErp + (index % 3 === 0 ? 0 : 1)}`);
    const changed = stored.length - Math.ceil(stored.length / 3);

    const startedAt = performance.now();
    const result = await new ErpBalanceImport(db.prisma, {}).importCsv(csv(...rows));
    const elapsedMs = performance.now() - startedAt;
    t.diagnostic(`60,000 balances imported in ${Math.round(elapsedMs)} ms`);

    assert.deepEqual(result, { received: 60_000, updated: changed, unchanged: 60_000 - changed, rejected: [] });
    assert.equal((await recordedStockChanges(db)).filter((change) => change.cause.type === 'ERP_BALANCE').length, changed);
    const last = stored.at(-1)!;
    assert.equal(await erpOnHand(db, last.sku, last.locationId, 'STOCK', last.lot), last.onHandErp + ((stored.length - 1) % 3 === 0 ? 0 : 1));
  });
});
