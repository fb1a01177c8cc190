import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertActionRefusal, checkAssignee, checkNote, checkRunLocations, holdReleaseRefusal, taskActionRefusal } from '../../subgraphs/reconciliation/domain/caseRules.ts';
import { ReconciliationError } from '../../subgraphs/reconciliation/domain/reconciliationErrors.ts';
import { planRun, type PositionVariance } from '../../subgraphs/reconciliation/domain/runPlan.ts';

const variance = (sku: string, locationId: string, amount: number): PositionVariance => ({ sku, locationId, wmsOnHand: 100, erpOnHand: 100 - amount, inFlight: 0, variance: amount, tier: 'REVIEW' });
const codeOf = (refusal: ReconciliationError | null) => refusal && [refusal.code, refusal.details.status ?? null];

describe('reconciliation rules', () => {
  it('raises a discrepancy for each variance no open one covers, and closes the open ones whose variance is gone', () => {
    const plan = planRun(
      [variance('A', 'DC-01', 7), variance('B', 'DC-01', -3), variance('A', 'DC-02', 60)],
      [{ id: 'D-A1', sku: 'A', locationId: 'DC-01' }, { id: 'D-C1', sku: 'C', locationId: 'DC-01' }],
    );

    assert.deepEqual(plan.raise.map((v) => `${v.sku}@${v.locationId}`), ['B@DC-01', 'A@DC-02']);
    assert.equal(plan.alreadyOpen, 1);
    assert.deepEqual(plan.gone, ['D-C1']);
  });

  it('takes a decision on an OPEN task only, and approves only variances', () => {
    const open = { id: 'T', kind: 'VARIANCE', status: 'OPEN' } as const;
    const orphan = { id: 'T', kind: 'ORPHANED_TRANSACTION', status: 'OPEN' } as const;

    assert.deepEqual([taskActionRefusal(open, 'approve'), taskActionRefusal(orphan, 'reject'), taskActionRefusal(orphan, 'assign')], [null, null, null]);
    assert.deepEqual(codeOf(taskActionRefusal(orphan, 'approve')), ['TASK_NOT_APPROVABLE', null]);
    for (const status of ['APPROVED', 'REJECTED', 'CANCELLED'] as const) {
      assert.deepEqual(codeOf(taskActionRefusal({ ...orphan, status }, 'approve')), ['TASK_CLOSED', status], 'a closed task is closed, whatever its kind');
    }
  });

  it('acknowledges OPEN alerts, resolves those not RESOLVED, and releases ACTIVE holds', () => {
    assert.deepEqual(codeOf(alertActionRefusal({ id: 'A', status: 'ACKNOWLEDGED' }, 'acknowledge')), ['ALERT_CLOSED', 'ACKNOWLEDGED']);
    assert.equal(alertActionRefusal({ id: 'A', status: 'ACKNOWLEDGED' }, 'resolve'), null);
    assert.deepEqual(codeOf(alertActionRefusal({ id: 'A', status: 'RESOLVED' }, 'resolve')), ['ALERT_CLOSED', 'RESOLVED']);
    assert.deepEqual([holdReleaseRefusal({ id: 'H', status: 'ACTIVE' }), codeOf(holdReleaseRefusal({ id: 'H', status: 'RELEASED' }))], [null, ['HOLD_RELEASED', null]]);
  });

  it('checks notes, assignees and a run\'s locations', () => {
    assert.deepEqual([checkNote(undefined), checkNote('  '), checkNote('n'.repeat(1_000))?.length], [null, null, 1_000]);
    assert.throws(() => checkNote('n'.repeat(1_001)), { code: 'BAD_USER_INPUT' });
    assert.equal(checkAssignee('  alice '), 'alice');
    assert.throws(() => checkAssignee(' '), { code: 'BAD_USER_INPUT' });
    assert.deepEqual(checkRunLocations(['DC-02', 'DC-01', 'DC-02']), ['DC-01', 'DC-02']);
    assert.deepEqual(checkRunLocations(null), []);
    assert.throws(() => checkRunLocations(['DC-01', '']), { code: 'BAD_USER_INPUT' });
    assert.throws(() => checkRunLocations(Array.from({ length: 1_001 }, (_, n) => `L${n}`)), /At most 1000/);
  });
});
