import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeContext, Order, OrderLine } from '../../subgraphs/orders/domain/order.ts';
import { OrderErrorCode } from '../../subgraphs/orders/domain/orderErrorCode.ts';
import {
  cancel, inspect, inspectionRefusal, release, releaseWhenHoldsClear, requestReturn, reserve, type ReleaseHold,
} from '../../subgraphs/orders/domain/orderLifecycle.ts';
import { validatePlaceOrderRequest, type PlaceOrderRequest } from '../../subgraphs/orders/domain/placeOrderRequest.ts';
import { validateInspection, validateReturnRequest } from '../../subgraphs/orders/domain/returnInput.ts';
import { applyConfirmation, type WarehouseConfirmation } from '../../subgraphs/orders/domain/warehouseConfirmation.ts';

const at = new Date('2026-12-06T10:00:00Z');
const byCaller: ChangeContext = { cause: { type: 'MUTATION', id: 'test' }, actor: 'api-key-1', at };
const byWarehouse: ChangeContext = { cause: { type: 'WAREHOUSE_EVENT', id: 'acme-wms:e-1' }, actor: 'acme-wms', at };

const line = (lineNumber: number, fields: Partial<OrderLine> = {}): OrderLine => ({
  lineNumber, requestedLine: lineNumber, sku: `SKU-${lineNumber}`, locationId: 'DC-01', quantity: 4, reservationId: null,
  picked: 0, packed: 0, shipped: 0, delivered: 0, returnRequested: 0, returnReceived: 0, restocked: 0, scrapped: 0, ...fields,
});

const order = (fields: Partial<Order> = {}): Order => ({
  id: 'ORD-1', reference: 'WEB-1', channel: 'WEB', status: 'RESERVED', version: 2, releaseRequested: false,
  cancelReason: null, returnReason: null, lines: [line(1), line(2)], ...fields,
});

const confirm = (type: WarehouseConfirmation['type'], sku: string, quantity: number, subinventoryNettable = true): WarehouseConfirmation =>
  ({ type, sku, locationId: 'DC-01', quantity, subinventoryNettable });

