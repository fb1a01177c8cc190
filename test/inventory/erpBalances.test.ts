import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBalancesCsv } from '../../subgraphs/inventory/erp/balancesCsv.ts';
import {
  ErpUnavailableError,
  pullInventoryBalances,
  type InventoryBalancesClientOptions,
} from '../../subgraphs/inventory/erp/inventoryBalancesClient.ts';
import { useCleanup } from '../support/cleanup.ts';
import { startErpSimulator, type ErpSimulator, type OnhandBalanceRecord } from '../../simulators/erp/erpSimulator.ts';

const organizationLocations = { ATL: 'DC-01', DFW: 'DC-02' };

/** A lot-level balance as Oracle sends it. */
function oracleRecord(n: number, overrides: OnhandBalanceRecord = {}): OnhandBalanceRecord {
  return {
    ItemNumber: `SKU-${String(n).padStart(5, '0')}`,
    OrganizationCode: n % 2 ? 'ATL' : 'DFW',
    SubinventoryCode: 'STORES',
    LotNumber: null,
    PrimaryQuantity: n,
    PrimaryUOMCode: 'Ea',
    ...overrides,
  };
}

const records = (count: number) => Array.from({ length: count }, (_, index) => oracleRecord(index + 1));
const offsetsRequested = (erp: ErpSimulator) => erp.requests.map((request) => Number(request.query.offset));

