import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { openInfrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { claimDueSerialBatches, settleSerialBatch } from '../../subgraphs/inventory/data/erpSerialBatchStore.ts';
import { planErpSerialBatches } from '../../subgraphs/inventory/domain/transfers/erpSerialBatches.ts';
import { ErpRefusal } from '../../subgraphs/inventory/erp/erpHttp.ts';
import { postStagedTransaction } from '../../subgraphs/inventory/erp/stagedTransactionsClient.ts';
import { ErpSerialPusher, type ErpSerialPusherOptions } from '../../subgraphs/inventory/services/erpSerialPusher.ts';
import { TransferService } from '../../subgraphs/inventory/services/transferService.ts';
import { useCleanup } from '../support/cleanup.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { collectingLogger } from '../support/collectingLogger.ts';
import { startErpSimulator, type ErpSimulator, type StagedTransactionRecord } from '../support/erpSimulator.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenStock } from '../support/stock.ts';

const locationOrganizations = new Map([['DC-01', 'ATL'], ['DC-02', 'DFW']]);
const stock = (locationId: string) => ({ locationId, subinventory: 'STOCK' });
const serialsOf = (transactions: readonly StagedTransactionRecord[]) => transactions.flatMap((t) => t.serials.map((s) => s.FmSerialNumber)).sort();

describe('planErpSerialBatches', () => {
  it('splits 120 serials into 50 + 50 + 20, in serial order, each under its own reference', () => {
    const serials = Array.from({ length: 120 }, (_, i) => `S-${String(120 - i).padStart(3, '0')}`);

    const batches = planErpSerialBatches('TRF-1', serials);

    assert.deepEqual(batches.map((b) => [b.reference, b.serials.length]), [['TRF-1/1', 50], ['TRF-1/2', 50], ['TRF-1/3', 20]]);
    assert.deepEqual(batches.flatMap((b) => b.serials), [...serials].sort());
    assert.deepEqual(planErpSerialBatches('TRF-2', []), []);
  });
});

describe('ERP serial push', () => {
  let database: TestDatabase;
  let transfers: TransferService;
  let nextSku = 0;
  const cleanup = useCleanup();

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 1 });
    transfers = new TransferService(database.db.prisma, { lotsRequired: false, defaultTransitMs: 86_400_000 }, () => {});
  });
  after(() => database?.drop());
  // Each test starts with an empty queue, so that it sees only its own batches go.
  beforeEach(() => database.db.query('DELETE FROM erp_serial_batch'));

  /** Ships `count` serials of a new serial-controlled item from DC-01 to DC-02, named out of order; returns the transfer's id and the serials in order. */
  async function shipSerials(count: number): Promise<{ id: string; serials: string[] }> {
    const sku = `SKU-8${String(++nextSku).padStart(4, '0')}`;
    const serials = Array.from({ length: count }, (_, i) => `${sku}-SN-${String(i + 1).padStart(4, '0')}`);
    await givenStock(database.db, sku, { 'DC-01': count, 'DC-02': 0 }, { serialControlled: true });
    await database.db.query(`INSERT INTO serial_number (sku, serial, location_id, subinventory) SELECT $1, unnest($2::text[]), 'DC-01', 'STOCK'`, [sku, serials]);
    const transfer = await transfers.create({
      sku, quantity: count, from: stock('DC-01'), to: stock('DC-02'), lots: null, serials: [...serials].reverse(), expectedArrivalAt: null, idempotencyKey: `ship-${sku}`,
    });
    return { id: transfer.id, serials };
  }

  async function simulator(): Promise<ErpSimulator> {
    const erp = await startErpSimulator();
    cleanup(() => erp.stop());
    return erp;
  }

  function pusher(erp: ErpSimulator, options: Partial<ErpSerialPusherOptions> & { timeoutMs?: number } = {}): ErpSerialPusher {
    const { timeoutMs = 5_000, ...settings } = options;
    const instance = new ErpSerialPusher(database.db.prisma, { baseUrl: erp.baseUrl, timeoutMs }, {
      locationOrganizations, intervalMs: 60_000, retryBackoffMs: 0, logger: createLogger('silent'), ...settings,
    });
    cleanup(() => instance.stop());
    return instance;
  }

  const batchesOf = (transferId: string) => database.db.query<{ reference: string; status: string; serials: string[]; lastError: string | null; erpTransactionId: string | null }>(
    `SELECT reference, status::text, serials, last_error AS "lastError", erp_transaction_id AS "erpTransactionId"
       FROM erp_serial_batch WHERE transfer_id = $1 ORDER BY reference`, [transferId]);

  /** The ERP's transactions for one transfer, in reference order. */
  const erpTransactionsOf = (erp: ErpSimulator, transferId: string) =>
    erp.stagedTransactions.filter((t) => t.TransactionReference.startsWith(`${transferId}/`)).sort((a, b) => a.TransactionReference.localeCompare(b.TransactionReference));

  /** Every post for one reference carried the same transaction: a resend is recognisable as the batch it repeats. */
  function assertResendsIdentical(erp: ErpSimulator): void {
    const firstByReference = new Map<string, string>();
    for (const { body } of erp.requests) {
      const { TransactionReference: reference, ...transaction } = body as Record<string, unknown>;
      const first = firstByReference.get(reference as string);
      if (first === undefined) firstByReference.set(reference as string, JSON.stringify(transaction));
      else assert.equal(JSON.stringify(transaction), first, `${String(reference)} was resent with other contents`);
    }
  }

  it('queues a transfer\'s serials in the transaction that ships it, and nothing for a refused or repeated request', async () => {
    const { id, serials } = await shipSerials(60);

    const queued = await batchesOf(id);
    assert.deepEqual(queued.map((b) => [b.reference, b.status, b.serials.length]), [[`${id}/1`, 'PENDING', 50], [`${id}/2`, 'PENDING', 10]]);
    assert.deepEqual(queued.flatMap((b) => b.serials), serials, 'in serial order');
    const request = { sku: 'SKU-80001', quantity: 1, from: stock('DC-01'), to: stock('DC-02'), lots: null, expectedArrivalAt: null };
    await transfers.create({ ...request, serials: ['SKU-80001-SN-0001'], idempotencyKey: 'ship-SKU-80001' }).catch(() => {});
    await assert.rejects(transfers.create({ ...request, serials: ['NOT-THERE'], idempotencyKey: 'refused' }), { code: 'UNKNOWN_SERIAL' });
    assert.equal((await database.db.query(`SELECT 1 FROM erp_serial_batch`)).length, 2, 'a refused or repeated request queues nothing more');
  });

  it('sends a transfer of 120 serials as 50 + 50 + 20, every serial once, shaped as Oracle Fusion staged transactions', async () => {
    const erp = await simulator();
    const { id, serials } = await shipSerials(120);

    const round = await pusher(erp).pushDue();

    const sent = erpTransactionsOf(erp, id);
    assert.deepEqual(sent.map((t) => [t.TransactionReference, t.TransactionQuantity, t.serials.length]), [
      [`${id}/1`, -50, 50], [`${id}/2`, -50, 50], [`${id}/3`, -20, 20],
    ]);
    assert.deepEqual(serialsOf(sent), serials);
    const { TransactionInterfaceId, TransactionReference, TransactionDate, serials: [firstSerial], ...header } = sent[0]!;
    assert.deepEqual(header, {
      SourceCode: 'STOCKGRAPH', TransactionTypeName: 'Intransit Shipment', OrganizationName: 'ATL', ItemNumber: 'SKU-80002',
      SubinventoryCode: 'STOCK', TransactionQuantity: -50, TransactionUnitOfMeasure: 'EA', TransferOrganizationName: 'DFW',
      TransferSubinventory: 'STOCK', UseCurrentCostFlag: true,
    });
    assert.deepEqual(firstSerial, { FmSerialNumber: serials[0], ToSerialNumber: serials[0] });
    assert.equal(round.sent, 3);
    assert.ok((await batchesOf(id)).every((b) => b.status === 'SENT' && b.lastError === null && b.erpTransactionId !== null));
    assert.ok(erp.requests.every((r) => r.method === 'POST' && r.path === '/fscmRestApi/resources/11.13.18.05/inventoryStagedTransactions'));
  });

  it('delivers every serial exactly once when calls fail, time out or lose their answers', async () => {
    const erp = await simulator();
    const { id, serials } = await shipSerials(120);
    erp.failNext(2, 503);
    erp.loseNextResponse();
    erp.delayNext(1_000);

    await pusher(erp, { timeoutMs: 200 }).pushDue();

    assert.ok(erp.requests.length >= 7, `the 4 faulted calls were made again (${erp.requests.length} calls)`);
    assertResendsIdentical(erp);
    const sent = erpTransactionsOf(erp, id);
    assert.deepEqual(sent.map((t) => t.serials.length), [50, 50, 20]);
    assert.deepEqual(serialsOf(sent), serials, 'the ERP ends with each serial once');
    assert.ok((await batchesOf(id)).every((b) => b.status === 'SENT'));
  });

  it('keeps the ERP\'s reason for a refused batch, and does not send it again', async () => {
    const erp = await simulator();
    const { id } = await shipSerials(60);
    const { calls, logger } = collectingLogger();
    erp.failNext(1, 400);
    const refusing = pusher(erp, { concurrency: 1, logger });

    const round = await refusing.pushDue();
    const again = await refusing.pushDue();

    assert.deepEqual([round, again], [{ sent: 1, retrying: 0, refused: 1 }, { sent: 0, retrying: 0, refused: 0 }]);
    assert.equal(erp.requests.length, 2, 'the refused batch is not sent again');
    const [refused, sent] = await batchesOf(id);
    assert.deepEqual([refused?.status, refused?.lastError, sent?.status], ['FAILED', 'ERP refused it: 400 Bad Request: Injected failure', 'SENT']);
    assert.deepEqual(calls.error.map(([, message]) => message), ['ERP serial batch failed for good: ERP refused it: 400 Bad Request: Injected failure']);
    const backlog = await refusing.backlog();
    assert.ok(backlog.failedBatches >= 1 && backlog.pendingBatches === 0);
  });

  it('sends nothing for a location without an ERP organization, and says so', async () => {
    const erp = await simulator();
    const { id } = await shipSerials(3);

    await pusher(erp, { locationOrganizations: new Map([['DC-01', 'ATL']]) }).pushDue();

    assert.equal(erp.requests.length, 0);
    assert.deepEqual((await batchesOf(id)).map((b) => [b.status, b.lastError]), [['FAILED', 'no ERP organization for location DC-02 (ERP_ORGANIZATIONS)']]);
  });

  it('loses nothing when a pusher is stopped while the ERP holds its answer, and another takes over', async () => {
    const erp = await simulator();
    const { id, serials } = await shipSerials(120);
    erp.delayNext(60_000);
    const first = pusher(erp, { concurrency: 1 });

    first.start();
    const held = await erp.requestNumber(1);
    await first.stop();
    await pusher(erp, { concurrency: 1 }).pushDue();

    const references = erp.requests.map((r) => (r.body as { TransactionReference: string }).TransactionReference);
    assert.equal(references.filter((reference) => reference === (held.body as { TransactionReference: string }).TransactionReference).length, 2, 'the held batch is sent again');
    assertResendsIdentical(erp);
    assert.deepEqual(serialsOf(erpTransactionsOf(erp, id)), serials);
    assert.ok((await batchesOf(id)).every((b) => b.status === 'SENT'));
  });

  it('leaves a batch claimed by a pusher that died alone until its lease runs out, then sends it once', async () => {
    const erp = await simulator();
    const { id, serials } = await shipSerials(60);
    const [abandoned] = await claimDueSerialBatches(database.db.prisma, 1, 60_000);
    assert.ok(abandoned);

    await pusher(erp).pushDue();
    assert.equal(erp.requests.length, 1, 'only the batch nobody holds is sent');
    await database.db.query(`UPDATE erp_serial_batch SET next_attempt_at = now() WHERE reference = $1`, [abandoned.reference]);
    await pusher(erp).pushDue();

    assert.equal(await settleSerialBatch(database.db.prisma, abandoned, { kind: 'retry', error: 'late', afterMs: 0 }), false, 'the dead claim can no longer settle it');
    assert.deepEqual(serialsOf(erpTransactionsOf(erp, id)), serials);
    assert.deepEqual((await batchesOf(id)).map((b) => b.status), ['SENT', 'SENT']);
  });

  it('never sends a batch twice when two pushers run at once', async () => {
    const erp = await simulator();
    const shipped = [await shipSerials(120), await shipSerials(120), await shipSerials(120), await shipSerials(120)];
    erp.delayNext(20, { times: 12 });

    await Promise.all([pusher(erp).pushDue(), pusher(erp).pushDue()]);

    const references = erp.requests.map((r) => (r.body as { TransactionReference: string }).TransactionReference);
    assert.equal(references.length, 12);
    assert.equal(new Set(references).size, 12, 'each of the 12 batches was posted once');
    for (const { id, serials } of shipped) assert.deepEqual(serialsOf(erpTransactionsOf(erp, id)), serials);
  });

  it('is started by the inventory service when an ERP is configured, and logs its backlog as it sends', async () => {
    const erp = await simulator();
    const infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 4 }, eventBus: { kind: 'in-process' } });
    cleanup(() => infrastructure.close());
    let backlogLogged: (line: Record<string, unknown>) => void;
    const backlogLine = new Promise<Record<string, unknown>>((resolve) => (backlogLogged = resolve));
    const logger = pino({ level: 'info' }, {
      write: (text: string) => {
        const line = JSON.parse(text) as Record<string, unknown>;
        if (line.msg === 'ERP serial push backlog') backlogLogged(line);
      },
    });
    const inventory = await startInventory(infrastructure, {
      ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: 'ATL=DC-01,DFW=DC-02', ERP_SERIAL_PUSH_INTERVAL_MS: '10',
      OUTBOX_POLL_INTERVAL_MS: '3600000', RESERVATION_SWEEP_INTERVAL_MS: '3600000',
    }, logger);
    cleanup(() => inventory.stop());
    const sku = `SKU-8${String(++nextSku).padStart(4, '0')}`;
    await givenStock(database.db, sku, { 'DC-01': 2, 'DC-02': 0 }, { serialControlled: true });
    await database.db.query(`INSERT INTO serial_number (sku, serial, location_id, subinventory) VALUES ($1, 'A-1', 'DC-01', 'STOCK'), ($1, 'A-2', 'DC-01', 'STOCK')`, [sku]);

    const { data } = await graphql(inventory.url, `mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { id } }`, {
      input: { sku, quantity: 2, from: stock('DC-01'), to: { locationId: 'DC-01', subinventory: 'QA' }, serials: ['A-2', 'A-1'], idempotencyKey: `wired-${sku}` },
    });
    const line = await backlogLine;

    assert.deepEqual(
      { sent: line.sent, refused: line.refused, pendingBatches: line.pendingBatches, pendingSerials: line.pendingSerials, failedBatches: line.failedBatches },
      { sent: 1, refused: 0, pendingBatches: 0, pendingSerials: 0, failedBatches: 0 },
    );
    const [sent] = erpTransactionsOf(erp, data.createTransfer.id);
    assert.deepEqual([sent?.TransactionTypeName, sent?.TransferSubinventory, serialsOf([sent!])], ['Subinventory Transfer', 'QA', ['A-1', 'A-2']]);
  });

  it('the ERP refuses a transaction of more than 50 serials', async () => {
    const erp = await simulator();
    const serials = Array.from({ length: 51 }, (_, i) => `SN-${i}`);
    const transaction = {
      reference: 'TRF-X/1', sku: 'SKU-1', unitOfMeasure: 'EA', fromOrganization: 'ATL', fromSubinventory: 'STOCK',
      toOrganization: 'ATL', toSubinventory: 'QA', transactionDate: new Date(),
    };

    await assert.rejects(postStagedTransaction({ baseUrl: erp.baseUrl, timeoutMs: 5_000 }, { ...transaction, serials }), (error: unknown) =>
      error instanceof ErpRefusal && error.message === '400 Bad Request: A transaction takes at most 50 serials; got 51');
    assert.equal(await postStagedTransaction({ baseUrl: erp.baseUrl, timeoutMs: 5_000 }, { ...transaction, serials: serials.slice(0, 50) }), '300100000');
    assert.equal(erp.stagedTransactions[0]?.TransactionTypeName, 'Subinventory Transfer');
  });
});
