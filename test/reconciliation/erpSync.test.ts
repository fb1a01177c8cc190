import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { SUBSCRIPTION_FEEDS } from '../../gateway/subscriptions/subscriptionFeeds.ts';
import type { Environment } from '../../platform/config/environment.ts';
import { alertChanged, inventoryTransactionRecorded, STREAMS, syncTransactionFailed, type PayloadOf } from '../../platform/contracts/events.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { startErpSimulator, type ErpSimulator, type SimulatedRequest } from '../../simulators/erp/erpSimulator.ts';
import { compareRunPositions } from '../../subgraphs/reconciliation/data/runComparison.ts';
import { compileTierRules } from '../../subgraphs/reconciliation/domain/varianceTiers.ts';
import type { InventoryTransaction } from '../../subgraphs/reconciliation/erpSync/syncPlan.ts';
import { SyncTransactionStore } from '../../subgraphs/reconciliation/erpSync/syncTransactionStore.ts';
import { reconciliationSubgraph } from '../../subgraphs/reconciliation/reconciliationSubgraph.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { graphql, type GraphQLResponse } from '../support/graphql.ts';
import { createTestDatabase, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { signedIdentity, testSubgraphServing, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';
import { countOf, givenPositions, givenSyncTransactions, newLocation, type GivenSyncTransaction } from './reconciliationFixtures.ts';

const silent = createLogger('silent');
const ORGANIZATIONS = 'ATL=DC-01,DFW=DC-02,PHX=DC-03';
const LOCATIONS = ['DC-01', 'DC-02', 'DC-03'];
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

let nextTransaction = 0;
/** A receipt of 5 units into STOCK at DC-01 of a SKU of its own, changed by `overrides`. */
function transaction(overrides: Partial<InventoryTransaction> = {}): InventoryTransaction {
  nextTransaction += 1;
  return {
    transactionId: `WAREHOUSE_EVENT:test-wms:EVT-${process.pid}-${nextTransaction}`,
    kind: 'RECEIPT',
    sku: `SKU-SYNC-${process.pid}-${nextTransaction}`,
    locationId: 'DC-01',
    unitOfMeasure: 'EA',
    quantity: 5,
    lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: 5 }],
    subinventory: 'STOCK',
    transferSubinventory: null,
    counterpartLocationId: null,
    serials: [],
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}

interface LedgerRow {
  id: string;
  status: string;
  kind: string;
  location_id: string;
  quantity: number;
  erp_quantity: number;
  serials: string[];
  attempts: number;
  last_error: string | null;
  erp_transaction_id: string | null;
  failures: number;
}

const SYNC_FIELDS = 'id transactionId kind stockLevel { sku locationId } subinventory lot quantity serials status attempts lastError erpTransactionId occurredAt createdAt nextAttemptAt syncedAt failedAt';

const codeOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;
const referenceOf = (request: SimulatedRequest) => (request.body as { TransactionReference?: string } | undefined)?.TransactionReference;
/** Epoch milliseconds of a simulator request, to compare with log lines. */
const epochOf = (request: SimulatedRequest) => performance.timeOrigin + request.receivedAt;

/**
 * A logger that keeps each line it writes (pino's JSON, with the epoch ms it was written at, on
 * the simulator's clock: performance.now() from the time origin, which Date.now() drifts from).
 */
function recordingLogger(): { logger: Logger; lines: { at: number; level: number; msg: string }[] } {
  const lines: { at: number; level: number; msg: string }[] = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => void lines.push({ ...JSON.parse(line), at: performance.timeOrigin + performance.now() }) });
  return { logger, lines };
}

interface LedgerTestContext {
  readonly database: () => TestDatabase;
  readonly infrastructure: () => Infrastructure;
  /** The prefix of the Redis keys the tests' services use. */
  readonly keyPrefix: string;
  readonly cleanup: (cleanup: () => unknown) => void;
}

/** A suite on a database and a Redis namespace of its own. */
function ledgerTests(label: string, body: (context: LedgerTestContext) => void) {
  describe(label, () => {
    const cleanup = useCleanup();
    let database: TestDatabase;
    let infrastructure: Infrastructure;
    const redis = redisNamespace('erp-sync');
    before(async () => {
      database = await createTestDatabase();
      infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    });
    after(async () => {
      await infrastructure?.close();
      await redis.clear();
      await database?.drop();
    });
    body({ database: () => database, infrastructure: () => infrastructure, keyPrefix: redis.keyPrefix, cleanup });
  });
}