describe('pullInventoryBalances', () => {
  const cleanup = useCleanup();
  const simulator = async (options?: Parameters<typeof startErpSimulator>[0]) => {
    const erp = await startErpSimulator(options);
    cleanup(() => erp.stop());
    return erp;
  };
  const pull = (erp: ErpSimulator, options: Partial<InventoryBalancesClientOptions> = {}, signal?: AbortSignal) =>
    pullInventoryBalances({ baseUrl: erp.baseUrl, organizationLocations, backoffMs: 1, ...options }, signal);

  it('pulls every page: 1,234 records in pages of 500', async () => {
    const erp = await simulator({ records: records(1_234) });
    const before = Date.now();

    const result = await pull(erp, { pageSize: 500 });

    assert.equal(result.pages, 3);
    assert.deepEqual(result.rejected, []);
    assert.equal(result.balances.length, 1_234);
    assert.deepEqual(offsetsRequested(erp), [0, 500, 1_000]);
    assert.ok(erp.requests.every((request) =>
      request.method === 'GET' && request.path === '/fscmRestApi/resources/11.13.18.05/inventoryOnhandBalances' && request.query.limit === '500'));
    const [first] = result.balances;
    assert.deepEqual({ ...first, asOf: undefined }, { sku: 'SKU-00001', locationId: 'DC-01', subinventory: 'STORES', lot: '', onHand: 1, asOf: undefined, line: 1 });
    assert.equal(result.balances[1_233]!.sku, 'SKU-01234');
    assert.ok(result.balances.every((balance) => balance.asOf === first!.asOf), 'one asOf for the whole pull');
    assert.ok(first!.asOf.getTime() >= before && first!.asOf.getTime() <= Date.now());
  });

  it('moves on by the records received when the ERP sends fewer than asked for', async () => {
    const erp = await simulator({ records: records(1_234) });

    const result = await pull(erp, { pageSize: 2_000 });

    assert.equal(result.balances.length, 1_234);
    assert.deepEqual(offsetsRequested(erp), [0, 500, 1_000], 'the simulator, like Fusion, caps a page at 500');
  });

  it('maps organization codes to locations and rejects unknown ones with a reason', async () => {
    const erp = await simulator({
      records: [
        oracleRecord(1, { OrganizationCode: 'ATL' }),
        oracleRecord(2, { OrganizationCode: 'LHR' }),
        oracleRecord(3, { OrganizationCode: 'DFW', LotNumber: 'L-778' }),
        oracleRecord(4, { OrganizationCode: null }),
      ],
    });

    const result = await pull(erp);

    assert.deepEqual(result.balances.map(({ sku, locationId, lot }) => [sku, locationId, lot]), [
      ['SKU-00001', 'DC-01', ''],
      ['SKU-00003', 'DC-02', 'L-778'],
    ]);
    assert.deepEqual(result.rejected, [
      { line: 2, reason: 'OrganizationCode "LHR" is not mapped to a Stockgraph location' },
      { line: 4, reason: 'OrganizationCode is missing' },
    ]);
  });

  it('rejects each unusable record with its position in the whole pull, and keeps pulling', async () => {
    const erp = await simulator({
      records: [
        oracleRecord(1, { ItemNumber: '' }),
        oracleRecord(2, { PrimaryQuantity: -3 }),
        oracleRecord(3, { PrimaryQuantity: 2.5 }),
        oracleRecord(4, { PrimaryQuantity: true }),
        oracleRecord(5, { SubinventoryCode: undefined }),
        oracleRecord(6, { ItemNumber: 6 }),
        oracleRecord(7),
        oracleRecord(7, { PrimaryQuantity: 70 }),
        oracleRecord(9, { PrimaryQuantity: undefined }),
      ],
    });

    const result = await pull(erp, { pageSize: 4 });

    assert.equal(result.pages, 3);
    assert.deepEqual(result.balances.map(({ sku, onHand }) => [sku, onHand]), [['SKU-00007', 7]]);
    assert.deepEqual(result.rejected, [
      { line: 1, reason: 'ItemNumber is missing' },
      { line: 2, reason: 'PrimaryQuantity -3 must be a whole number of at least 0' },
      { line: 3, reason: 'PrimaryQuantity 2.5 must be a whole number of at least 0' },
      { line: 4, reason: 'PrimaryQuantity true must be a whole number of at least 0' },
      { line: 5, reason: 'SubinventoryCode is missing' },
      { line: 6, reason: 'ItemNumber 6 must be text' },
      { line: 8, reason: 'duplicate of record 7' },
      { line: 9, reason: 'PrimaryQuantity is missing' },
    ]);
  });

  for (const status of [503, 429]) {
    it(`retries a page answered ${status} with growing backoff, and fetches no other page twice`, async () => {
      const erp = await simulator({ records: records(1_234) });
      erp.failNext(2, status, { offset: 1_000 });
      const backoffMs = 40;

      const result = await pull(erp, { pageSize: 500, backoffMs });

      assert.equal(result.balances.length, 1_234);
      assert.equal(result.pages, 3);
      assert.deepEqual(offsetsRequested(erp), [0, 500, 1_000, 1_000, 1_000]);
      const [, , first, second, third] = erp.requests.map((request) => request.receivedAt);
      // Timers may fire a millisecond early against performance.now(), hence the slack.
      assert.ok(second! - first! >= backoffMs - 2, `first retry waited ${second! - first!} ms`);
      assert.ok(third! - second! >= 2 * backoffMs - 2, `second retry waited ${third! - second!} ms`);
    });
  }

  it('gives up after maxAttempts with ErpUnavailableError', async () => {
    const erp = await simulator({ records: records(10) });
    erp.failNext(10, 503);

    await assert.rejects(pull(erp, { maxAttempts: 3 }), (error: Error) => {
      assert.ok(error instanceof ErpUnavailableError);
      assert.match(error.message, /offset 0 failed 3 times; last: answered 503 Service Unavailable/);
      return true;
    });
    assert.deepEqual(offsetsRequested(erp), [0, 0, 0]);
  });

  it('sends HTTP Basic credentials, and fails at once with the status when they are refused', async () => {
    const erp = await simulator({ records: records(3), username: 'stockgraph', password: 's3cret' });

    const accepted = await pull(erp, { auth: { username: 'stockgraph', password: 's3cret' } });
    await assert.rejects(
      pull(erp, { auth: { username: 'stockgraph', password: 'wrong' }, maxAttempts: 5 }),
      (error: Error) => error instanceof ErpUnavailableError && /401 Unauthorized/.test(error.message),
    );

    assert.equal(accepted.balances.length, 3);
    assert.equal(erp.requests.length, 2, 'a 401 is not retried');
  });

  it('counts a page that times out as a failed attempt', async () => {
    const erp = await simulator({ records: records(3) });
    erp.delayNext(5_000);

    const result = await pull(erp, { timeoutMs: 100 });

    assert.equal(result.balances.length, 3);
    assert.deepEqual(offsetsRequested(erp), [0, 0]);
  });

  it('gives up when every attempt times out', async () => {
    const erp = await simulator({ records: records(3) });
    erp.delayNext(5_000, { times: 2 });

    await assert.rejects(
      pull(erp, { timeoutMs: 100, maxAttempts: 2 }),
      (error: Error) => error instanceof ErpUnavailableError && /failed 2 times; last: no answer within 100 ms/.test(error.message),
    );
    assert.deepEqual(offsetsRequested(erp), [0, 0]);
  });

  it('retries a page whose body is not JSON', async () => {
    const erp = await simulator({ records: records(600) });
    erp.malformNext({ offset: 500 });

    const result = await pull(erp, { pageSize: 500 });

    assert.equal(result.balances.length, 600);
    assert.deepEqual(offsetsRequested(erp), [0, 500, 500]);
  });

  it('gives up with ErpUnavailableError when the ERP cannot be reached', async () => {
    const erp = await startErpSimulator();
    await erp.stop();

    await assert.rejects(
      pull(erp, { maxAttempts: 2 }),
      (error: Error) => error instanceof ErpUnavailableError && /failed 2 times; last: request failed/.test(error.message),
    );
  });

  it('stops with the caller\'s reason when the caller aborts, without retrying', async () => {
    const erp = await simulator({ records: records(3) });
    erp.delayNext(5_000);
    const controller = new AbortController();
    const shutdown = new Error('shutting down');

    const pulling = pull(erp, { maxAttempts: 3 }, controller.signal);
    controller.abort(shutdown);

    await assert.rejects(pulling, (error) => error === shutdown);
    assert.ok(erp.requests.length <= 1);
  });
});

