import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { codeOf, countOf, givenPositions, givenSyncTransactions, newLocation, reconciliationApi, recordedEvents, startReconciliation } from './reconciliationFixtures.ts';

const SUPERVISOR = 'supervisor@example.com';
const MANAGER = 'manager@example.com';

describe('what people do with review tasks, alerts and holds, on PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('reconciliation-cases');
  let service: RunningService;
  let supervisor: ReturnType<typeof reconciliationApi>;
  let manager: ReturnType<typeof reconciliationApi>;

  before(async () => {
    database = await createTestDatabase();
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    service = await startReconciliation(infrastructure);
    supervisor = reconciliationApi(service.url, SUPERVISOR);
    manager = reconciliationApi(service.url, MANAGER);
  });

  after(async () => {
    await service?.stop();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  /** A location of its own whose one SKU varies by `variance` (WMS over ERP), reconciled: its discrepancy and what it opened. */
  async function given(variance: number) {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'SKU-1', locationId: at, wms: 100 + variance, erp: 100 }]);
    const run = await supervisor.reconcile([at]);
    const [discrepancy] = await supervisor.discrepancies({ locationId: at });
    const [task] = await supervisor.tasks({ locationId: at });
    const [alert] = await supervisor.alerts({ locationId: at });
    const [hold] = await supervisor.holds({ locationId: at });
    return { at, run, discrepancy: discrepancy!, task, alert, hold };
  }

  /** What an action could have changed, to show that a refused one changed nothing. */
  const snapshot = () =>
    database.db.query(`SELECT (SELECT json_agg(t ORDER BY id) FROM review_task t) AS tasks, (SELECT json_agg(a ORDER BY id) FROM alert a) AS alerts,
                              (SELECT json_agg(h ORDER BY id) FROM reconciliation_hold h) AS holds, (SELECT json_agg(d ORDER BY id) FROM discrepancy d) AS discrepancies,
                              (SELECT count(*) FROM reconciliation_audit) AS audit, (SELECT count(*) FROM event_outbox) AS events,
                              (SELECT count(*) FROM sync_transaction) AS transactions`);

  it('approves a review task: posts its adjustment through the sync ledger and resolves the discrepancy, recording who and why; a second decision is refused', async () => {
    const { discrepancy, task } = await given(20);

    const approved = await supervisor.approve(task!.id, 'recounted: the ERP missed a receipt');

    assert.equal(approved.errors, undefined, JSON.stringify(approved.errors));
    const answer = approved.data!.approveAdjustment;
    assert.deepEqual([answer.status, answer.discrepancy, answer.closedAt !== null], ['APPROVED', { id: discrepancy.id, status: 'RESOLVED' }, true]);
    assert.deepEqual(answer.audit.map((entry) => [entry.action, entry.actor, entry.note]), [
      ['OPENED', 'stockgraph', `raised by run ${discrepancy.run.id}`],
      ['APPROVED', SUPERVISOR, 'recounted: the ERP missed a receipt'],
    ]);
    const [resolved] = await supervisor.discrepancies({ runId: discrepancy.run.id });
    assert.deepEqual([resolved!.status, resolved!.adjustment], ['RESOLVED', { id: `RECON:${discrepancy.id}` }]);
    assert.deepEqual(resolved!.audit.at(-1), { ...resolved!.audit.at(-1)!, action: 'RESOLVED', actor: SUPERVISOR });
    const [adjustment] = await database.db.query(`SELECT kind, quantity, status::text FROM sync_transaction WHERE id = $1`, [`RECON:${discrepancy.id}`]);
    assert.deepEqual(adjustment, { kind: 'RECONCILIATION_ADJUSTMENT', quantity: 20, status: 'PENDING_SYNC' });
    const events = await recordedEvents(database.db, [`task:${task!.id}`, `discrepancy:${discrepancy.id}`]);
    assert.deepEqual(events.map((event) => [event.type, event.sequence, event.payload.status, event.payload.actor]), [
      ['reconciliation.discrepancy.changed', 1, 'OPEN', 'stockgraph'],
      ['reconciliation.task.changed', 1, 'OPEN', 'stockgraph'],
      ['reconciliation.task.changed', 2, 'APPROVED', SUPERVISOR],
      ['reconciliation.discrepancy.changed', 2, 'RESOLVED', SUPERVISOR],
    ]);

    const before = await snapshot();
    const again = await manager.approve(task!.id);
    const reject = await manager.reject(task!.id);
    const assign = await manager.assign(task!.id, 'someone');
    assert.deepEqual([again, reject, assign].map(codeOf), ['TASK_CLOSED', 'TASK_CLOSED', 'TASK_CLOSED']);
    assert.equal(again.errors![0]!.extensions!.status, 'APPROVED');
    assert.deepEqual(await snapshot(), before, 'a refused decision changes nothing');
  });

  it('takes one of two decisions made at once on a task, and posts one adjustment', async () => {
    const { discrepancy, task } = await given(30);

    const answers = await Promise.all([supervisor.approve(task!.id), manager.approve(task!.id), manager.reject(task!.id)]);

    assert.equal(answers.filter((answer) => !answer.errors).length, 1, JSON.stringify(answers));
    assert.deepEqual(answers.filter((answer) => answer.errors).map(codeOf), ['TASK_CLOSED', 'TASK_CLOSED']);
    const approved = answers.some((answer) => answer.data && 'approveAdjustment' in answer.data);
    assert.equal(await countOf(database.db, `SELECT count(*)::int AS count FROM sync_transaction WHERE id = $1`, [`RECON:${discrepancy.id}`]), approved ? 1 : 0);
  });

  it('rejects a review task: nothing is posted and the discrepancy is resolved as reviewed; a later run raises the variance again', async () => {
    const { at, discrepancy, task } = await given(-12);

    const rejected = await supervisor.reject(task!.id, 'the WMS count is wrong; recount tomorrow');

    assert.deepEqual([rejected.data!.rejectAdjustment.status, rejected.data!.rejectAdjustment.discrepancy!.status], ['REJECTED', 'RESOLVED']);
    assert.equal(await countOf(database.db, `SELECT count(*)::int AS count FROM sync_transaction WHERE location_id = $1`, [at]), 0, 'no adjustment posted');
    const later = await supervisor.reconcile([at]);
    const [raisedAgain] = await supervisor.discrepancies({ runId: later.id });
    assert.deepEqual([raisedAgain!.variance, raisedAgain!.status, raisedAgain!.id !== discrepancy.id], [-12, 'OPEN', true]);
  });

  it('assigns an open task, replacing the assignee, and refuses a blank or too long one', async () => {
    const { task } = await given(8);

    await supervisor.assign(task!.id, 'alice');
    const reassigned = await supervisor.assign(task!.id, '  bob  ');
    const before = await snapshot();
    const blank = await supervisor.assign(task!.id, '   ');
    const tooLong = await supervisor.assign(task!.id, 'x'.repeat(201));

    assert.deepEqual([reassigned.data!.assignTask.assignee, reassigned.data!.assignTask.status], ['bob', 'OPEN']);
    assert.deepEqual(reassigned.data!.assignTask.audit.slice(1).map((entry) => [entry.action, entry.actor, entry.note]), [['ASSIGNED', SUPERVISOR, 'to alice'], ['ASSIGNED', SUPERVISOR, 'to bob']]);
    assert.deepEqual([codeOf(blank), codeOf(tooLong)], ['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual((await supervisor.tasks({ assignee: 'bob' })).map((found) => found.id), [task!.id]);
  });

  it('answers unknown ids and long notes with stable codes, and changes nothing', async () => {
    const { task, hold, alert } = await given(70);
    const before = await snapshot();

    const answers = [
      await supervisor.approve('TSK-nope'), await supervisor.reject('TSK-nope'), await supervisor.assign('TSK-nope', 'alice'),
      await manager.acknowledge('ALR-nope'), await manager.resolve('ALR-nope'), await manager.release('HLD-nope'),
      await manager.resolve(alert!.id, 'n'.repeat(1_001)), await manager.release(hold!.id, 'n'.repeat(1_001)),
    ];

    assert.equal(task, undefined, 'an alert-tier variance opens no review task');
    assert.deepEqual(answers.map(codeOf), ['TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'ALERT_NOT_FOUND', 'ALERT_NOT_FOUND', 'HOLD_NOT_FOUND', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    assert.deepEqual(await snapshot(), before);
  });

  it('refuses to approve an orphaned-transaction task, and rejects it', async () => {
    const at = newLocation();
    await givenPositions(database.db, [{ sku: 'SKU-1', locationId: at, wms: 5, erp: 5 }]);
    const longAgo = new Date(Date.now() - 3 * 3_600_000);
    await givenSyncTransactions(database.db, [{ id: `${at}-PICK`, sku: 'SKU-1', locationId: at, quantity: 0, kind: 'PICK', createdAt: longAgo, orphanRetriedAt: longAgo }]);
    await supervisor.reconcile([at]);
    const [task] = await supervisor.tasks({ locationId: at });

    const approved = await supervisor.approve(task!.id);
    const rejected = await supervisor.reject(task!.id, 'redriven by hand');

    assert.equal(codeOf(approved), 'TASK_NOT_APPROVABLE');
    assert.deepEqual([rejected.data!.rejectAdjustment.kind, rejected.data!.rejectAdjustment.status], ['ORPHANED_TRANSACTION', 'REJECTED']);
  });

  it('acknowledges an alert, its hold still standing, then resolves it: the hold released (holdCleared), the discrepancy resolved', async () => {
    const { discrepancy, alert, hold } = await given(75);

    const acknowledged = await manager.acknowledge(alert!.id, 'on my way to count');
    const twice = await manager.acknowledge(alert!.id);
    const [standing] = await manager.holds({ status: ['ACTIVE'], locationId: discrepancy.stockLevel.locationId });
    const resolved = await manager.resolve(alert!.id, 'counted: 75 units found in the wrong bin');
    const again = await manager.resolve(alert!.id);

    assert.equal(acknowledged.data!.acknowledgeAlert.status, 'ACKNOWLEDGED');
    assert.deepEqual([codeOf(twice), twice.errors![0]!.extensions!.status], ['ALERT_CLOSED', 'ACKNOWLEDGED']);
    assert.equal(standing!.id, hold!.id, 'an acknowledged alert keeps its hold');
    const answer = resolved.data!.resolveAlert;
    assert.deepEqual([answer.status, answer.hold, answer.discrepancy], ['RESOLVED', { id: hold!.id, status: 'RELEASED' }, { id: discrepancy.id, status: 'RESOLVED' }]);
    assert.deepEqual(answer.audit.map((entry) => [entry.action, entry.actor, entry.note]), [
      ['OPENED', 'stockgraph', `raised by run ${discrepancy.run.id}`],
      ['ACKNOWLEDGED', MANAGER, 'on my way to count'],
      ['RESOLVED', MANAGER, 'counted: 75 units found in the wrong bin'],
    ]);
    assert.deepEqual([codeOf(again), again.errors![0]!.extensions!.status], ['ALERT_CLOSED', 'RESOLVED']);
    const [released] = await manager.holds({ locationId: discrepancy.stockLevel.locationId });
    assert.deepEqual(released!.audit.map((entry) => [entry.action, entry.actor]), [['PLACED', 'stockgraph'], ['RELEASED', MANAGER]]);
    const events = await recordedEvents(database.db, [hold!.id]);
    assert.deepEqual(events.map((event) => event.type), ['reconciliation.hold.placed', 'reconciliation.hold.cleared']);
    assert.equal(events[1]!.payload.clearedAt, released!.releasedAt);
  });

  it('releases a hold, leaving its alert as it is; a second release is refused; a later run finding the variance gone closes the rest', async () => {
    const { at, alert, hold } = await given(-90);

    const released = await manager.release(hold!.id, 'released for the peak; counting tonight');
    const twice = await manager.release(hold!.id);

    assert.deepEqual([released.data!.releaseHold.status, released.data!.releaseHold.alert], ['RELEASED', { id: alert!.id, status: 'OPEN' }]);
    assert.equal(codeOf(twice), 'HOLD_RELEASED');
    assert.deepEqual((await recordedEvents(database.db, [hold!.id])).map((event) => event.type), ['reconciliation.hold.placed', 'reconciliation.hold.cleared']);

    await database.db.query(`UPDATE reconciliation_position SET wms_on_hand = erp_on_hand WHERE location_id = $1`, [at]);
    const later = await manager.reconcile([at]);
    const [closedAlert] = await manager.alerts({ locationId: at });
    assert.deepEqual([later.closedGone, closedAlert!.status, closedAlert!.discrepancy!.status], [1, 'RESOLVED', 'RESOLVED']);
    assert.equal((await recordedEvents(database.db, [hold!.id])).length, 2, 'a hold is cleared once');
  });
});