ledgerTests('the ERP sync ledger posting to the ERP simulator, on PostgreSQL and Redis', ({ database, infrastructure, keyPrefix, cleanup }) => {
  const rowsOf = (transactionId: string) => database().db.query<LedgerRow>('SELECT * FROM sync_transaction WHERE transaction_id = $1 ORDER BY id', [transactionId]);
  const rowById = async (id: string) => (await database().db.query<LedgerRow>('SELECT * FROM sync_transaction WHERE id = $1', [id]))[0];
  const publish = (...transactions: InventoryTransaction[]) =>
    infrastructure().bus.publishMany(STREAMS.stockChanges, transactions.map((payload) => ({ type: inventoryTransactionRecorded.type, payload })));
  const settled = (transactionId: string, status = 'SYNCED') =>
    eventually(() => rowsOf(transactionId), (rows) => rows.length > 0 && rows.every((row) => row.status === status), { what: `${transactionId} ${status}` });

  /** A fresh ERP simulator, and a replica of the reconciliation service posting to it. */
  async function startLedger(env: Environment = {}, { erp, logger = silent }: { erp?: ErpSimulator; logger?: Logger } = {}) {
    const simulator = erp ?? (await startErpSimulator());
    if (!erp) cleanup(() => simulator.stop());
    const service = await startReplica(simulator, env, logger);
    return { erp: simulator, service };
  }

  async function startReplica(erp: ErpSimulator, env: Environment, logger: Logger = silent): Promise<RunningService> {
    const service = await startSubgraphServer(reconciliationSubgraph({
      infrastructure: infrastructure(),
      env: {
        ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: ORGANIZATIONS, ERP_SYNC_INTERVAL_MS: '20', ERP_SYNC_BACKOFF_MS: '20', ERP_SYNC_TIMEOUT_MS: '2000',
        OUTBOX_POLL_INTERVAL_MS: '20', ...env,
      },
      logger,
    }), testSubgraphServing);
    // A test may stop it first; stopping once is enough.
    let stopped: Promise<void> | null = null;
    const stop = () => (stopped ??= service.stop());
    cleanup(stop);
    return { ...service, stop };
  }

  /** The ERP's balance of `sku` by subinventory. */
  const erpBalances = (erp: ErpSimulator, sku: string) =>
    Object.fromEntries(erp.balances().filter((balance) => balance.ItemNumber === sku).map((balance) => [`${balance.OrganizationCode}/${balance.SubinventoryCode}`, balance.PrimaryQuantity]));

  it('records a transaction PENDING_SYNC and makes it SYNCED only once the ERP took it, changing its balance once; a repeat records nothing', async () => {
    // Given the ERP holds its answer a while
    const { erp, service } = await startLedger();
    erp.delayNext(300);
    const receipt = transaction();

    // When inventory records a receipt
    await publish(receipt);

    // Then it is PENDING_SYNC while the ERP has it and has not answered
    await erp.requestNumber(1);
    assert.deepEqual((await rowsOf(receipt.transactionId)).map((row) => [row.id, row.status, row.attempts]), [[receipt.transactionId, 'PENDING_SYNC', 1]]);

    // And SYNCED, with the ERP's id, once it answered
    const [synced] = await settled(receipt.transactionId);
    assert.equal(synced!.erp_transaction_id, String(erp.stagedTransactions[0]!.TransactionInterfaceId));
    assert.deepEqual(erpBalances(erp, receipt.sku), { 'ATL/STOCK': 5 });
    const answer = await graphql(service.url, `query ($id: ID!) { syncTransaction(id: $id) { ${SYNC_FIELDS} } }`, { id: receipt.transactionId });
    assert.deepEqual({ ...answer.data!.syncTransaction, createdAt: undefined, syncedAt: undefined }, {
      id: receipt.transactionId, transactionId: receipt.transactionId, kind: 'RECEIPT', stockLevel: { sku: receipt.sku, locationId: 'DC-01' },
      subinventory: 'STOCK', lot: '', quantity: 5, serials: [], status: 'SYNCED', attempts: 1, lastError: null, erpTransactionId: synced!.erp_transaction_id,
      occurredAt: receipt.occurredAt, createdAt: undefined, nextAttemptAt: null, syncedAt: undefined, failedAt: null,
    });
    const posted = erp.stagedTransactions[0]!;
    assert.deepEqual([posted.SourceCode, posted.TransactionTypeName, posted.OrganizationCode, posted.TransactionQuantity], ['STOCKGRAPH', 'Miscellaneous Receipt', 'ATL', 5]);

    // When the same transaction is recorded again, then another
    const marker = transaction();
    await publish(receipt, marker);
    await settled(marker.transactionId);

    // Then the repeat made no second row and no second post
    assert.equal((await rowsOf(receipt.transactionId)).length, 1);
    assert.deepEqual(erp.requests.map(referenceOf), [receipt.transactionId, marker.transactionId]);
    assert.deepEqual(erpBalances(erp, receipt.sku), { 'ATL/STOCK': 5 });
  });

  it('posts 120 serials as three transactions of 50, 50 and 20', async () => {
    const { erp } = await startLedger();
    const serials = Array.from({ length: 120 }, (_, i) => `SN-${i + 1}`);
    const transfer = transaction({
      kind: 'SUBINVENTORY_TRANSFER', quantity: 120, serials, transferSubinventory: 'QA',
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -120 }, { subinventory: 'QA', lot: '', nettable: false, change: 120 }],
    });

    await publish(transfer);

    const rows = await settled(transfer.transactionId);
    assert.deepEqual(rows.map((row) => [row.id, row.quantity, row.erp_quantity, row.serials.length]), [
      [`${transfer.transactionId}#1`, -50, -50, 50], [`${transfer.transactionId}#2`, -50, -50, 50], [`${transfer.transactionId}#3`, -20, -20, 20],
    ]);
    assert.deepEqual(erp.stagedTransactions.map((posted) => [posted.TransactionTypeName, posted.TransferSubinventory, posted.serials.length]), [
      ['Subinventory Transfer', 'QA', 50], ['Subinventory Transfer', 'QA', 50], ['Subinventory Transfer', 'QA', 20],
    ]);
    assert.equal(erp.requests.length, 3);
    assert.deepEqual(erp.stagedTransactions.flatMap((posted) => posted.serials.map((range) => range.FmSerialNumber)), serials);
    assert.deepEqual(erpBalances(erp, transfer.sku), { 'ATL/QA': 120, 'ATL/STOCK': -120 });
  });

  it('retries a transaction the ERP answers 503 twice, each wait longer than the last, and syncs it on the third attempt', async () => {
    // Given an ERP that fails the next two posts, and a backoff of 200 ms
    const { erp } = await startLedger({ ERP_SYNC_BACKOFF_MS: '200' });
    erp.failNext(2, 503);
    const receipt = transaction();

    // When it is recorded
    await publish(receipt);

    // Then it is SYNCED after three attempts, the second wait at least twice the first
    const [row] = await settled(receipt.transactionId);
    assert.equal(row!.attempts, 3);
    assert.equal(row!.last_error, null);
    const [first, second, third] = erp.requests.map((request) => request.receivedAt);
    const waits = [second! - first!, third! - second!];
    assert.ok(waits[0]! >= 200 && waits[1]! >= 400 && waits[1]! > waits[0]!, `waits of ${waits.map((ms) => ms.toFixed(0)).join(' and ')} ms grow from 200 ms`);
    assert.equal(erp.stagedTransactions.length, 1);
  });

  it('makes a transaction SYNC_FAILED after 3 failed attempts, with an alert, its audit and a syncFailed event', async () => {
    const { erp, service } = await startLedger();
    erp.failNext(3, 500);
    const receipt = transaction({ locationId: 'DC-02' });

    await publish(receipt);

    const [row] = await settled(receipt.transactionId, 'SYNC_FAILED');
    assert.deepEqual([row!.attempts, row!.failures, row!.last_error], [3, 1, 'ERP answered 500 Internal Server Error']);
    assert.equal(erp.requests.length, 3);
    const alerts = await database().db.query<{ id: string; kind: string; status: string; message: string; location_id: string }>(
      'SELECT id, kind::text, status::text, message, location_id FROM alert WHERE sync_transaction_id = $1', [receipt.transactionId]);
    assert.equal(alerts.length, 1);
    assert.deepEqual([alerts[0]!.kind, alerts[0]!.status, alerts[0]!.location_id], ['SYNC_FAILED', 'OPEN', 'DC-02']);
    assert.match(alerts[0]!.message, new RegExp(`${receipt.transactionId}.*after 3 attempts: ERP answered 500`));
    assert.deepEqual(await database().db.query('SELECT action, actor FROM reconciliation_audit WHERE subject_type = $1 AND subject_id = $2', ['ALERT', alerts[0]!.id]),
      [{ action: 'OPENED', actor: 'stockgraph' }]);

    // And the failure and the alert are published
    const published = await eventually(() => infrastructure().bus.read(STREAMS.reconciliationChanges, '0-0', 1_000),
      (events) => events.some((event) => (event.payload as { syncTransactionId?: string }).syncTransactionId === receipt.transactionId), { what: 'the syncFailed event' });
    const failure = published.find((event) => event.type === syncTransactionFailed.type && (event.payload as PayloadOf<typeof syncTransactionFailed>).syncTransactionId === receipt.transactionId)!;
    assert.deepEqual(published.filter((event) => event.type === alertChanged.type && (event.payload as PayloadOf<typeof alertChanged>).alertId === alerts[0]!.id).map((event) => (event.payload as PayloadOf<typeof alertChanged>).status), ['OPEN']);
    const feed = SUBSCRIPTION_FEEDS.syncFailed!;
    assert.deepEqual([feed.filter({ locationIds: ['DC-02'] })(failure.payload), feed.filter({ locationIds: ['DC-01'] })(failure.payload), feed.filter({})(failure.payload)], [true, false, true]);
    const lookup = await graphql(service.url, 'query ($ids: [ID!]!) { syncFailureEvents(ids: $ids) { id cursor attempts lastError at syncTransaction { id status failedAt } } }', { ids: [failure.id, '999999999', 'x'] });
    assert.deepEqual(lookup.data!.syncFailureEvents, [
      { id: failure.id, cursor: null, attempts: 3, lastError: 'ERP answered 500 Internal Server Error', at: (failure.payload as { failedAt: string }).failedAt,
        syncTransaction: { id: receipt.transactionId, status: 'SYNC_FAILED', failedAt: (failure.payload as { failedAt: string }).failedAt } },
      null, null,
    ]);
  });

  it('makes a transaction the ERP refuses SYNC_FAILED at once, and one at a location that is no ERP organization without calling it', async () => {
    const { erp } = await startLedger();
    erp.failNext(1, 400);
    const refused = transaction();
    const unmapped = transaction({ locationId: 'DC-09' });

    await publish(refused, unmapped);

    const [refusedRow] = await settled(refused.transactionId, 'SYNC_FAILED');
    const [unmappedRow] = await settled(unmapped.transactionId, 'SYNC_FAILED');
    assert.deepEqual([refusedRow!.attempts, refusedRow!.last_error], [1, 'ERP refused it: 400 Bad Request: Injected failure']);
    assert.deepEqual([unmappedRow!.attempts, unmappedRow!.last_error], [1, 'no ERP organization for location DC-09 (ERP_ORGANIZATIONS)']);
    assert.deepEqual(erp.requests.map(referenceOf), [refused.transactionId]);
    const alerted = await database().db.query<{ sync_transaction_id: string }>('SELECT sync_transaction_id FROM alert WHERE sync_transaction_id = ANY($1) ORDER BY message',
      [[refused.transactionId, unmapped.transactionId]]);
    assert.equal(alerted.length, 2);
  });

  it('waits out a 429 Retry-After before posting to its location again, while other locations go on', async () => {
    // Given an ERP that rate-limits the next post for 1 second
    const { erp } = await startLedger();
    erp.injectFault({ kind: 'rateLimit', retryAfterSeconds: 1 });
    const occurredAt = Date.now();
    const first = transaction({ occurredAt: new Date(occurredAt).toISOString() });
    const next = transaction({ occurredAt: new Date(occurredAt + 1).toISOString() });
    const elsewhere = transaction({ locationId: 'DC-02', occurredAt: new Date(occurredAt + 2).toISOString() });

    // When a transaction at DC-01 is rate-limited, and one more at DC-01 and one at DC-02 are recorded
    await publish(first);
    await erp.requestNumber(1);
    await publish(next, elsewhere);
    await Promise.all([first, next, elsewhere].map((t) => settled(t.transactionId)));

    // Then DC-01 is not posted to for the second after the 429, and DC-02 is meanwhile
    const [limited, ...rest] = erp.requests;
    assert.equal(referenceOf(limited!), first.transactionId);
    const atDc01 = rest.filter((request) => request.body && (request.body as { OrganizationCode: string }).OrganizationCode === 'ATL');
    assert.ok(atDc01.every((request) => request.receivedAt - limited!.receivedAt >= 1_000), `DC-01 posted again after ${atDc01.map((r) => (r.receivedAt - limited!.receivedAt).toFixed(0)).join(', ')} ms`);
    assert.deepEqual(atDc01.map(referenceOf), [first.transactionId, next.transactionId]);
    const atDc02 = rest.find((request) => referenceOf(request) === elsewhere.transactionId)!;
    assert.ok(atDc02.receivedAt - limited!.receivedAt < 1_000, 'DC-02 was posted to within the pause');
    assert.deepEqual((await rowsOf(first.transactionId)).map((row) => row.attempts), [2]);
  });

  it('opens the circuit when the ERP is down, calls nothing while it is open, and drains the backlog once a probe succeeds', async () => {
    // Given a breaker that opens after 3 failures for 300 ms, and attempts enough to outlast the outage
    const { logger, lines } = recordingLogger();
    const { erp, service } = await startLedger({ ERP_SYNC_CIRCUIT_FAILURES: '3', ERP_SYNC_CIRCUIT_HALF_OPEN_MS: '300', ERP_SYNC_MAX_ATTEMPTS: '20' }, { logger });
    erp.injectFault({ kind: 'down', durationMs: 1_200 });
    const transactions = Array.from({ length: 10 }, () => transaction());

    // When ten transactions are recorded while the ERP is down
    await publish(...transactions);

    // Then the replica says its circuit is open
    await eventually(() => graphql(service.url, '{ syncBacklog { erpCircuitOpen } }'), (answer) => answer.data?.syncBacklog.erpCircuitOpen === true, { what: 'the circuit open' });

    // And once the ERP is back every transaction is SYNCED, each posted to the ERP once
    for (const t of transactions) await settled(t.transactionId);
    assert.deepEqual(new Set(erp.stagedTransactions.map((posted) => posted.TransactionReference)), new Set(transactions.map((t) => t.transactionId)));
    assert.equal(erp.stats().duplicateReferences, 0);
    assert.equal((await graphql(service.url, '{ syncBacklog { erpCircuitOpen } }')).data!.syncBacklog.erpCircuitOpen, false);

    // And no call reached the ERP while the circuit was open
    const openings = lines.filter((line) => line.msg.startsWith('ERP circuit opened')).map((line) => line.at);
    assert.ok(openings.length >= 1, 'the circuit opened');
    for (const openedAt of openings) {
      const during = erp.requests.filter((request) => epochOf(request) > openedAt + 5 && epochOf(request) < openedAt + 300 - 5);
      assert.deepEqual(during.map(referenceOf), [], `no call within 300 ms of the opening at ${new Date(openedAt).toISOString()}`);
    }
    assert.ok(lines.some((line) => line.msg.startsWith('ERP circuit closed')));
    const failed = erp.requests.filter((request) => epochOf(request) < openings[0]!);
    assert.equal(failed.length, 3, 'three failures opened it');
  });

  it('recognises a resend after the ERP took a transaction and the connection dropped: one balance change, SYNCED', async () => {
    const { erp } = await startLedger();
    erp.loseNextResponse();
    const receipt = transaction();

    await publish(receipt);

    const [row] = await settled(receipt.transactionId);
    assert.equal(row!.attempts, 2);
    assert.deepEqual(erp.requests.map(referenceOf), [receipt.transactionId, receipt.transactionId]);
    assert.equal(erp.stats().duplicateReferences, 1);
    assert.equal(erp.stagedTransactions.length, 1);
    assert.equal(row!.erp_transaction_id, String(erp.stagedTransactions[0]!.TransactionInterfaceId));
    assert.deepEqual(erpBalances(erp, receipt.sku), { 'ATL/STOCK': 5 });
  });

  it('never has two replicas post one transaction: 500 transactions, each posted once', async () => {
    // Given two replicas on one database, posting to one ERP that answers in 2 ms
    const { erp } = await startLedger();
    await startReplica(erp, {});
    erp.injectFault({ kind: 'latency', ms: 2, probability: 1 });
    const transactions = Array.from({ length: 500 }, (_, i) => transaction({ locationId: LOCATIONS[i % LOCATIONS.length]! }));

    // When 500 transactions are recorded
    await publish(...transactions);

    // Then each is SYNCED after one attempt, and the ERP received each reference once
    await eventually(() => database().db.query<{ synced: number }>("SELECT count(*)::int AS synced FROM sync_transaction WHERE transaction_id = ANY($1) AND status = 'SYNCED'",
      [transactions.map((t) => t.transactionId)]), ([count]) => count!.synced === 500, { what: '500 SYNCED', timeoutMs: 60_000 });
    assert.equal(erp.stats().duplicateReferences, 0);
    assert.equal(erp.requests.length, 500);
    assert.equal(new Set(erp.requests.map(referenceOf)).size, 500);
    assert.deepEqual(await database().db.query('SELECT DISTINCT attempts FROM sync_transaction WHERE transaction_id = ANY($1)', [transactions.map((t) => t.transactionId)]), [{ attempts: 1 }]);
  });

  describe('a replica that stops mid-drain', () => {
    /** 200 PENDING_SYNC rows at DC-03, written as the consumer would; returns their ids. */
    async function givenBacklog(prefix: string): Promise<string[]> {
      const ids = Array.from({ length: 200 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
      await database().db.query(`
        INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure, serials, occurred_at)
        SELECT id, id, 'RECEIPT', $2, 'DC-03', 'STOCK', '', 1, 1, 'EA', '{}', now() FROM unnest($1::text[]) AS id`, [ids, `${prefix}-SKU`]);
      return ids;
    }
    const syncedCount = async (ids: string[]) =>
      (await database().db.query<{ count: number }>("SELECT count(*)::int AS count FROM sync_transaction WHERE id = ANY($1) AND status = 'SYNCED'", [ids]))[0]!.count;

    it('posts nothing twice when a replica is stopped and another takes over', async () => {
      // Given a backlog a replica is draining
      const erp = await startErpSimulator();
      cleanup(() => erp.stop());
      erp.injectFault({ kind: 'latency', ms: 5, probability: 1 });
      const ids = await givenBacklog(`STOP-${process.pid}`);
      const first = await startReplica(erp, {});
      await eventually(() => syncedCount(ids), (count) => count >= 30, { what: 'the drain under way' });

      // When it is stopped, and another replica starts
      await first.stop();
      const stoppedAt = await syncedCount(ids);
      await startReplica(erp, {});

      // Then every row is SYNCED, each posted once: the stopped replica finished its posts and gave back the rest
      await eventually(() => syncedCount(ids), (count) => count === ids.length, { what: 'every row SYNCED', timeoutMs: 30_000 });
      assert.ok(stoppedAt < ids.length, 'the first replica stopped before the end');
      assert.equal(erp.stats().duplicateReferences, 0);
      assert.deepEqual(erp.requests.map(referenceOf).sort(), ids);
      assert.deepEqual(erpBalances(erp, `STOP-${process.pid}-SKU`), { 'PHX/STOCK': 200 });
    });

    it('syncs every row once when a replica is killed and another takes over: a resend is only answered as a repeat', async () => {
      // Given a backlog a replica in a process of its own is draining
      const erp = await startErpSimulator();
      cleanup(() => erp.stop());
      erp.injectFault({ kind: 'latency', ms: 5, probability: 1 });
      const prefix = `KILL-${process.pid}`;
      const ids = await givenBacklog(prefix);
      const child = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/reconciliation/main.ts'], {
        env: {
          PATH: process.env.PATH, DATABASE_URL: database().url, REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, RECONCILIATION_PORT: '0', GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET,
          LOG_LEVEL: 'silent', ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: ORGANIZATIONS, ERP_SYNC_INTERVAL_MS: '20', ERP_SYNC_TIMEOUT_MS: '500',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      cleanup(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      await eventually(() => syncedCount(ids), (count) => count >= 30, { what: 'the drain under way', timeoutMs: 30_000 });

      // When it is killed, and a replica starts in its place
      child.kill('SIGKILL');
      await exited;
      const killedAt = await syncedCount(ids);
      await startReplica(erp, { ERP_SYNC_TIMEOUT_MS: '500' });

      // Then every row is SYNCED once its claim ran out; the ERP took each once, and answered any resend with its first record
      await eventually(() => syncedCount(ids), (count) => count === ids.length, { what: 'every row SYNCED', timeoutMs: 30_000 });
      assert.ok(killedAt < ids.length, 'the replica was killed before the end');
      assert.deepEqual(erp.stagedTransactions.map((posted) => posted.TransactionReference).sort(), ids);
      assert.equal(erp.stats().transactionsAccepted, ids.length);
      assert.equal(erp.requests.length, ids.length + erp.stats().duplicateReferences);
      assert.deepEqual(erpBalances(erp, `${prefix}-SKU`), { 'PHX/STOCK': 200 });
    });
  });

  it('redrives SYNC_FAILED transactions, all or nothing, resolving their alerts', async () => {
    // Given a transaction the ERP refused, and one it took
    const { erp, service } = await startLedger();
    erp.failNext(1, 400);
    const refused = transaction();
    const taken = transaction();
    await publish(refused);
    await settled(refused.transactionId, 'SYNC_FAILED');
    await publish(taken);
    await settled(taken.transactionId);
    const redrive = (ids: string[]) => graphql(service.url, `mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { ${SYNC_FIELDS} } }`, { ids }, signedIdentity({ caller: 'ops-lead' }));
    const alertOf = async () => (await database().db.query<{ id: string; status: string }>('SELECT id, status::text FROM alert WHERE sync_transaction_id = $1', [refused.transactionId]))[0]!;

    // When a redrive names one that did not fail, or one that does not exist, or none, or too many
    const notFailed = await redrive([refused.transactionId, taken.transactionId]);
    const notFound = await redrive([refused.transactionId, 'nope']);
    const none = await redrive([]);
    const blank = await redrive([' ']);
    const tooMany = await redrive(Array.from({ length: 1_001 }, (_, i) => `id-${i}`));

    // Then each is refused with its code, and nothing is redriven
    assert.deepEqual([codeOf(notFailed), notFailed.errors![0]!.extensions!.ids], ['SYNC_TRANSACTION_NOT_FAILED', [taken.transactionId]]);
    assert.deepEqual([codeOf(notFound), notFound.errors![0]!.extensions!.ids], ['SYNC_TRANSACTION_NOT_FOUND', ['nope']]);
    assert.deepEqual([codeOf(none), codeOf(blank), codeOf(tooMany)], ['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    assert.equal((await rowById(refused.transactionId))!.status, 'SYNC_FAILED');
    assert.equal((await alertOf()).status, 'OPEN');

    // When it is redriven alone
    const redriven = await redrive([refused.transactionId]);

    // Then it is PENDING_SYNC with its attempts reset, its alert resolved by the caller, and it syncs
    assert.deepEqual(redriven.data!.redriveSyncTransactions.map((row: { status: string; attempts: number; nextAttemptAt: string | null }) => [row.status, row.attempts, row.nextAttemptAt !== null]), [['PENDING_SYNC', 0, true]]);
    const [row] = await settled(refused.transactionId);
    assert.deepEqual([row!.attempts, row!.failures, row!.last_error], [1, 1, null]);
    const alert = await alertOf();
    assert.equal(alert.status, 'RESOLVED');
    assert.deepEqual(await database().db.query('SELECT action, actor, note FROM reconciliation_audit WHERE subject_id = $1 ORDER BY id', [alert.id]), [
      { action: 'OPENED', actor: 'stockgraph', note: 'ERP refused it: 400 Bad Request: Injected failure' },
      { action: 'RESOLVED', actor: 'ops-lead', note: 'redriven' },
    ]);
    const changes = await eventually(() => infrastructure().bus.read(STREAMS.reconciliationChanges, '0-0', 1_000),
      (events) => events.filter((event) => (event.payload as { alertId?: string }).alertId === alert.id).length === 2, { what: 'the alert resolved, published' });
    assert.deepEqual(changes.filter((event) => (event.payload as { alertId?: string }).alertId === alert.id).map((event) => {
      const { status, version, actor } = event.payload as PayloadOf<typeof alertChanged>;
      return [status, version, actor];
    }), [['OPEN', 1, 'stockgraph'], ['RESOLVED', 2, 'ops-lead']]);
    assert.equal(erp.stagedTransactions.filter((posted) => posted.TransactionReference === refused.transactionId).length, 1);
  });

  it('prunes SYNCED rows past the retention on its own, a batch at a time, until all of them are gone', async () => {
    // Given 2,500 SYNCED rows synced 30 days ago, in the ERP's balance since, and one synced 2 days ago
    const at = newLocation();
    await givenPositions(database().db, [{ sku: `${at}-SKU`, locationId: at, wms: 0, erp: 0, erpReportedAt: daysAgo(1) }]);
    await database().db.query(`
      INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, quantity, erp_quantity, unit_of_measure, serials, status,
                                    occurred_at, created_at, synced_at)
      SELECT id, id, 'RECEIPT', $1 || '-SKU', $1, 'STOCK', 1, 1, 'EA', '{}', 'SYNCED', at, at, at
        FROM (SELECT $1 || '-' || n AS id, now() - interval '30 days' + n * interval '1 second' AS at FROM generate_series(1, 2500) AS n
              UNION ALL SELECT $1 || '-RECENT', now() - interval '2 days') AS rows`, [at]);

    // When a replica keeping 7 days of synced history runs its connector
    await startLedger({ ERP_SYNC_RETENTION_DAYS: '7' });

    // Then only the row within the retention is left
    await eventually(() => countOf(database().db, 'SELECT count(*)::int AS count FROM sync_transaction WHERE location_id = $1', [at]), (count) => count === 1, { what: 'the ledger pruned' });
    assert.deepEqual(await database().db.query('SELECT id FROM sync_transaction WHERE location_id = $1', [at]), [{ id: `${at}-RECENT` }]);
  });
});

ledgerTests('the ERP sync ledger without an ERP configured, on PostgreSQL and Redis', ({ database, infrastructure, cleanup }) => {
  let service: RunningService;
  let warnings: string[];
  const publish = (...transactions: InventoryTransaction[]) =>
    infrastructure().bus.publishMany(STREAMS.stockChanges, transactions.map((payload) => ({ type: inventoryTransactionRecorded.type, payload })));
  const recorded = (transactionIds: string[]) => eventually(
    () => database().db.query<{ id: string; status: string }>('SELECT id, status::text FROM sync_transaction WHERE transaction_id = ANY($1) ORDER BY created_at DESC, id DESC', [transactionIds]),
    (rows) => new Set(rows.map((row) => row.id.split('#')[0])).size === transactionIds.length, { what: 'the transactions recorded' });
  const page = (variables: Record<string, unknown>) =>
    graphql(service.url, 'query ($filter: SyncTransactionFilter, $first: Int!, $after: String) { syncTransactions(filter: $filter, first: $first, after: $after) { nodes { id kind status stockLevel { locationId } } endCursor hasNextPage } }', variables);

  before(async () => {
    const { logger, lines } = recordingLogger();
    service = await startSubgraphServer(reconciliationSubgraph({ infrastructure: infrastructure(), env: {}, logger }), testSubgraphServing);
    warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
  });
  after(() => service?.stop());

  it('records every transaction PENDING_SYNC, posts none, and says once that no ERP is set', async () => {
    const receipt = transaction({ sku: `SKU-NOERP-${process.pid}` });
    await publish(receipt, receipt);
    const rows = await recorded([receipt.transactionId]);
    assert.deepEqual(rows, [{ id: receipt.transactionId, status: 'PENDING_SYNC' }]);
    assert.deepEqual(warnings.filter((message) => message.startsWith('ERP_BASE_URL is not set')).length, 1);
    const backlog = await graphql(service.url, '{ syncBacklog { pending synced failed oldestPendingAgeSeconds erpCircuitOpen } }');
    const { pending, synced, failed, oldestPendingAgeSeconds, erpCircuitOpen } = backlog.data!.syncBacklog;
    assert.ok(pending >= 1 && oldestPendingAgeSeconds > 0);
    assert.deepEqual([synced, failed, erpCircuitOpen], [0, 0, false]);
  });

  it('lists sync transactions newest first, filtered by every condition given, a page at a time', async () => {
    // Given transactions of one SKU at two locations, of three kinds, and one of another SKU
    const sku = `SKU-LIST-${process.pid}`;
    const transactions = [
      transaction({ sku }),
      transaction({ sku, kind: 'SHIP', quantity: 2, lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -2 }] }),
      transaction({ sku, kind: 'ADJUSTMENT', locationId: 'DC-02', lines: [{ subinventory: 'STOCK', lot: 'L1', nettable: true, change: 1 }, { subinventory: 'STOCK', lot: 'L2', nettable: true, change: -3 }] }),
      transaction({ sku: `${sku}-OTHER` }),
    ];
    await publish(...transactions);
    const newestFirst = (await recorded(transactions.map((t) => t.transactionId))).filter((row) => !row.id.startsWith(transactions[3]!.transactionId)).map((row) => row.id);

    // When they are listed two at a time
    const first = await page({ filter: { sku }, first: 2 });
    const second = await page({ filter: { sku }, first: 2, after: first.data!.syncTransactions.endCursor });

    // Then the pages follow each other, newest first, and end
    assert.deepEqual([...first.data!.syncTransactions.nodes, ...second.data!.syncTransactions.nodes].map((node: { id: string }) => node.id), newestFirst);
    assert.deepEqual([first.data!.syncTransactions.hasNextPage, second.data!.syncTransactions.hasNextPage], [true, false]);

    // And each condition narrows the list
    const ids = async (filter: Record<string, unknown>) => (await page({ filter: { sku, ...filter }, first: 50 })).data!.syncTransactions.nodes.map((node: { id: string }) => node.id);
    assert.equal((await ids({})).length, 4);
    assert.deepEqual(await ids({ locationId: 'DC-02' }), newestFirst.filter((id) => id.startsWith(transactions[2]!.transactionId)));
    assert.deepEqual(await ids({ kind: ['SHIP', 'RECEIPT'] }), newestFirst.filter((id) => !id.startsWith(transactions[2]!.transactionId)));
    assert.deepEqual(await ids({ status: ['SYNCED', 'SYNC_FAILED'] }), []);
    assert.equal((await ids({ status: ['PENDING_SYNC'], kind: ['ADJUSTMENT'], locationId: 'DC-02' })).length, 2);
  });

  it('refuses bad input with a stable code', async () => {
    const foreignCursor = Buffer.from(`after:${new Date().toISOString()}|ALR-1`).toString('base64url');
    const answers = await Promise.all([
      page({ first: 0 }),
      page({ first: 501 }),
      page({ first: 10, after: 'not-a-cursor' }),
      page({ first: 10, after: foreignCursor }),
      graphql(service.url, 'query ($ids: [ID!]!) { syncFailureEvents(ids: $ids) { id } }', { ids: Array.from({ length: 1_001 }, (_, i) => String(i)) }),
    ]);
    assert.deepEqual(answers.map(codeOf), ['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    assert.equal((await graphql(service.url, '{ syncTransaction(id: "nope") { id } }')).data!.syncTransaction, null);
  });
});

ledgerTests('pruning the ERP sync ledger, on PostgreSQL and Redis', ({ database }) => {
  const idsAt = async (at: string) =>
    (await database().db.query<{ id: string }>('SELECT id FROM sync_transaction WHERE location_id = $1 ORDER BY id', [at])).map((row) => row.id);
  const comparisonAt = (at: string) => database().db.prisma.$transaction((tx) => compareRunPositions(tx, [at], compileTierRules({})));

  it('deletes SYNCED rows past the retention that nothing reads, oldest first, a bounded batch at a time, and changes nothing a run finds', async () => {
    // Given, at a location whose ERP balances were last reported a day ago (one SKU's never, one's before its sync):
    const at = newLocation();
    await givenPositions(database().db, [
      { sku: 'REPORTED', locationId: at, wms: 100, erp: 70, erpReportedAt: daysAgo(1) },
      { sku: 'NEVER-REPORTED', locationId: at, wms: 100, erp: 90 },
      { sku: 'REPORTED-BEFORE', locationId: at, wms: 100, erp: 95, erpReportedAt: daysAgo(50) },
      { sku: 'ONLY-ONE', locationId: at, wms: 10, erp: 10, erpReportedAt: daysAgo(1) },
    ]);
    const synced = (id: string, sku: string, days: number, extra: Partial<GivenSyncTransaction> = {}) =>
      ({ id: `${at}-${id}`, sku, locationId: at, quantity: 1, kind: 'RECEIPT', status: 'SYNCED' as const, createdAt: daysAgo(days), syncedAt: daysAgo(days), ...extra });
    await givenSyncTransactions(database().db, [
      // synced more than 30 days ago, in the ERP's balance since: pruned, oldest first
      synced('OLD-40', 'REPORTED', 40), synced('OLD-35', 'REPORTED', 35), synced('OLD-31', 'REPORTED', 31),
      // within the retention
      synced('RECENT', 'REPORTED', 10),
      // linked to: one that failed before it synced (its alert and syncFailed event), an orphan (its review task), an adjustment (its discrepancy)
      synced('FAILED-ONCE', 'REPORTED', 40), synced('ORPHAN', 'REPORTED', 40, { orphanRetriedAt: daysAgo(39) }),
      synced('ADJUSTMENT', 'REPORTED', 40, { kind: 'RECONCILIATION_ADJUSTMENT' }),
      // not in the ERP's balance as last reported: a run still counts them in flight
      synced('UNREPORTED', 'NEVER-REPORTED', 40), synced('AFTER-REPORT', 'REPORTED-BEFORE', 40),
      { id: `${at}-NEWER-PENDING`, sku: 'NEVER-REPORTED', locationId: at, quantity: 10 },
      { id: `${at}-NEWER-PENDING-2`, sku: 'REPORTED-BEFORE', locationId: at, quantity: 5 },
      // the SKU's only row: an adjustment takes its unit from it
      synced('ONLY-ONE', 'ONLY-ONE', 40, { unitOfMeasure: 'CS' }),
    ]);
    await database().db.query('UPDATE sync_transaction SET failures = 1 WHERE id = $1', [`${at}-FAILED-ONCE`]);
    const before = await comparisonAt(at);
    const store = new SyncTransactionStore(database().db.prisma);

    // When the ledger is pruned of rows synced more than 30 days ago, two at a time
    const batches = [await store.pruneSynced(30, 2), await store.pruneSynced(30, 2), await store.pruneSynced(30, 2)];

    // Then the three rows nothing reads are gone, two and then one, and the rest stay
    assert.deepEqual(batches, [2, 1, 0]);
    assert.deepEqual(await idsAt(at), ['ADJUSTMENT', 'AFTER-REPORT', 'FAILED-ONCE', 'NEWER-PENDING', 'NEWER-PENDING-2', 'ONLY-ONE', 'ORPHAN', 'RECENT', 'UNREPORTED'].map((id) => `${at}-${id}`));
    // And a run finds what it found before
    assert.deepEqual(await comparisonAt(at), before);
    assert.deepEqual(before.variances.map((v) => [v.sku, v.inFlight, v.variance]).sort(), [['NEVER-REPORTED', 11, -1], ['REPORTED', 0, 30], ['REPORTED-BEFORE', 6, -1]]);
  });
});
