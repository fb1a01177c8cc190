import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions, type OnhandBalance } from '../../simulators/erp/erpSimulator.ts';
import { useCleanup } from '../support/cleanup.ts';

const BALANCES = '/fscmRestApi/resources/11.13.18.05/inventoryOnhandBalances';
const TRANSACTIONS = '/fscmRestApi/resources/11.13.18.05/inventoryStagedTransactions';

const balance = (ItemNumber: string, PrimaryQuantity: number, more: Partial<OnhandBalance> = {}): OnhandBalance =>
  ({ OrganizationCode: 'ATL', ItemNumber, SubinventoryCode: 'STOCK', PrimaryQuantity, PrimaryUOMCode: 'Ea', ...more });

/** A staged transaction as the connector posts it, in Oracle's attribute names. */
const transaction = (reference: string, more: Record<string, unknown> = {}) => ({
  SourceCode: 'STOCKGRAPH',
  TransactionReference: reference,
  TransactionTypeName: 'Miscellaneous Receipt',
  OrganizationName: 'ATL',
  ItemNumber: 'SKU-1',
  SubinventoryCode: 'STOCK',
  TransactionQuantity: 5,
  TransactionUnitOfMeasure: 'Ea',
  TransactionDate: '2025-03-01T10:00:00.000Z',
  ...more,
});

interface JsonAnswer<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