describe('parseBalancesCsv', () => {
  const asOf = new Date('2025-03-01T06:00:00Z');
  const rows = (text: string) => parseBalancesCsv(text, asOf).balances.map(({ sku, locationId, subinventory, lot, onHand }) =>
    [sku, locationId, subinventory, lot, onHand]);

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const text = [
      'sku,location,subinventory,lot,on_hand',
      '"SKU-1, large",DC-01,STORES,,5',
      '"SKU-2 ""blue""",DC-01,"STORES",L1,"7"',
      '"SKU-3',
      'two lines",DC-02,STORES,,0',
      'SKU-4,DC-02,STORES,,-1',
    ].join('\n');

    const result = parseBalancesCsv(text, asOf);

    assert.deepEqual(rows(text), [
      ['SKU-1, large', 'DC-01', 'STORES', '', 5],
      ['SKU-2 "blue"', 'DC-01', 'STORES', 'L1', 7],
      ['SKU-3\ntwo lines', 'DC-02', 'STORES', '', 0],
    ]);
    assert.deepEqual(result.rejected, [{ line: 6, reason: 'on_hand "-1" must be a whole number of at least 0' }]);
    assert.ok(result.balances.every((balance) => balance.asOf === asOf));
  });

  it('accepts a UTF-8 BOM, CRLF line ends and a trailing line end', () => {
    const text = '\uFEFFsku,location,subinventory,lot,on_hand\r\nSKU-1,DC-01,STORES,,5\r\nSKU-2,DC-01,STORES,L1,6\r\n';

    assert.deepEqual(rows(text), [
      ['SKU-1', 'DC-01', 'STORES', '', 5],
      ['SKU-2', 'DC-01', 'STORES', 'L1', 6],
    ]);
  });

  it('finds columns by name in any order and case, ignores others, and allows no lot column', () => {
    const text = 'On_Hand,Comment,SUBINVENTORY,Location,Sku\n12,"counted, twice",STORES,DC-03,SKU-9\n';

    assert.deepEqual(rows(text), [['SKU-9', 'DC-03', 'STORES', '', 12]]);
  });

  it('skips blank rows and trims spaces around values', () => {
    const text = 'sku,location,subinventory,lot,on_hand\n\n SKU-1 , DC-01 ,STORES, L1 , 5 \n,,,,\n';

    assert.deepEqual(rows(text), [['SKU-1', 'DC-01', 'STORES', 'L1', 5]]);
  });

  it('throws a TypeError naming every missing required column', () => {
    assert.throws(() => parseBalancesCsv('sku,lot,subinventory\nSKU-1,,STORES\n', asOf), {
      name: 'TypeError',
      message: /lacks the columns location, on_hand/,
    });
    assert.throws(() => parseBalancesCsv('', asOf), { name: 'TypeError', message: /no header row/ });
    assert.throws(() => parseBalancesCsv('sku,location,subinventory,SKU,on_hand\n', asOf), {
      name: 'TypeError',
      message: /names the column sku twice/,
    });
  });

  it('rejects every bad row with its line and reason, and keeps the good ones', () => {
    const text = [
      'sku,location,subinventory,lot,on_hand', //                 line 1
      'SKU-1,DC-01,STORES,,5', //                                 line 2: good
      ',DC-01,STORES,,5', //                                      line 3
      'SKU-3,,STORES,,5', //                                      line 4
      'SKU-4,DC-01,,,5', //                                       line 5
      'SKU-5,DC-01,STORES,,', //                                  line 6
      'SKU-6,DC-01,STORES,,-3', //                                line 7
      'SKU-7,DC-01,STORES,,2.5', //                               line 8
      'SKU-8,DC-01,STORES,,ten', //                               line 9
      'SKU-9,DC-01,STORES,5', //                                  line 10
      'SKU-10,DC-01,STORES,,5,extra', //                          line 11
      'SKU-11 12" pipe,DC-01,STORES,,5', //                       line 12
      '"SKU-12"x,DC-01,STORES,,5', //                             line 13
      'SKU-13,DC-01,STORES,,13', //                               line 14: good
      'SKU-15,DC-01,STORES,,2147483647', //                       line 15: good, the largest quantity kept
      'SKU-16,DC-01,STORES,,2147483648', //                       line 16
      'SKU-14,DC-01,"STORES,,5', //                               line 17, never closed
    ].join('\n');

    const result = parseBalancesCsv(text, asOf);

    assert.deepEqual(result.balances.map((balance) => balance.sku), ['SKU-1', 'SKU-13', 'SKU-15']);
    assert.deepEqual(result.rejected, [
      { line: 3, reason: 'sku is missing' },
      { line: 4, reason: 'location is missing' },
      { line: 5, reason: 'subinventory is missing' },
      { line: 6, reason: 'on_hand is missing' },
      { line: 7, reason: 'on_hand "-3" must be a whole number of at least 0' },
      { line: 8, reason: 'on_hand "2.5" must be a whole number of at least 0' },
      { line: 9, reason: 'on_hand "ten" must be a whole number of at least 0' },
      { line: 10, reason: 'has 4 fields, the header has 5' },
      { line: 11, reason: 'has 6 fields, the header has 5' },
      { line: 12, reason: 'field 1 has a quote but is not quoted (write "" inside a quoted field)' },
      { line: 13, reason: 'field 1 has text after its closing quote' },
      { line: 16, reason: 'on_hand "2147483648" is beyond 2,147,483,647, the largest quantity Stockgraph keeps' },
      { line: 17, reason: 'field 3 opens a quote on line 17 that is never closed' },
    ]);
  });

  it('rejects a later row for the same sku, location, subinventory and lot as a duplicate', () => {
    const text = [
      'sku,location,subinventory,lot,on_hand',
      'SKU-1,DC-01,STORES,L1,5',
      'SKU-1,DC-01,STORES,L2,6',
      'SKU-1,DC-02,STORES,L1,7',
      'SKU-1,DC-01,STORES, L1 ,8',
      'SKU-1,DC-01,STORES,L1,5',
    ].join('\r\n');

    const result = parseBalancesCsv(text, asOf);

    assert.deepEqual(result.balances.map((balance) => balance.onHand), [5, 6, 7]);
    assert.deepEqual(result.rejected, [
      { line: 5, reason: 'duplicate of line 2' },
      { line: 6, reason: 'duplicate of line 2' },
    ]);
  });
});