describe('placeOrder input', () => {
  const valid: PlaceOrderRequest = {
    reference: 'WEB-1', channel: 'WEB', idempotencyKey: 'k-1',
    lines: [
      { sku: 'SKU-1', quantity: 2, locationId: 'DC-01', reservationId: null }, { sku: 'SKU-1', quantity: 1, locationId: 'DC-02', reservationId: null },
      { sku: 'SKU-2', quantity: 1, locationId: null, reservationId: 'RSV-1' },
    ],
  };

  it('takes a valid order, and the same SKU at two locations it names', () => {
    assert.deepEqual(validatePlaceOrderRequest(valid, null), []);
  });

  it('refuses two lines of one SKU that could land at one location: the same one, or one the strategy or a reservation chooses', () => {
    const line = (locationId: string | null, reservationId: string | null = null) => ({ sku: 'SKU-1', quantity: 1, locationId, reservationId });
    for (const [first, second] of [[line('DC-01'), line('DC-01')], [line('DC-01'), line(null)], [line('DC-01'), line('DC-02', 'RSV-1')], [line(null, 'RSV-1'), line(null, 'RSV-2')]]) {
      const problems = validatePlaceOrderRequest({ ...valid, lines: [first!, second!] }, null);
      assert.deepEqual(problems.map((problem) => problem.field), ['lines[1]'], JSON.stringify([first, second]));
      assert.match(problems[0]!.message, /repeats lines\[0\]'s SKU SKU-1/);
    }
    const third = validatePlaceOrderRequest({ ...valid, lines: [line('DC-01'), line('DC-02'), line('DC-02')] }, null);
    assert.match(third[0]!.message, /^repeats lines\[1\]'s SKU/, 'checked against every earlier line of the SKU');
  });

  it('reports every problem at once: blanks, quantities out of range, repeated lines and reservations', () => {
    const problems = validatePlaceOrderRequest({
      reference: ' ', channel: '', idempotencyKey: 'k',
      lines: [
        { sku: 'SKU-1', quantity: 0, locationId: null, reservationId: 'RSV-1' },
        { sku: 'SKU-1', quantity: 1.5, locationId: null, reservationId: 'RSV-1' },
        { sku: '', quantity: 1_000_001, locationId: ' ', reservationId: null },
      ],
    }, null);
    assert.deepEqual(problems.map((problem) => problem.field), [
      'reference', 'channel', 'lines[0].quantity', 'lines[1].quantity', 'lines[1]', 'lines[1].reservationId', 'lines[2].sku', 'lines[2].quantity', 'lines[2].locationId',
    ]);
    assert.match(problems.find((p) => p.field === 'lines[1]')!.message, /repeats lines\[0\]'s SKU SKU-1/);
  });

  it('refuses an order without lines, and one with more than 100', () => {
    assert.equal(validatePlaceOrderRequest({ ...valid, lines: [] }, null)[0]!.field, 'lines');
    const many = Array.from({ length: 101 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1, locationId: null, reservationId: null }));
    assert.match(validatePlaceOrderRequest({ ...valid, lines: many }, null)[0]!.message, /1 to 100 lines, got 101/);
  });

  it('asks a caller granted only some locations to name one on every line, since a strategy could choose any', () => {
    const problems = validatePlaceOrderRequest(valid, ['DC-01', 'DC-02']);

    assert.deepEqual(problems.map((problem) => problem.field), ['lines[2].locationId']);
    assert.match(problems[0]!.message, /must name one of the locations this caller is granted/);
  });
});

describe('an order taking its stock', () => {
  it('gets one line per requested line and location, in that order, and is RESERVED', () => {
    const created = order({ status: 'CREATED', version: 1, lines: [] });
    const change = reserve(created, [
      { requestedLine: 2, sku: 'SKU-2', locationId: 'DC-01', quantity: 1, reservationId: null },
      { requestedLine: 1, sku: 'SKU-1', locationId: 'DC-03', quantity: 2, reservationId: 'RSV-1' },
      { requestedLine: 1, sku: 'SKU-1', locationId: 'DC-02', quantity: 3, reservationId: 'RSV-1' },
    ], byCaller);
    assert.ok(change.ok);
    assert.deepEqual(change.order.lines.map((l) => [l.lineNumber, l.requestedLine, l.sku, l.locationId, l.quantity]), [
      [1, 1, 'SKU-1', 'DC-02', 3], [2, 1, 'SKU-1', 'DC-03', 2], [3, 2, 'SKU-2', 'DC-01', 1],
    ]);
    assert.deepEqual(change.transitions.map((t) => [t.version, t.previousStatus, t.status]), [[2, 'CREATED', 'RESERVED']]);
  });

  it('takes none once it has left CREATED (a repeat of the hold, or a cancel that came first)', () => {
    const refused = reserve(order({ status: 'CANCELLED' }), [], byCaller);
    assert.equal(refused.ok, false);
  });
});

describe('releasing an order', () => {
  const hold: ReleaseHold = { holdId: 'HOLD-1', sku: 'SKU-2', locationId: 'DC-01', reason: 'variance 73' };

  it('hands a RESERVED order over, and returns one already handed over unchanged', () => {
    const released = release(order(), [], byCaller);
    assert.ok(released.ok);
    assert.equal(released.order.status, 'RELEASED');
    const again = release(released.order, [], byCaller);
    assert.deepEqual(again, { ok: true, order: released.order, transitions: [] });
  });

  it('waits for a hold on one of its lines, and goes once the hold clears', () => {
    const held = release(order(), [hold, { ...hold, holdId: 'HOLD-2', sku: 'SKU-9' }], byCaller);
    assert.ok(!held.ok && 'waiting' in held);
    assert.equal(held.code, OrderErrorCode.RECONCILIATION_HOLD);
    assert.deepEqual(held.details.holds, [hold], 'only the holds on its own lines');
    assert.equal(held.waiting.releaseRequested, true);

    assert.equal(releaseWhenHoldsClear(held.waiting, [hold], byCaller), null, 'still held');
    const released = releaseWhenHoldsClear(held.waiting, [], { ...byCaller, cause: { type: 'HOLD_CLEARED', id: 'HOLD-1' } });
    assert.deepEqual([released?.order.status, released?.order.releaseRequested, released?.transitions[0]?.cause], ['RELEASED', false, { type: 'HOLD_CLEARED', id: 'HOLD-1' }]);
  });

  it('stops waiting, its status untouched, once the order has moved on', () => {
    const moved = releaseWhenHoldsClear(order({ status: 'CANCELLED', releaseRequested: true }), [], byCaller);
    assert.deepEqual([moved?.order.status, moved?.order.releaseRequested, moved?.transitions], ['CANCELLED', false, []]);
  });

  it('no longer waits once the warehouse moves it on or it is cancelled', () => {
    const waiting = order({ releaseRequested: true });
    const picked = applyConfirmation(waiting, confirm('PICK', 'SKU-1', 1), byCaller);
    assert.ok(picked.outcome === 'APPLIED');
    assert.deepEqual([picked.change.order.status, picked.change.order.releaseRequested], ['PICKING', false]);
    const cancelled = cancel(waiting, 'customer asked', byCaller);
    assert.ok(cancelled.ok);
    assert.equal(cancelled.order.releaseRequested, false);
  });

  for (const status of ['CREATED', 'CANCELLED', 'RETURN_REQUESTED'] as const) {
    it(`refuses to release a ${status} order`, () => {
      const refused = release(order({ status }), [], byCaller);
      assert.ok(!refused.ok);
      assert.deepEqual([refused.code, refused.details.status], [OrderErrorCode.INVALID_ORDER_STATUS, status]);
    });
  }
});

describe('cancelling an order', () => {
  it('cancels one being picked, with its reason', () => {
    const change = cancel(order({ status: 'PICKING', lines: [line(1, { picked: 4 }), line(2)] }), 'customer changed their mind', byCaller);
    assert.ok(change.ok);
    assert.deepEqual([change.order.status, change.order.cancelReason], ['CANCELLED', 'customer changed their mind']);
  });

  it('refuses once a unit has shipped, and returns a cancelled order unchanged', () => {
    const partlyShipped = cancel(order({ status: 'PACKED', lines: [line(1, { shipped: 1 }), line(2)] }), 'late', byCaller);
    assert.ok(!partlyShipped.ok);
    assert.equal(partlyShipped.code, OrderErrorCode.ORDER_ALREADY_SHIPPED);
    assert.equal((cancel(order({ status: 'DELIVERED' }), 'late', byCaller) as { code: string }).code, OrderErrorCode.ORDER_ALREADY_SHIPPED);
    const cancelled = order({ status: 'CANCELLED' });
    assert.deepEqual(cancel(cancelled, 'again', byCaller), { ok: true, order: cancelled, transitions: [] });
    assert.equal((cancel(order(), '  ', byCaller) as { code: string }).code, 'BAD_USER_INPUT');
  });
});

describe('warehouse confirmations', () => {
  const context = byWarehouse;
  const applied = (current: Order, confirmation: WarehouseConfirmation) => {
    const outcome = applyConfirmation(current, confirmation, context);
    assert.equal(outcome.outcome, 'APPLIED', outcome.outcome === 'INAPPLICABLE' ? outcome.reason : '');
    return (outcome as Extract<typeof outcome, { outcome: 'APPLIED' }>).change;
  };

  it('move an order forward as its lines show: PICKING at the first pick, PACKED and SHIPPED once every line is', () => {
    const released = order({ status: 'RELEASED' });
    const picking = applied(released, confirm('PICK', 'SKU-1', 4));
    assert.equal(picking.order.status, 'PICKING');
    const halfPacked = applied(picking.order, confirm('PACK', 'SKU-1', 4));
    assert.deepEqual([halfPacked.order.status, halfPacked.transitions], ['PICKING', []], 'one line packed of two');
    const partShipped = applied(applied(halfPacked.order, confirm('PACK', 'SKU-2', 4)).order, confirm('SHIP', 'SKU-1', 3));
    assert.equal(partShipped.order.status, 'PACKED');
    const shipped = applied(applied(partShipped.order, confirm('SHIP', 'SKU-1', 1)).order, confirm('SHIP', 'SKU-2', 4));
    assert.deepEqual([shipped.order.status, shipped.order.lines.map((l) => l.shipped)], ['SHIPPED', [4, 4]]);
    assert.deepEqual(shipped.transitions.map((t) => [t.status, t.cause, t.actor]), [['SHIPPED', context.cause, 'acme-wms']]);
  });

  it('never move an order back: a pick that arrives after the ship only counts its units', () => {
    const shipped = applied(applied(order({ status: 'RELEASED' }), confirm('SHIP', 'SKU-1', 4)).order, confirm('SHIP', 'SKU-2', 4));
    assert.equal(shipped.order.status, 'SHIPPED', 'a ship without its pick skips ahead');
    const latePick = applied(shipped.order, confirm('PICK', 'SKU-1', 4));
    assert.deepEqual([latePick.order.status, latePick.transitions, latePick.order.lines[0]!.picked], ['SHIPPED', [], 4]);
  });

  it('spread units over the lines of one SKU at one location, filling each in line order', () => {
    const twoLines = order({ status: 'RELEASED', lines: [line(1, { sku: 'SKU-1', quantity: 2 }), line(2, { sku: 'SKU-1', quantity: 3 })] });
    assert.deepEqual(applied(twoLines, confirm('PICK', 'SKU-1', 4)).order.lines.map((l) => l.picked), [2, 2]);
    assert.deepEqual(applied(twoLines, confirm('PICK', 'SKU-1', 6)).order.lines.map((l) => l.picked), [2, 4], 'more than ordered is kept as sent');
  });

  it('are not applied to an order being placed or cancelled, nor for a SKU or location it has no line for', () => {
    for (const [current, confirmation, reason] of [
      [order({ status: 'CREATED' }), confirm('PICK', 'SKU-1', 1), /is CREATED/],
      [order({ status: 'CANCELLED' }), confirm('SHIP', 'SKU-1', 1), /is CANCELLED/],
      [order(), { ...confirm('PICK', 'SKU-1', 1), locationId: 'DC-09' }, /no line for SKU-1 at DC-09/],
      [order({ status: 'PICKING' }), confirm('RETURN_RECEIVED', 'SKU-1', 1), /shipped no SKU-1/],
      [order(), confirm('RETURN_RESTOCKED', 'SKU-1', 1), /no returned SKU-1 at DC-01 received and not yet inspected/],
      [order({ status: 'RESTOCKED', lines: [line(1, { shipped: 4, returnRequested: 1, returnReceived: 1, restocked: 1 })] }), confirm('RETURN_RESTOCKED', 'SKU-1', 1), /not yet inspected/],
    ] as const) {
      const outcome = applyConfirmation(current, confirmation, context);
      assert.equal(outcome.outcome, 'INAPPLICABLE');
      assert.match((outcome as { reason: string }).reason, reason);
    }
  });
});

describe('returns', () => {
  const shipped = order({ status: 'DELIVERED', lines: [line(1, { shipped: 4, delivered: 4 }), line(2, { shipped: 4, delivered: 4 })] });

  it('are refused as bad input, whatever the order, when blank, empty, repeated or not whole', () => {
    assert.deepEqual(validateReturnRequest([{ lineNumber: 1, quantity: 0 }, { lineNumber: 1, quantity: 1.5 }, { lineNumber: 2, quantity: 1 }], ' ').map((problem) => problem.field), [
      'reason', 'lines[0]', 'lines[1].lineNumber', 'lines[1]',
    ]);
    assert.deepEqual(validateReturnRequest([], 'broken').map((problem) => problem.field), ['lines']);
    assert.deepEqual(validateInspection([{ lineNumber: 1, restocked: -1, scrapped: 0 }, { lineNumber: 2, restocked: 0, scrapped: 0 }, { lineNumber: 3, restocked: 1, scrapped: 0 }]).map((problem) => problem.message), [
      'restocked and scrapped must be whole numbers of at least 0, got -1 and 0', 'inspects no unit',
    ]);
  });

  it('open for units shipped (or delivered without a shipment confirmed), every problem reported at once', () => {
    const refused = requestReturn(shipped, [{ lineNumber: 1, quantity: 5 }, { lineNumber: 3, quantity: 1 }, { lineNumber: 2, quantity: 4 }], 'broken', byCaller);
    assert.ok(!refused.ok);
    assert.equal(refused.code, OrderErrorCode.INVALID_RETURN);
    assert.deepEqual((refused.details.problems as { field: string }[]).map((problem) => problem.field), ['lines[0]', 'lines[1].lineNumber']);
    assert.equal((requestReturn(order({ status: 'PACKED' }), [{ lineNumber: 1, quantity: 1 }], 'broken', byCaller) as { code: string }).code, OrderErrorCode.INVALID_ORDER_STATUS);
    const deliveredOnly = order({ status: 'DELIVERED', lines: [line(1, { delivered: 4 })] });
    assert.ok(requestReturn(deliveredOnly, [{ lineNumber: 1, quantity: 4 }], 'broken', byCaller).ok);
  });

  it('go RETURN_REQUESTED -> RETURN_RECEIVED (into QA) -> RESTOCKED once every unit asked back is inspected', () => {
    const requested = requestReturn(shipped, [{ lineNumber: 1, quantity: 2 }, { lineNumber: 2, quantity: 1 }], 'wrong size', byCaller);
    assert.ok(requested.ok);
    assert.deepEqual([requested.order.status, requested.order.returnReason, requested.order.lines.map((l) => l.returnRequested)], ['RETURN_REQUESTED', 'wrong size', [2, 1]]);
    const outcome = applyConfirmation(requested.order, confirm('RETURN_RECEIVED', 'SKU-1', 2), byWarehouse);
    assert.equal(outcome.outcome, 'APPLIED');
    const received = (outcome as { change: { order: Order } }).change.order;
    assert.equal(received.status, 'RETURN_RECEIVED');

    assert.equal(inspectionRefusal(received, [{ lineNumber: 1, restocked: 1, scrapped: 0 }], new Map([[1, 2]]))?.code, OrderErrorCode.INVALID_RETURN, 'units under an inspection still under way count');
    assert.match(inspectionRefusal(received, [{ lineNumber: 2, restocked: 1, scrapped: 0 }], new Map())!.message, /more than the 0 received/);
    assert.equal(inspectionRefusal(received, [{ lineNumber: 1, restocked: 1, scrapped: 1 }], new Map()), null);

    const partly = inspect(received, [{ lineNumber: 1, restocked: 1, scrapped: 1 }], byCaller);
    assert.deepEqual([partly.order.status, partly.transitions], ['RETURN_RECEIVED', []], 'line 2 is still to come back');
    const second = applyConfirmation(partly.order, confirm('RETURN_RECEIVED', 'SKU-2', 1), byWarehouse) as { change: { order: Order } };
    const done = inspect(second.change.order, [{ lineNumber: 2, restocked: 0, scrapped: 1 }], byCaller);
    assert.deepEqual([done.order.status, done.order.lines.map((l) => [l.restocked, l.scrapped])], ['RESTOCKED', [[1, 1], [0, 1]]]);
  });

  it('end SCRAPPED when nothing came back sellable, also when the warehouse restocks into DAMAGED', () => {
    const requested = requestReturn(shipped, [{ lineNumber: 1, quantity: 1 }], 'broken', byCaller) as { order: Order };
    const received = (applyConfirmation(requested.order, confirm('RETURN_RECEIVED', 'SKU-1', 1), byWarehouse) as { change: { order: Order } }).change.order;
    const restocked = applyConfirmation(received, confirm('RETURN_RESTOCKED', 'SKU-1', 1, false), byWarehouse) as { change: { order: Order } };
    assert.deepEqual([restocked.change.order.status, restocked.change.order.lines[0]!.scrapped], ['SCRAPPED', 1]);
  });
});