describe('ERP simulator', () => {
  const cleanup = useCleanup();
  const simulator = async (options?: ErpSimulatorOptions) => {
    const erp = await startErpSimulator(options);
    cleanup(() => erp.stop());
    return erp;
  };

  const call = async (erp: ErpSimulator, method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<JsonAnswer> => {
    const response = await fetch(erp.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      ...init,
    });
    const text = await response.text();
    const json = /json/.test(response.headers.get('content-type') ?? '') ? parseOrText(text) : text;
    return { status: response.status, headers: response.headers, body: json };
  };
  const page = (erp: ErpSimulator, query = '') => call(erp, 'GET', `${BALANCES}${query}`);
  const post = (erp: ErpSimulator, body: unknown) => call(erp, 'POST', TRANSACTIONS, body);
  const admin = (erp: ErpSimulator, method: string, path: string, body?: unknown) => call(erp, method, `/admin/${path}`, body);
  const inject = async (erp: ErpSimulator, fault: Record<string, unknown>) => {
    const answer = await admin(erp, 'POST', 'faults', fault);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.body;
  };
  const quantityOf = (erp: ErpSimulator, item: string, subinventory = 'STOCK', organization = 'ATL') =>
    erp.balances().find((b) => b.ItemNumber === item && b.SubinventoryCode === subinventory && b.OrganizationCode === organization)?.PrimaryQuantity;

  describe('inventoryOnhandBalances', () => {
    it('pages its balances in a stable order (organization, item, subinventory, lot): 25 by default, at most 500', async () => {
      const given = Array.from({ length: 1_200 }, (_, i) => balance(`SKU-${String(1_200 - i).padStart(4, '0')}`, i, { OrganizationCode: i % 2 ? 'DFW' : 'ATL' }));
      const erp = await simulator({ balances: [...given, balance('SKU-0001', 1, { LotNumber: 'L-2' }), balance('SKU-0001', 1, { LotNumber: 'L-1', SubinventoryCode: 'AAA' })] });

      const first = await page(erp);
      const capped = await page(erp, '?limit=2000&offset=1000&totalResults=true&onlyData=true');

      assert.equal(first.status, 200);
      assert.equal(first.headers.get('content-type'), 'application/vnd.oracle.adf.resourcecollection+json');
      assert.deepEqual([first.body.count, first.body.hasMore, first.body.limit, first.body.offset, first.body.totalResults], [25, true, 25, 0, undefined]);
      assert.deepEqual(first.body.items.slice(0, 3), [
        { OrganizationCode: 'ATL', ItemNumber: 'SKU-0001', SubinventoryCode: 'AAA', LotNumber: 'L-1', PrimaryQuantity: 1, PrimaryUOMCode: 'Ea' },
        { OrganizationCode: 'ATL', ItemNumber: 'SKU-0001', SubinventoryCode: 'STOCK', LotNumber: 'L-2', PrimaryQuantity: 1, PrimaryUOMCode: 'Ea' },
        { OrganizationCode: 'ATL', ItemNumber: 'SKU-0002', SubinventoryCode: 'STOCK', LotNumber: null, PrimaryQuantity: 1_198, PrimaryUOMCode: 'Ea' },
      ]);
      assert.deepEqual([capped.body.count, capped.body.hasMore, capped.body.limit, capped.body.offset, capped.body.totalResults], [202, false, 500, 1_000, 1_202]);
      assert.equal(capped.body.items.at(-1).ItemNumber, 'SKU-1199');
      assert.equal(capped.body.items.at(-1).OrganizationCode, 'DFW');
      assert.deepEqual(capped.body.links, [{ rel: 'self', href: `${erp.baseUrl}${BALANCES}?limit=2000&offset=1000&totalResults=true&onlyData=true`, name: 'inventoryOnhandBalances', kind: 'collection' }]);
      assert.equal((await page(erp, '?limit=0')).status, 400);
    });

    it('filters by q: ItemNumber and OrganizationCode joined by ;, and refuses an attribute it cannot filter on', async () => {
      const erp = await simulator({
        balances: [balance('SKU-1', 1), balance('SKU-1', 2, { OrganizationCode: 'DFW' }), balance('SKU-2', 3), balance('SKU 3', 4)],
      });

      const both = await page(erp, `?q=${encodeURIComponent('ItemNumber=SKU-1;OrganizationCode=DFW')}&totalResults=true`);
      const byItem = await page(erp, `?q=${encodeURIComponent('ItemNumber=SKU-1')}`);
      const quoted = await page(erp, `?q=${encodeURIComponent("ItemNumber='SKU 3'")}`);
      const unknown = await page(erp, `?q=${encodeURIComponent('ItemNumber=SKU-1;Colour=red')}`);
      const operator = await page(erp, `?q=${encodeURIComponent('PrimaryQuantity>2')}`);

      assert.deepEqual(both.body.items.map((b: OnhandBalance) => b.PrimaryQuantity), [2]);
      assert.deepEqual([both.body.count, both.body.hasMore, both.body.totalResults], [1, false, 1]);
      assert.deepEqual(byItem.body.items.map((b: OnhandBalance) => b.OrganizationCode), ['ATL', 'DFW']);
      assert.deepEqual(quoted.body.items.map((b: OnhandBalance) => b.PrimaryQuantity), [4]);
      assert.equal(unknown.status, 400);
      assert.match(unknown.body, /Colour/);
      assert.equal(operator.status, 400);
    });

    it("answers every page of a q from the balances as they are then: a transaction or an adjustment between pages shows on the next", async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 1), balance('SKU-2', 2), balance('SKU-3', 3, { OrganizationCode: 'DFW' })] });
      const atlanta = (offset: number) => page(erp, `?q=OrganizationCode=ATL&limit=1&offset=${offset}`);

      const first = await atlanta(0);
      await post(erp, transaction('TRF-2/1', { ItemNumber: 'SKU-2', TransactionQuantity: 10 }));
      const second = await atlanta(1);
      await admin(erp, 'POST', 'balances/adjust', { OrganizationCode: 'ATL', ItemNumber: 'SKU-0', SubinventoryCode: 'STOCK', delta: 7 });
      const firstAgain = await atlanta(0);
      const dallas = await page(erp, '?q=OrganizationCode=DFW');

      assert.deepEqual(first.body.items.map((b: OnhandBalance) => [b.ItemNumber, b.PrimaryQuantity]), [['SKU-1', 1]]);
      assert.deepEqual(second.body.items.map((b: OnhandBalance) => [b.ItemNumber, b.PrimaryQuantity]), [['SKU-2', 12]]);
      assert.deepEqual(firstAgain.body.items.map((b: OnhandBalance) => [b.ItemNumber, b.PrimaryQuantity]), [['SKU-0', 7]]);
      assert.deepEqual([firstAgain.body.hasMore, dallas.body.items.map((b: OnhandBalance) => b.ItemNumber)], [true, ['SKU-3']]);
    });

    it('serves records as given, in the given order, in raw-records mode', async () => {
      const erp = await simulator({ records: [{ ItemNumber: 'Z', PrimaryQuantity: 'ten' }, { ItemNumber: 'A', Extra: true }] });

      const served = await page(erp);
      erp.setBalances([balance('SKU-1', 1)]);

      assert.deepEqual(served.body.items, [{ ItemNumber: 'Z', PrimaryQuantity: 'ten' }, { ItemNumber: 'A', Extra: true }]);
      assert.deepEqual((await page(erp)).body.items.map((b: OnhandBalance) => b.ItemNumber), ['SKU-1'], 'setBalances ends raw-records mode');
    });

    it('refuses wrong HTTP Basic credentials with 401 and www-authenticate, on every ERP resource but not on admin', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 1)], username: 'stockgraph', password: 's3cret' });
      const authorization = (password: string) => ({ headers: { authorization: `Basic ${Buffer.from(`stockgraph:${password}`).toString('base64')}`, 'content-type': 'application/json' } });

      const refused = await call(erp, 'GET', BALANCES, undefined, authorization('wrong'));
      const anonymous = await post(erp, transaction('T-1'));
      const accepted = await call(erp, 'GET', BALANCES, undefined, authorization('s3cret'));

      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="fscmRestApi"');
      assert.equal(anonymous.status, 401);
      assert.equal(accepted.status, 200);
      assert.equal((await admin(erp, 'GET', 'stats')).status, 200);
      assert.equal(quantityOf(erp, 'SKU-1'), 1, 'the refused transaction changed nothing');
    });
  });

  describe('inventoryStagedTransactions', () => {
    it('adds a Miscellaneous Receipt to the balance, takes an issue away, and lets a balance go negative', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });

      const receipt = await post(erp, transaction('T-1', { TransactionQuantity: 5 }));
      await post(erp, transaction('T-2', { TransactionTypeName: 'Miscellaneous Issue', TransactionQuantity: -3 }));
      await post(erp, transaction('T-3', { TransactionTypeName: 'Sales Order Issue', TransactionQuantity: -20, ItemNumber: 'SKU-NEW', OrganizationName: undefined, OrganizationCode: 'DFW' }));
      await post(erp, transaction('T-4', { TransactionTypeName: 'RMA Receipt', TransactionQuantity: 2, LotNumber: 'L-9' }));

      assert.equal(receipt.status, 201);
      assert.equal(receipt.headers.get('content-type'), 'application/vnd.oracle.adf.resourceitem+json');
      assert.deepEqual(receipt.body, { ...transaction('T-1'), serials: [], TransactionInterfaceId: 300_100_000 });
      assert.deepEqual(erp.balances(), [
        balance('SKU-1', 12),
        balance('SKU-1', 2, { LotNumber: 'L-9' }),
        balance('SKU-NEW', -20, { OrganizationCode: 'DFW' }),
      ].map((b) => ({ LotNumber: null, ...b })));
    });

    it('moves a Subinventory Transfer between subinventories of one organization', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10), balance('SKU-1', 1, { SubinventoryCode: 'QA' })] });

      await post(erp, transaction('T-1', { TransactionTypeName: 'Subinventory Transfer', TransactionQuantity: -4, TransferSubinventory: 'QA' }));

      assert.deepEqual([quantityOf(erp, 'SKU-1'), quantityOf(erp, 'SKU-1', 'QA')], [6, 5]);
    });

    it('takes an Intransit Shipment out of the source only, and changes nothing for a Sales Order Pick', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      const serials = ['SN-1', 'SN-2', 'SN-3'].map((serial) => ({ FmSerialNumber: serial, ToSerialNumber: serial }));

      const shipped = await post(erp, transaction('T-1', { TransactionTypeName: 'Intransit Shipment', TransactionQuantity: -3, TransferOrganizationName: 'DFW', TransferSubinventory: 'STOCK', serials }));
      const picked = await post(erp, transaction('T-2', { TransactionTypeName: 'Sales Order Pick', TransactionQuantity: -5 }));
      await post(erp, transaction('T-3', { TransactionTypeName: 'Intransit Receipt', TransactionQuantity: 3, OrganizationName: 'DFW' }));

      assert.deepEqual([shipped.status, picked.status], [201, 201]);
      assert.deepEqual(shipped.body.serials, serials);
      assert.deepEqual([quantityOf(erp, 'SKU-1'), quantityOf(erp, 'SKU-1', 'STOCK', 'DFW')], [7, 3]);
      assert.deepEqual(erp.stagedTransactions.map((t) => t.TransactionTypeName), ['Intransit Shipment', 'Sales Order Pick', 'Intransit Receipt']);
    });

    it('adds an Intransit Receipt that names the organization it came from to the receiving side only', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });

      await post(erp, transaction('T-1', {
        TransactionTypeName: 'Intransit Receipt', OrganizationName: undefined, OrganizationCode: 'DFW', TransactionQuantity: 2,
        TransferOrganizationName: 'ATL', TransferSubinventory: 'STOCK', serials: serialRanges(2),
      }));

      assert.deepEqual([quantityOf(erp, 'SKU-1', 'STOCK', 'DFW'), quantityOf(erp, 'SKU-1')], [2, 10]);
    });

    it('answers a repost of an accepted reference with the first record, and changes no balance again', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });

      const first = await post(erp, transaction('T-1', { TransactionQuantity: 5 }));
      const again = await post(erp, transaction('T-1', { TransactionQuantity: 7 }));
      const other = await post(erp, transaction('T-2', { TransactionQuantity: 1 }));

      assert.deepEqual([first.status, again.status], [201, 201]);
      assert.deepEqual(again.body, first.body);
      assert.equal(other.body.TransactionInterfaceId, 300_100_001);
      assert.equal(quantityOf(erp, 'SKU-1'), 16);
      assert.deepEqual(erp.stats(), { requests: 3, transactionsAccepted: 2, duplicateReferences: 1, refused: 0, faultsApplied: 0 });
    });

    it('finds a transaction by q=TransactionReference=X', async () => {
      const erp = await simulator();
      await post(erp, transaction('TRF-1/1'));
      await post(erp, transaction('TRF-1/2'));

      const found = await call(erp, 'GET', `${TRANSACTIONS}?q=${encodeURIComponent('TransactionReference=TRF-1/2')}`);
      const none = await call(erp, 'GET', `${TRANSACTIONS}?q=TransactionReference=TRF-9`);

      assert.equal(found.status, 200);
      assert.deepEqual(found.body.items.map((t: { TransactionInterfaceId: number }) => t.TransactionInterfaceId), [300_100_001]);
      assert.deepEqual([found.body.count, found.body.hasMore], [1, false]);
      assert.deepEqual([none.body.items, none.body.count, none.body.hasMore], [[], 0, false]);
    });

    const refusals: [string, Record<string, unknown>, string][] = [
      ['a missing attribute', { ItemNumber: undefined, OrganizationName: '', SourceCode: '' }, 'Missing attributes: SourceCode, ItemNumber, OrganizationCode or OrganizationName'],
      ['more than 50 serials', { TransactionQuantity: -51, serials: serialRanges(51) }, 'A transaction takes at most 50 serials; got 51'],
      ['a serial count that is not the quantity', { TransactionQuantity: -3, serials: serialRanges(2) }, 'TransactionQuantity -3 does not match the 2 serials'],
      ['a zero or fractional quantity', { TransactionQuantity: 0.5 }, 'TransactionQuantity must be a non-zero whole number (got 0.5)'],
      ['a serial range of more than one', { TransactionQuantity: 2, serials: [{ FmSerialNumber: 'SN-1', ToSerialNumber: 'SN-2' }] }, 'serials must be ranges of one serial each (FmSerialNumber = ToSerialNumber)'],
    ];
    for (const [problem, change, message] of refusals) {
      it(`refuses ${problem} with 400 naming it, and changes nothing`, async () => {
        const erp = await simulator({ balances: [balance('SKU-1', 10)] });

        const refused = await post(erp, transaction('T-1', change));

        assert.deepEqual([refused.status, refused.body], [400, message]);
        assert.equal(quantityOf(erp, 'SKU-1'), 10);
        assert.deepEqual(erp.stagedTransactions, []);
        assert.equal(erp.stats().refused, 1);
      });
    }

    it('names every problem of a refused transaction at once', async () => {
      const erp = await simulator();

      const refused = await post(erp, transaction('T-1', { SubinventoryCode: undefined, TransactionQuantity: 'five', TransactionDate: 'someday' }));

      assert.equal(refused.body, 'Missing attributes: SubinventoryCode; TransactionDate "someday" is not a date; TransactionQuantity must be a non-zero whole number (got "five")');
    });
  });

  describe('faults injected through POST /admin/faults', () => {
    it('status: answers the next `times` requests with it, without handling them', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'status', status: 500, times: 2, target: 'transactions' });

      const answers = [await post(erp, transaction('T-1')), await page(erp), await post(erp, transaction('T-1')), await post(erp, transaction('T-1'))];

      assert.deepEqual(answers.map((a) => a.status), [500, 200, 500, 201]);
      assert.equal(answers[0]!.body, 'Injected failure');
      assert.equal(quantityOf(erp, 'SKU-1'), 15, 'taken once, by the post that was not faulted');
      assert.equal(erp.stats().faultsApplied, 2);
    });

    it('rateLimit: answers 429 with Retry-After, without handling the request', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'rateLimit', retryAfterSeconds: 7 });

      const limited = await post(erp, transaction('T-1'));

      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '7');
      assert.equal(quantityOf(erp, 'SKU-1'), 10);
    });

    it('latency: handles the request, then holds the answer for ms', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'latency', ms: 150 });
      const started = performance.now();

      const answer = await post(erp, transaction('T-1'));

      assert.equal(answer.status, 201);
      assert.ok(performance.now() - started >= 148, `answered after ${performance.now() - started} ms`);
      assert.equal(quantityOf(erp, 'SKU-1'), 15);
    });

    it('timeout: handles the request and never answers, until the client gives up', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'timeout', target: 'transactions' });

      await assert.rejects(
        fetch(erp.baseUrl + TRANSACTIONS, { method: 'POST', body: JSON.stringify(transaction('T-1')), signal: AbortSignal.timeout(200) }),
        { name: 'TimeoutError' },
      );

      assert.equal(quantityOf(erp, 'SKU-1'), 15, 'the ERP took it all the same');
      assert.equal((await post(erp, transaction('T-2'))).status, 201, 'the next request is answered');
    });

    it('drop: handles the request, then closes the connection without answering', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'drop' });

      await assert.rejects(post(erp, transaction('T-1')), { name: 'TypeError', message: 'fetch failed' });

      assert.equal(quantityOf(erp, 'SKU-1'), 15);
      assert.equal(erp.stagedTransactions.length, 1);
    });

    it('malformed: handles the request, then answers 200 with JSON cut short', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      await inject(erp, { kind: 'malformed', times: 2 });

      const pageAnswer = await fetch(erp.baseUrl + BALANCES);
      const pageText = await pageAnswer.text();
      const createdAnswer = await fetch(erp.baseUrl + TRANSACTIONS, { method: 'POST', body: JSON.stringify(transaction('T-1')) });
      const createdText = await createdAnswer.text();

      assert.deepEqual([pageAnswer.status, createdAnswer.status], [200, 200]);
      assert.ok(pageText.startsWith('{"items":['), pageText);
      assert.throws(() => JSON.parse(pageText), SyntaxError);
      assert.throws(() => JSON.parse(createdText), SyntaxError);
      assert.equal(quantityOf(erp, 'SKU-1'), 15, 'the transaction was taken');
    });

    it('down: answers 503 to every ERP request for durationMs, then the ERP is back', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      const [injectedAt, wallClockBefore] = [performance.now(), Date.now()];
      const fault = await inject(erp, { kind: 'down', durationMs: 300 });
      const wallClockAfter = Date.now();

      const answers = [await page(erp), await post(erp, transaction('T-1'))];
      let back = await page(erp);
      for (const deadline = injectedAt + 5_000; back.status === 503 && performance.now() < deadline; back = await page(erp)) await delay(20);

      assert.deepEqual(answers.map((a) => a.status), [503, 503]);
      assert.equal(back.status, 200);
      assert.ok(performance.now() - injectedAt >= 300 - 2, 'not back before durationMs');
      assert.ok(Date.parse(fault.endsAt) >= wallClockBefore + 300 && Date.parse(fault.endsAt) <= wallClockAfter + 300, fault.endsAt);
      assert.equal(quantityOf(erp, 'SKU-1'), 10);
      assert.deepEqual((await admin(erp, 'GET', 'faults')).body, { items: [] }, 'an outage that ended is no longer listed');
    });

    it('probability with a seed hits about that share of requests, the same ones on every run', async () => {
      const runs: number[][] = [];
      for (let run = 0; run < 2; run++) {
        const erp = await simulator();
        await inject(erp, { kind: 'status', status: 503, probability: 0.3, seed: 42, target: 'balances' });
        const statuses: number[] = [];
        for (let i = 0; i < 1_000; i++) statuses.push((await fetch(erp.baseUrl + BALANCES).then(async (r) => (await r.body?.cancel(), r))).status);
        runs.push(statuses);
        const hits = statuses.filter((status) => status === 503).length;
        assert.ok(hits >= 250 && hits <= 350, `${hits} of 1,000 hit`);
        assert.equal(erp.stats().faultsApplied, hits);
        assert.equal((await admin(erp, 'GET', 'faults')).body.items[0].hits, hits, 'still in force until cleared');
      }
      assert.deepEqual(runs[0], runs[1]);
    });

    it('offset: hits only the balances page at that offset', async () => {
      const erp = await simulator({ balances: Array.from({ length: 6 }, (_, i) => balance(`SKU-${i}`, i)) });
      await inject(erp, { kind: 'status', status: 503, offset: 2 });

      const statuses = [(await page(erp, '?limit=2')).status, (await page(erp, '?limit=2&offset=2')).status, (await page(erp, '?limit=2&offset=2')).status];

      assert.deepEqual(statuses, [200, 503, 200]);
    });

    it('wrongBalance: accepts the transaction with 201 but keeps the balance off by offBy', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10), balance('SKU-1', 0, { SubinventoryCode: 'QA' })] });
      await inject(erp, { kind: 'wrongBalance', offBy: 2 });

      const picked = await post(erp, transaction('T-0', { TransactionTypeName: 'Sales Order Pick', TransactionQuantity: -1 }));
      const moved = await post(erp, transaction('T-1', { TransactionTypeName: 'Subinventory Transfer', TransactionQuantity: -4, TransferSubinventory: 'QA' }));
      await post(erp, transaction('T-2', { TransactionQuantity: 1 }));

      assert.deepEqual([picked.status, moved.status, moved.body.TransactionQuantity], [201, 201, -4]);
      assert.deepEqual([quantityOf(erp, 'SKU-1'), quantityOf(erp, 'SKU-1', 'QA')], [10 - 4 + 2 + 1, 4], 'off by 2 at the source; a pick is not hit; only once');
      assert.equal(erp.stats().faultsApplied, 1);
    });

    it('lists the faults in force, clears them all, and never faults the admin endpoint itself', async () => {
      const erp = await simulator();
      await inject(erp, { kind: 'status', status: 503, times: 3 });
      await inject(erp, { kind: 'latency', ms: 10, probability: 0.5, target: 'transactions' });

      const listed = await admin(erp, 'GET', 'faults');
      const cleared = await admin(erp, 'DELETE', 'faults');

      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.items[0], { kind: 'status', status: 503, times: 3, id: 1, hits: 0 });
      assert.equal(typeof listed.body.items[1].seed, 'number', 'the seed drawn is shown, so that the run can be repeated');
      assert.deepEqual(cleared.body, { cleared: 2 });
      assert.equal((await page(erp)).status, 200);
      assert.equal(erp.stats().requests, 1, 'admin requests are not ERP requests');
    });

    it('keeps the test helpers: failNext, delayNext, malformNext and loseNextResponse queue in order', async () => {
      const erp = await simulator({ balances: [balance('SKU-1', 10)] });
      erp.failNext(1, 503);
      erp.loseNextResponse();
      erp.malformNext();

      const statuses = [
        (await page(erp)).status,
        await page(erp).then(() => 'answered', () => 'dropped'),
        await fetch(erp.baseUrl + BALANCES).then((r) => r.text()).then((text) => { try { JSON.parse(text); return 'json'; } catch { return 'malformed'; } }),
        (await page(erp)).status,
      ];

      const fifth = erp.requestNumber(5);
      await page(erp, '?offset=0');

      assert.deepEqual(statuses, [503, 'dropped', 'malformed', 200]);
      assert.equal((await fifth).query.offset, '0');
      assert.equal((await erp.requestNumber(1)).path, BALANCES);
    });

    it('keeps no request log with keepRequests: false, and still counts the requests', async () => {
      const erp = await simulator({ keepRequests: false });

      await page(erp);

      assert.deepEqual(erp.requests, []);
      assert.equal(erp.stats().requests, 1);
      await assert.rejects(erp.requestNumber(1), { name: 'TypeError', message: /was not kept/ });
    });
  });

  describe('admin endpoint', () => {
    it('replaces, lists and adjusts balances, lists transactions and counts, and resets it all', async () => {
      const erp = await simulator();

      const put = await admin(erp, 'PUT', 'balances', { items: [balance('SKU-2', 5), balance('SKU-1', 1, { LotNumber: '' })] });
      const adjusted = await admin(erp, 'POST', 'balances/adjust', { OrganizationCode: 'ATL', ItemNumber: 'SKU-2', SubinventoryCode: 'STOCK', delta: -2 });
      const opened = await admin(erp, 'POST', 'balances/adjust', { OrganizationCode: 'DFW', ItemNumber: 'SKU-9', SubinventoryCode: 'STOCK', LotNumber: 'L-1', delta: 4 });
      await post(erp, transaction('T-1', { ItemNumber: 'SKU-1' }));
      await post(erp, transaction('T-1', { ItemNumber: 'SKU-1' }));
      await post(erp, transaction('T-2', { TransactionQuantity: 0 }));
      const listed = await admin(erp, 'GET', 'balances');
      const transactions = await admin(erp, 'GET', 'transactions');
      const stats = await admin(erp, 'GET', 'stats');
      await inject(erp, { kind: 'status', status: 503 });
      const reset = await admin(erp, 'POST', 'reset');

      assert.deepEqual(put.body.items.map((b: OnhandBalance) => [b.ItemNumber, b.LotNumber]), [['SKU-1', null], ['SKU-2', null]]);
      assert.equal(adjusted.body.PrimaryQuantity, 3);
      assert.deepEqual(opened.body, { OrganizationCode: 'DFW', ItemNumber: 'SKU-9', SubinventoryCode: 'STOCK', LotNumber: 'L-1', PrimaryQuantity: 4 });
      assert.deepEqual(listed.body.items.map((b: OnhandBalance) => [b.OrganizationCode, b.ItemNumber, b.PrimaryQuantity]), [['ATL', 'SKU-1', 6], ['ATL', 'SKU-2', 3], ['DFW', 'SKU-9', 4]]);
      assert.deepEqual(transactions.body.items.map((t: { TransactionReference: string }) => t.TransactionReference), ['T-1']);
      assert.deepEqual(stats.body, { requests: 3, transactionsAccepted: 1, duplicateReferences: 1, refused: 1, faultsApplied: 0 });
      assert.deepEqual(reset.body, { requests: 0, transactionsAccepted: 0, duplicateReferences: 0, refused: 0, faultsApplied: 0 });
      assert.deepEqual([erp.balances(), erp.stagedTransactions, erp.requests], [[], [], []]);
      assert.deepEqual((await admin(erp, 'GET', 'faults')).body, { items: [] });
    });

    it('answers an unknown path 404 NOT_FOUND, a wrong method 405, and bad input 400 BAD_REQUEST naming the problem', async () => {
      const erp = await simulator();

      const unknown = await admin(erp, 'GET', 'nothing-here');
      const method = await admin(erp, 'PATCH', 'faults');
      const notJson = await admin(erp, 'POST', 'faults', '{ kind: ');
      const badFault = await admin(erp, 'POST', 'faults', { kind: 'status', status: 200, tims: 2 });
      const badKind = await admin(erp, 'POST', 'faults', { kind: 'flood' });
      const badBalances = await admin(erp, 'PUT', 'balances', [balance('SKU-1', 1), { ...balance('SKU-1', 2) }, { ItemNumber: '', PrimaryQuantity: 'x' }]);
      const badAdjustment = await admin(erp, 'POST', 'balances/adjust', { OrganizationCode: 'ATL', ItemNumber: 'SKU-1', SubinventoryCode: 'STOCK', delta: 0 });

      assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'NOT_FOUND']);
      assert.match(unknown.body.error.message, /\/admin\/nothing-here/);
      assert.deepEqual([method.status, method.headers.get('allow'), method.body.error.code], [405, 'GET, POST, DELETE', 'METHOD_NOT_ALLOWED']);
      assert.deepEqual(notJson.body, { error: { code: 'BAD_REQUEST', message: 'The request body must be JSON' } });
      assert.deepEqual([badFault.status, badFault.body.error], [400, { code: 'BAD_REQUEST', message: 'a status fault takes no tims; status must be an HTTP status from 400 to 599 (got 200)' }]);
      assert.match(badKind.body.error.message, /kind must be one of latency, timeout, status, rateLimit, drop, malformed, wrongBalance, down \(got "flood"\)/);
      assert.equal(badBalances.status, 400);
      assert.equal(badBalances.body.error.message,
        'balances[1] has the key of balances[0]; balances[2] OrganizationCode must be non-empty text (got undefined), ItemNumber must be non-empty text (got ""), '
        + 'SubinventoryCode must be non-empty text (got undefined), PrimaryQuantity must be a number (got "x")');
      assert.deepEqual([badAdjustment.status, badAdjustment.body.error.message], [400, 'delta must be a non-zero number (got 0)']);
      assert.deepEqual(erp.balances(), [], 'a refused replacement changes nothing');
      assert.throws(() => erp.injectFault({ kind: 'down', durationMs: 0 }), { name: 'TypeError', message: 'durationMs must be a whole number of milliseconds, at least 1 (got 0)' });
    });
  });

  describe('npm run erp-simulator', () => {
    const run = (env: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/erp/main.ts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanup(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
      return { child, exited, output: () => stdout };
    };

    it('starts with the balances file and credentials, prints its URLs, serves, and stops cleanly on SIGTERM', async () => {
      const directory = await mkdtemp(join(tmpdir(), 'erp-simulator-'));
      cleanup(() => rm(directory, { recursive: true }));
      const file = join(directory, 'balances.json');
      await writeFile(file, JSON.stringify([balance('SKU-1', 10)]));
      const { child, exited, output } = run({ ERP_SIMULATOR_PORT: '0', ERP_SIMULATOR_BALANCES: file, ERP_USERNAME: 'u', ERP_PASSWORD: 'p' });

      const [, baseUrl, adminUrl] = await new Promise<RegExpExecArray>((resolve, reject) => {
        child.stdout.on('data', () => {
          const line = /^ERP simulator listening on (http:\/\/\S+) \(admin: (http:\/\/\S+)\)\n/.exec(output());
          if (line) resolve(line);
        });
        void exited.then((result) => reject(new Error(`exited before listening: ${JSON.stringify(result)}`)));
      });
      const served = await fetch(baseUrl + BALANCES, { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } }).then((r) => r.json() as Promise<{ items: unknown[] }>);
      const stats = await fetch(`${adminUrl}stats`).then((r) => r.json() as Promise<{ requests: number }>);
      child.kill('SIGTERM');

      assert.equal(adminUrl, `${baseUrl}/admin/`);
      assert.deepEqual(served.items, [{ ...balance('SKU-1', 10), LotNumber: null }]);
      assert.equal(stats.requests, 1);
      assert.deepEqual(await exited, { code: 0, stdout: output(), stderr: '' });
    });

    for (const [what, env, message] of [
      ['a bad port', { ERP_SIMULATOR_PORT: '70000' }, 'stockgraph: Invalid configuration: ERP_SIMULATOR_PORT must be a port number between 0 and 65535 (0 picks a free port) (got "70000")\n'],
      ['an unreadable balances file', { ERP_SIMULATOR_PORT: '0', ERP_SIMULATOR_BALANCES: '/nonexistent/balances.json' }, "stockgraph: Invalid configuration: ERP_SIMULATOR_BALANCES names a file that cannot be read: ENOENT: no such file or directory, open '/nonexistent/balances.json'\n"],
    ] as const) {
      it(`stops with one line and exit code 1 for ${what}`, async () => {
        const { exited } = run(env);

        assert.deepEqual(await exited, { code: 1, stdout: '', stderr: message });
      });
    }
  });
});

function serialRanges(count: number) {
  return Array.from({ length: count }, (_, i) => ({ FmSerialNumber: `SN-${i}`, ToSerialNumber: `SN-${i}` }));
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
