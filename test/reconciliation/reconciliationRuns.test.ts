import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PrismaClient, SqlConnection } from '../../platform/database/database.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { SyncTransactionStore, type ClaimedSyncTransaction } from '../../subgraphs/reconciliation/erpSync/syncTransactionStore.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import {
  codeOf, countOf, givenPositions, givenSyncTransactions, newLocation, reconciliationApi, recordedEvents, startReconciliation, type DiscrepancyView,
} from './reconciliationFixtures.ts';

const HOUR_MS = 3_600_000;
const bySku = (discrepancies: readonly DiscrepancyView[]) => new Map(discrepancies.map((d) => [d.stockLevel.sku, d]));

describe('reconciliation runs on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('reconciliation-runs');
  let service: RunningService;
  let api: ReturnType<typeof reconciliationApi>;

  before(async () => {
    database = await createTestDatabase();
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    service = await startReconciliation(infrastructure);
    api = reconciliationApi(service.url);
  });

  after(async () => {
    await service?.stop();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  /** Holds `table` so that a run blocks when it writes there (reads go on), until the returned release. */
  async function blockWritesTo(table: string): Promise<() => Promise<void>> {
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = database.db.withConnection(async (connection: SqlConnection) => {
      await connection.exec(`BEGIN; LOCK TABLE ${table} IN EXCLUSIVE MODE`);
      locked();
      await new Promise<void>((resolve) => (release = resolve));
      await connection.exec('COMMIT');
    });
    await isLocked;
    return async () => {
      release();
      await held;
    };
  }

  it('finds exactly the variances in-flight transactions leave, and acts on each tier', async () => {
    const at = newLocation();
    const reported = new Date(Date.now() - HOUR_MS);
    await givenPositions(database.db, [
      { sku: 'A', locationId: at, wms: 10, erp: 10 },
      { sku: 'B', locationId: at, wms: 10, erp: 8 },
      { sku: 'C', locationId: at, wms: 100, erp: 80 },
      { sku: 'D', locationId: at, wms: 200, erp: 100 },
      // The ERP still counts 5 a pending ship took: higher than the WMS, and no variance.
      { sku: 'E', locationId: at, wms: 10, erp: 15 },
      { sku: 'F', locationId: at, wms: 57, erp: 50 },
      // Synced after the ERP's balance was taken: still in flight. Synced before: in the balance.
      { sku: 'G', locationId: at, wms: 20, erp: 30, erpReportedAt: reported },
      { sku: 'H', locationId: at, wms: 20, erp: 20, erpReportedAt: reported },
      { sku: 'I', locationId: at, wms: 40, erp: 45 },
    ]);
    await givenSyncTransactions(database.db, [
      { id: `${at}-E-SHIP`, sku: 'E', locationId: at, quantity: -5 },
      { id: `${at}-F-RECEIPT`, sku: 'F', locationId: at, quantity: 7, kind: 'RECEIPT' },
      { id: `${at}-G-SHIP`, sku: 'G', locationId: at, quantity: -10, status: 'SYNCED', syncedAt: new Date(reported.getTime() + 60_000) },
      { id: `${at}-H-SHIP`, sku: 'H', locationId: at, quantity: -10, status: 'SYNCED', syncedAt: new Date(reported.getTime() - 60_000) },
      { id: `${at}-I-PICK`, sku: 'I', locationId: at, quantity: 0, kind: 'PICK', unitOfMeasure: 'CS' },
      { id: `${at}-I-SHIP`, sku: 'I', locationId: at, quantity: -2, status: 'SYNC_FAILED', unitOfMeasure: 'CS' },
    ]);

    const started = await api.start([at]);
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    assert.deepEqual([started.data!.startReconciliation.status, started.data!.startReconciliation.finishedAt], ['RUNNING', null]);
    const run = await api.finished(started.data!.startReconciliation.id);

    assert.deepEqual(
      { ...run, id: undefined, startedAt: undefined, finishedAt: undefined },
      {
        id: undefined, status: 'COMPLETED', locationIds: [at], requestedBy: 'supervisor@example.com', startedAt: undefined, finishedAt: undefined,
        positionsCompared: 9, matched: 5, accuracy: 5 / 9, autoCorrected: 2, reviewed: 1, alerted: 1,
        alreadyOpen: 0, closedGone: 0, orphansRetried: 0, orphanTasks: 0, error: null,
      },
    );
    const found = bySku(await api.discrepancies({ runId: run.id }));
    assert.deepEqual([...found.keys()].sort(), ['B', 'C', 'D', 'I'], 'A, E, F, G and H matched');
    const [b, c, d, i] = ['B', 'C', 'D', 'I'].map((sku) => found.get(sku)!) as [DiscrepancyView, DiscrepancyView, DiscrepancyView, DiscrepancyView];
    assert.deepEqual([b, c, d, i].map((x) => [x.wmsOnHand, x.erpOnHand, x.inFlight, x.variance, x.tier, x.status]), [
      [10, 8, 0, 2, 'AUTO_CORRECT', 'AUTO_CORRECTED'],
      [100, 80, 0, 20, 'REVIEW', 'OPEN'],
      [200, 100, 0, 100, 'ALERT', 'OPEN'],
      [40, 45, -2, -3, 'AUTO_CORRECT', 'AUTO_CORRECTED'],
    ]);

    // AUTO_CORRECT: an adjustment of the variance through the ledger, in the SKU's unit.
    const adjustments = await database.db.query<{ id: string; kind: string; quantity: number; erp_quantity: number; unit_of_measure: string; status: string; subinventory: string }>(
      `SELECT id, kind, quantity, erp_quantity, unit_of_measure, status::text, subinventory FROM sync_transaction WHERE kind = 'RECONCILIATION_ADJUSTMENT' AND location_id = $1 ORDER BY quantity`, [at]);
    assert.deepEqual(adjustments, [
      { id: `RECON:${i.id}`, kind: 'RECONCILIATION_ADJUSTMENT', quantity: -3, erp_quantity: -3, unit_of_measure: 'CS', status: 'PENDING_SYNC', subinventory: 'STOCK' },
      { id: `RECON:${b.id}`, kind: 'RECONCILIATION_ADJUSTMENT', quantity: 2, erp_quantity: 2, unit_of_measure: 'EA', status: 'PENDING_SYNC', subinventory: 'STOCK' },
    ]);
    assert.deepEqual([b.adjustment, b.reviewTask, b.alert, b.hold], [{ id: `RECON:${b.id}` }, null, null, null]);
    assert.deepEqual(b.audit.map((entry) => [entry.action, entry.actor, entry.note]), [['AUTO_CORRECTED', 'stockgraph', `adjustment RECON:${b.id} posted by run ${run.id}`]]);

    // REVIEW: a supervisor's task proposing the variance.
    const [task] = await api.tasks({ locationId: at });
    assert.deepEqual([task!.kind, task!.status, task!.stockLevel.sku, task!.discrepancy, task!.proposedAdjustment], ['VARIANCE', 'OPEN', 'C', { id: c.id, status: 'OPEN' }, 20]);
    assert.deepEqual(c.reviewTask, { id: task!.id, status: 'OPEN' });

    // ALERT: an alert to the warehouse manager and a hold on order releases.
    const [alert] = await api.alerts({ locationId: at });
    const [hold] = await api.holds({ locationId: at });
    assert.deepEqual([alert!.kind, alert!.status, alert!.discrepancy!.id, alert!.hold], ['VARIANCE', 'OPEN', d.id, { id: hold!.id, status: 'ACTIVE' }]);
    assert.match(alert!.message, /\+100 units of D/);
    assert.deepEqual([hold!.status, hold!.stockLevel, hold!.alert.id, hold!.discrepancy.id], ['ACTIVE', { sku: 'D', locationId: at }, alert!.id, d.id]);
    assert.deepEqual(hold!.audit.map((entry) => [entry.action, entry.actor, entry.note]), [['PLACED', 'stockgraph', `raised by run ${run.id}`]]);

    // Each change is published: a discrepancy's first version, the task, the alert, the hold placed.
    const events = await recordedEvents(database.db, [...[b, c, d, i].map((x) => `discrepancy:${x.id}`), `task:${task!.id}`, `alert:${alert!.id}`, hold!.id]);
    assert.deepEqual(events.map((event) => [event.type, event.sequence]).sort(), [
      ['reconciliation.alert.changed', 1], ['reconciliation.discrepancy.changed', 1], ['reconciliation.discrepancy.changed', 1],
      ['reconciliation.discrepancy.changed', 1], ['reconciliation.discrepancy.changed', 1], ['reconciliation.hold.placed', 1], ['reconciliation.task.changed', 1],
    ]);
    assert.deepEqual(events.find((event) => event.type === 'reconciliation.hold.placed')!.payload, { holdId: hold!.id, sku: 'D', locationId: at, reason: hold!.reason, placedAt: events.find((event) => event.type === 'reconciliation.hold.placed')!.payload.placedAt });

    // What a stock level shows of it, as the gateway asks for it.
    const { data } = await api.call(`query ($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on StockLevel { sku reconciliation { lastRunAt variance tier openDiscrepancy { id } pendingSyncTransactions activeHold { id } } } } }`, {
      representations: ['A', 'D', 'E'].map((sku) => ({ __typename: 'StockLevel', sku, locationId: at })),
    });
    assert.deepEqual(data._entities, [
      { sku: 'A', reconciliation: { lastRunAt: run.finishedAt, variance: 0, tier: null, openDiscrepancy: null, pendingSyncTransactions: 0, activeHold: null } },
      { sku: 'D', reconciliation: { lastRunAt: run.finishedAt, variance: 100, tier: 'ALERT', openDiscrepancy: { id: d.id }, pendingSyncTransactions: 0, activeHold: { id: hold!.id } } },
      { sku: 'E', reconciliation: { lastRunAt: run.finishedAt, variance: 0, tier: null, openDiscrepancy: null, pendingSyncTransactions: 1, activeHold: null } },
    ]);
  });

  it('closes, in a later run, what a variance gone leaves open: its task cancelled, its alert resolved, its hold released; the rest stays', async () => {
    const at = newLocation();
    await givenPositions(database.db, [
      { sku: 'REVIEWED', locationId: at, wms: 30, erp: 20 },
      { sku: 'ALERTED', locationId: at, wms: 200, erp: 100 },
      { sku: 'CORRECTED', locationId: at, wms: 12, erp: 10 },
      { sku: 'STILL', locationId: at, wms: 60, erp: 40 },
    ]);
    const first = await api.reconcile([at]);
    const raised = bySku(await api.discrepancies({ runId: first.id }));
    const [hold] = await api.holds({ locationId: at });

    // The counts agree now (the auto-correction is still in flight); one variance changed but remains.
    await database.db.query(`UPDATE reconciliation_position SET wms_on_hand = erp_on_hand WHERE location_id = $1 AND sku IN ('REVIEWED', 'ALERTED')`, [at]);
    await database.db.query(`UPDATE reconciliation_position SET wms_on_hand = 61 WHERE location_id = $1 AND sku = 'STILL'`, [at]);
    const second = await api.reconcile([at]);

    assert.deepEqual([second.positionsCompared, second.matched, second.accuracy, second.closedGone, second.alreadyOpen, second.reviewed], [4, 3, 0.75, 2, 1, 0]);
    assert.deepEqual(await api.discrepancies({ runId: second.id }), [], 'no new discrepancy: the open one still covers STILL');
    const after = bySku(await api.discrepancies({ locationId: at }));
    const gone = `variance gone in run ${second.id}`;
    const reviewed = after.get('REVIEWED')!;
    assert.deepEqual([reviewed.status, reviewed.reviewTask!.status], ['RESOLVED', 'CANCELLED']);
    assert.deepEqual(reviewed.audit.map((entry) => [entry.action, entry.note]), [['OPENED', `raised by run ${first.id}`], ['RESOLVED', gone]]);
    const task = (await api.tasks({ locationId: at, sku: 'REVIEWED' }))[0];
    assert.deepEqual(task!.audit.map((entry) => [entry.action, entry.actor, entry.note]), [['OPENED', 'stockgraph', `raised by run ${first.id}`], ['CANCELLED', 'stockgraph', gone]]);
    const alerted = after.get('ALERTED')!;
    assert.deepEqual([alerted.status, alerted.alert!.status, alerted.hold!.status], ['RESOLVED', 'RESOLVED', 'RELEASED']);
    assert.deepEqual([after.get('STILL')!.status, after.get('STILL')!.id], ['OPEN', raised.get('STILL')!.id]);
    assert.equal(after.get('CORRECTED')!.status, 'AUTO_CORRECTED');

    const holdEvents = await recordedEvents(database.db, [hold!.id]);
    assert.deepEqual(holdEvents.map((event) => event.type), ['reconciliation.hold.placed', 'reconciliation.hold.cleared'], 'orders waiting on the hold are released by its clearing');
    const discrepancyEvents = await recordedEvents(database.db, [`discrepancy:${reviewed.id}`]);
    assert.deepEqual(discrepancyEvents.map((event) => [event.sequence, event.payload.status, event.payload.actor]), [[1, 'OPEN', 'stockgraph'], [2, 'RESOLVED', 'stockgraph']]);
  });

  it('tiers each variance by the first rule that matches it: item class, then location, then default; in units and percent', async () => {
    const [at, elsewhere] = [newLocation(), newLocation()];
    const configured = await startReconciliation(infrastructure, {
      RECONCILIATION_TIERS: JSON.stringify({
        locations: { [at]: { autoCorrectBelow: 2, alertAbove: 10 } },
        itemClasses: {
          bulk: { skus: '^BULK-', autoCorrectBelow: 20, alertAbove: 100 },
          fragile: { skus: '^FRG-', alertAbovePercent: 10 },
          precise: { skus: '^PRC-', autoCorrectBelowPercent: 1 },
        },
      }),
    });
    cleanup(() => configured.stop());
    const varying = (sku: string, locationId: string, wms: number, variance: number) => ({ sku, locationId, wms, erp: wms - variance });
    await givenPositions(database.db, [
      varying('X-1', at, 103, 3), varying('X-2', at, 112, 12), varying('BULK-1', at, 115, 15),
      varying('FRG-1', at, 50, 6), varying('FRG-2', at, 1_000, 6), varying('FRG-3', at, 2, 2),
      varying('PRC-1', at, 1_000, 4), varying('PRC-2', at, 100, 4), varying('X-1', elsewhere, 103, 3),
    ]);

    const run = await reconciliationApi(configured.url).reconcile([at, elsewhere]);

    const tiers = (await api.discrepancies({ runId: run.id })).map((d) => `${d.stockLevel.sku}@${d.stockLevel.locationId === at ? 'here' : 'elsewhere'} ${d.tier}`).sort();
    assert.deepEqual(tiers, [
      'BULK-1@here AUTO_CORRECT', // its class over its location (which alerts over 10)
      'FRG-1@here ALERT', // 12% of WMS on hand
      'FRG-2@here REVIEW', // 0.6%: the class takes its units from the default
      'FRG-3@here ALERT', // under 5 units, but 100%: alerting comes first
      'PRC-1@here AUTO_CORRECT', // 0.4%, under 5 units
      'PRC-2@here REVIEW', // under 5 units, but 4%
      'X-1@elsewhere AUTO_CORRECT', // the default
      'X-1@here REVIEW', // the location's: 2 to 10
      'X-2@here ALERT',
    ]);
  });

  it('starts one run when two requests come at once, and answers a request while it runs with that run, whatever its locations', async () => {
    const [at, elsewhere] = [newLocation(), newLocation()];
    await givenPositions(database.db, [{ sku: 'A', locationId: at, wms: 9, erp: 1 }, { sku: 'A', locationId: elsewhere, wms: 1, erp: 1 }]);
    const runsBefore = await countOf(database.db, 'SELECT count(*)::int AS count FROM reconciliation_run');
    // The run blocks when it records its discrepancy, so that it is still RUNNING when the others ask.
    const release = await blockWritesTo('discrepancy');
    cleanup(release);

    const [one, two] = await Promise.all([api.start([at]), api.start([at])]);
    const third = await api.start([elsewhere]);

    const ids = [one, two, third].map((answer) => answer.data!.startReconciliation.id);
    assert.equal(new Set(ids).size, 1, JSON.stringify([one, two, third]));
    assert.deepEqual([third.data!.startReconciliation.status, third.data!.startReconciliation.locationIds], ['RUNNING', [at]]);
    const runsAfter = await countOf(database.db, 'SELECT count(*)::int AS count FROM reconciliation_run');
    assert.equal(runsAfter, runsBefore + 1);
    await release();
    assert.equal((await api.finished(ids[0]!)).status, 'COMPLETED');
  });

  it('refuses unknown, blank and too many locations with stable codes, and starts nothing', async () => {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'A', locationId: at, wms: 1, erp: 2 }]);
    const runsBefore = await countOf(database.db, 'SELECT count(*)::int AS count FROM reconciliation_run');

    const unknown = await api.start([at, 'NOWHERE-1', 'NOWHERE-2']);
    const blank = await api.start([at, ' ']);
    const tooMany = await api.start(Array.from({ length: 1_001 }, (_, n) => `L-${n}`));

    assert.equal(codeOf(unknown), 'UNKNOWN_LOCATION');
    assert.deepEqual(unknown.errors![0]!.extensions!.locationIds, ['NOWHERE-1', 'NOWHERE-2']);
    assert.deepEqual([codeOf(blank), codeOf(tooMany)], ['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    const runsAfter = await countOf(database.db, 'SELECT count(*)::int AS count FROM reconciliation_run');
    assert.equal(runsAfter, runsBefore);
  });

  it('marks a run whose replica stopped FAILED, and keeps nothing a run found once it was given up', async () => {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'A', locationId: at, wms: 90, erp: 10 }]);
    const release = await blockWritesTo('discrepancy');
    cleanup(release);
    const started = (await api.start([at])).data!.startReconciliation;

    // Another replica finds the run's lease run out (its own replica seems gone) and starts anew.
    await database.db.query(`UPDATE reconciliation_run SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [started.id]);
    const next = (await api.start([at])).data!.startReconciliation;
    await release();

    assert.notEqual(next.id, started.id);
    const abandoned = await api.finished(started.id);
    assert.deepEqual([abandoned.status, abandoned.error], ['FAILED', 'abandoned: its replica stopped']);
    assert.equal((await api.finished(next.id)).status, 'COMPLETED');
    assert.deepEqual(await api.discrepancies({ runId: started.id }), [], 'what the abandoned run found rolled back');
    assert.equal((await api.discrepancies({ runId: next.id })).length, 1);
  });

  it('retries orphaned sync transactions once, then turns those still pending into review tasks, and cancels them once synced', async () => {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'A', locationId: at, wms: 10, erp: 10 }]);
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR_MS);
    await givenSyncTransactions(database.db, [
      { id: `${at}-NEW`, sku: 'A', locationId: at, quantity: 0, kind: 'PICK' },
      { id: `${at}-OLD`, sku: 'A', locationId: at, quantity: 0, kind: 'PICK', createdAt: twoHoursAgo },
      { id: `${at}-RETRIED`, sku: 'A', locationId: at, quantity: 0, kind: 'PICK', createdAt: twoHoursAgo, orphanRetriedAt: twoHoursAgo },
    ]);

    const first = await api.reconcile([at]);
    const second = await api.reconcile([at]);

    assert.deepEqual([first.orphansRetried, first.orphanTasks, second.orphansRetried, second.orphanTasks], [1, 1, 0, 0], 'each orphan retried once, tasked once');
    const [retried] = await database.db.query<{ due: boolean; orphan_retried_at: Date }>(
      `SELECT next_attempt_at <= now() AS due, orphan_retried_at FROM sync_transaction WHERE id = $1`, [`${at}-OLD`]);
    assert.equal(retried!.due, true);
    assert.ok(retried!.orphan_retried_at);
    const [task] = await api.tasks({ locationId: at, kind: ['ORPHANED_TRANSACTION'] });
    assert.deepEqual([task!.status, task!.syncTransaction, task!.discrepancy, task!.proposedAdjustment], ['OPEN', { id: `${at}-RETRIED` }, null, 0]);

    await database.db.query(`UPDATE sync_transaction SET status = 'SYNCED', synced_at = now() WHERE id = $1`, [`${at}-RETRIED`]);
    await api.reconcile([at]);
    const [cancelled] = await api.tasks({ locationId: at, kind: ['ORPHANED_TRANSACTION'] });
    assert.equal(cancelled!.status, 'CANCELLED');
    assert.match(cancelled!.audit.at(-1)!.note!, /synced/);
  });

  describe('an orphan a connector has claimed', () => {
    const CLAIM_LEASE_MS = 60_000;
    /** PENDING_SYNC transactions at a location of their own, taken two hours ago and due now: orphans a connector may claim. */
    async function givenDueOrphans(...names: string[]) {
      const at = newLocation();
      await givenPositions(database.db, [{ sku: 'A', locationId: at, wms: 10, erp: 10 }]);
      const ids = names.map((name) => `${at}-${name}`);
      await givenSyncTransactions(database.db, ids.map((id) => ({ id, sku: 'A', locationId: at, quantity: 0, kind: 'PICK', createdAt: new Date(Date.now() - 2 * HOUR_MS) })));
      await database.db.query('UPDATE sync_transaction SET next_attempt_at = now() WHERE id = ANY($1)', [ids]);
      return { at, ids };
    }
    // A connector claims every due row of the database; each test looks at its own location's.
    const claimAt = async (store: SyncTransactionStore, at: string) => (await store.claimDue(1_000, CLAIM_LEASE_MS, [])).filter((row) => row.locationId === at);
    const attemptsOf = (rows: readonly ClaimedSyncTransaction[]) => rows.map((row) => [row.id, row.attempts]).sort();
    const ledgerRows = (ids: string[]) => database.db.query<{ id: string; status: string; attempts: number; retried: boolean; due: boolean }>(
      `SELECT id, status::text, attempts, orphan_retried_at IS NOT NULL AS retried, next_attempt_at <= now() AS due FROM sync_transaction WHERE id = ANY($1) ORDER BY id`, [ids]);

    it('is not retried while the claim is live, so no second connector takes it, and the claim settles once; one whose claim ran out is retried', async () => {
      // Given two orphans claimed by a connector, one of whose claims has since run out (its connector died)
      const { at, ids: [held, abandoned] } = await givenDueOrphans('HELD', 'ABANDONED');
      const store = new SyncTransactionStore(database.db.prisma);
      const first = await claimAt(store, at);
      assert.deepEqual(attemptsOf(first), [[abandoned, 1], [held, 1]]);
      await database.db.query(`UPDATE sync_transaction SET claimed_until = now() - interval '1 second', next_attempt_at = now() - interval '1 second' WHERE id = $1`, [abandoned]);

      // When a run's orphan pass goes over them
      const run = await api.reconcile([at]);

      // Then only the one whose claim ran out was retried
      assert.equal(run.orphansRetried, 1);
      assert.deepEqual((await ledgerRows([held!, abandoned!])).map(({ id, retried, due }) => [id, retried, due]), [[abandoned, true, true], [held, false, false]]);

      // And a second connector claiming now gets that one, not the one still held
      assert.deepEqual(attemptsOf(await claimAt(store, at)), [[abandoned, 2]]);

      // And the held one settles once: SYNCED after its one attempt, and the next run leaves it be
      await store.settle([{ outcome: 'synced', row: first.find((row) => row.id === held)!, erpTransactionId: 'ERP-HELD' }]);
      await api.reconcile([at]);
      assert.deepEqual((await ledgerRows([held!])).map(({ status, attempts, retried }) => [status, attempts, retried]), [['SYNCED', 1, false]]);
    });

    it('is not retried when the claim commits while the orphan pass waits for the row', async () => {
      // Given an orphan a connector is claiming, its claim not yet committed
      const { at, ids: [orphan] } = await givenDueOrphans('CLAIMING');
      let commitClaim!: () => void;
      const committing = new Promise<void>((resolve) => (commitClaim = resolve));
      let claimTaken!: (rows: ClaimedSyncTransaction[]) => void;
      const taken = new Promise<ClaimedSyncTransaction[]>((resolve) => (claimTaken = resolve));
      // The store's own claim, in a transaction the test holds open (the store needs no more of a client than a transaction has).
      const claiming = database.db.prisma.$transaction(async (tx) => {
        claimTaken(await claimAt(new SyncTransactionStore(tx as unknown as PrismaClient), at));
        await committing;
      }, { timeout: 30_000 });
      cleanup(async () => (commitClaim(), await claiming));
      assert.deepEqual(attemptsOf(await taken), [[orphan, 1]]);

      // When a run starts and its orphan pass waits for the row the claim holds, and then the claim commits
      const started = (await api.start([at])).data!.startReconciliation;
      await eventually(
        () => database.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%orphan_retried_at = %'`),
        ([waiting]) => waiting!.count === 1, { what: 'the orphan pass waiting for the claimed row' });
      commitClaim();
      await claiming;

      // Then the orphan pass saw the claim: nothing retried, the row still under its lease, and no second connector takes it
      const run = await api.finished(started.id);
      assert.deepEqual([run.status, run.orphansRetried], ['COMPLETED', 0]);
      assert.deepEqual((await ledgerRows([orphan!])).map(({ attempts, retried, due }) => [attempts, retried, due]), [[1, false, false]]);
      assert.deepEqual(await claimAt(new SyncTransactionStore(database.db.prisma), at), []);
    });
  });

  it('lists runs and cases a page at a time, newest first, filtered; resolves them as entities, and their events by id', async () => {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'R', locationId: at, wms: 30, erp: 20 }, { sku: 'H', locationId: at, wms: 90, erp: 20 }]);
    const older = await api.reconcile([at]);
    const newer = await api.reconcile([at]);

    const page = async (after: string | null) =>
      (await api.call(`query ($after: String) { reconciliationRuns(first: 1, after: $after) { nodes { id } endCursor hasNextPage } }`, { after })).data.reconciliationRuns;
    const first = await page(null);
    const second = await page(first.endCursor);
    assert.deepEqual([first.nodes, second.nodes, first.hasNextPage], [[{ id: newer.id }], [{ id: older.id }], true]);
    const [review] = await api.discrepancies({ locationId: at, tier: ['REVIEW'], status: ['OPEN'] });
    assert.equal(review!.stockLevel.sku, 'R');
    assert.deepEqual(await api.discrepancies({ locationId: at, status: ['RESOLVED'] }), []);
    const badCursor = await api.call(`{ discrepancies(first: 1, after: "nonsense") { nodes { id } } }`);
    const tooMany = await api.call(`{ holds(first: 501) { nodes { id } } }`);
    assert.deepEqual([codeOf(badCursor), codeOf(tooMany)], ['BAD_USER_INPUT', 'BAD_USER_INPUT']);

    const [hold] = await api.holds({ locationId: at });
    const { data } = await api.call(`query ($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on Discrepancy { id } ... on ReviewTask { id } ... on Alert { id } ... on Hold { id } } }`, {
      representations: [
        { __typename: 'Discrepancy', id: review!.id }, { __typename: 'ReviewTask', id: review!.reviewTask!.id },
        { __typename: 'Alert', id: hold!.alert.id }, { __typename: 'Hold', id: hold!.id }, { __typename: 'Hold', id: 'HLD-none' },
      ],
    });
    assert.deepEqual(data._entities, [{ id: review!.id }, { id: review!.reviewTask!.id }, { id: hold!.alert.id }, { id: hold!.id }, null]);

    const [placed] = await database.db.query<{ id: string }>(`SELECT id::text FROM event_outbox WHERE key = $1`, [hold!.id]);
    const [raised] = await database.db.query<{ id: string }>(`SELECT id::text FROM event_outbox WHERE key = $1`, [`discrepancy:${review!.id}`]);
    const events = (await api.call(`query ($holds: [ID!]!, $discrepancies: [ID!]!) {
        holdEvents(ids: $holds) { id cursor status hold { id } at }
        discrepancyEvents(ids: $discrepancies) { id discrepancy { id } }
      }`, { holds: [placed!.id, raised!.id, 'x'], discrepancies: [raised!.id, placed!.id] })).data;
    assert.deepEqual(events.holdEvents, [{ id: placed!.id, cursor: null, status: 'ACTIVE', hold: { id: hold!.id }, at: hold!.placedAt }, null, null]);
    assert.deepEqual(events.discrepancyEvents, [{ id: raised!.id, discrepancy: { id: review!.id } }, null]);
    const tooManyIds = await api.call(`query ($ids: [ID!]!) { holdEvents(ids: $ids) { id } }`, { ids: Array.from({ length: 1_001 }, (_, n) => String(n)) });
    assert.equal(codeOf(tooManyIds), 'BAD_USER_INPUT');
  });

  it('runs on its own on schedule, over every location, as stockgraph, the first time one interval after start', async () => {
    const startedAt = Date.now();
    const scheduled = await startReconciliation(infrastructure, { RECONCILIATION_INTERVAL_SECONDS: '1' });
    cleanup(() => scheduled.stop());

    const run = await eventually(
      async () => (await database.db.query<{ id: string; status: string; location_ids: string[] }>(`SELECT id, status::text, location_ids FROM reconciliation_run WHERE requested_by = 'stockgraph'`))[0],
      (found) => found?.status === 'COMPLETED',
      { what: 'a scheduled run completed' },
    );
    assert.deepEqual(run!.location_ids, []);
    const [first] = await database.db.query<{ startedAt: Date }>(`SELECT started_at AS "startedAt" FROM reconciliation_run WHERE requested_by = 'stockgraph' ORDER BY started_at LIMIT 1`);
    assert.ok(first!.startedAt.getTime() >= startedAt + 1_000 - 50, 'the first scheduled run waited one interval');
  });
});
