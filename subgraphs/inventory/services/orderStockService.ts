import { MAX_ORDER_STOCK_BATCH, type HoldResult, type InspectionRequestItem, type InspectionResult, type ReleaseResponse } from '../../../platform/contracts/orderStockApi.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { KeyedBatcher } from '../../../platform/concurrency/keyedBatcher.ts';
import type { OutboxRecord } from '../../../platform/events/outbox.ts';
import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import { currentCorrelationId } from '../../../platform/observability/requestContext.ts';
import {
  allocationProgressUpdates, holdInserts, holdsByOrderId, holdStatusUpdates, inspectionAnswers, inspectionInserts, lockHolds,
  type AllocationProgressChange, type HoldRefusal, type InspectionAnswerRecord, type InspectionRefusal, type OrderAllocationRecord, type OrderHoldRecord,
} from '../data/orderStockStore.ts';
import { reservationChangeRecord } from '../data/inventoryOutbox.ts';
import { lockReservations, reservationEventInserts, reservationUpdates, type ReservationRecord } from '../data/reservationStore.ts';
import { readStockCatalogue, type StockCatalogue } from '../data/stockCatalogue.ts';
import { StockLedger, type StockChange } from '../data/stockLedger.ts';
import { positionKey, type LedgerEffect } from '../domain/applyBucketEffects.ts';
import { holdBatchProblems, holdFingerprint, type HoldLine, type HoldRequest } from '../domain/orders/holdRequest.ts';
import { unshippedRemainder } from '../domain/orders/orderAllocation.ts';
import { matchReservation } from '../domain/orders/reservationMatch.ts';
import { planInspection } from '../domain/orders/returnInspection.ts';
import type { ChannelAllocationRules } from '../domain/reservations/allocateReservation.ts';
import { reservationLineEffects } from '../domain/reservations/reservationEffects.ts';
import { DAMAGED_SUBINVENTORY } from '../domain/stockLevelSummary.ts';
import { STOCKGRAPH_SOURCE } from '../domain/stockProvenance.ts';
import { allocateFromLedger, candidateLevels, type ChannelAllocationLine } from './channelAllocation.ts';
import { applyOrFail, runStockTransaction, type StockWork } from './ledgerTransactions.ts';

export type ReleaseResult = ReleaseResponse['results'][number];

interface PendingHold {
  readonly request: HoldRequest;
  readonly fingerprint: string;
}

type HoldPlan =
  | { readonly ok: true; readonly allocations: readonly OrderAllocationRecord[]; readonly changes: readonly StockChange[]; readonly consumed: readonly ReservationRecord[] }
  | { readonly ok: false; readonly refusal: HoldRefusal };

type InspectionPlanOutcome = { readonly ok: true; readonly changes: readonly StockChange[] } | { readonly ok: false; readonly refusal: InspectionRefusal };

// Every hold call meets the calls that arrive while a batch runs, in one transaction per batch,
// as reservation creations do: most of a batch's cost is per statement, not per order.
const HOLDS = 'holds';

// A run that lost a race on an order id or an inspection id (another replica inserted it first)
// is run again, and then finds that row.
const ATTEMPTS = 3;

/**
 * Inventory's side of an order's stock, for the orders service (see ORDER_STOCK_API): holds an
 * order's lines (consuming their reservations, or allocating at once), gives back what the
 * warehouse has not shipped when the order is released, and moves inspected returns out of QA.
 * Each order, release and inspection is all or nothing and idempotent by its id; every stock
 * change is caused by the order (`ORDER`, its id) and published after the commit.
 *
 * Locks, in this order: holds (releases lock them in order id order; holds only read them, and
 * insert new ones in that order), reservations (by id), stock levels (in key order). The
 * reservation service takes reservations before levels too, so that the two cannot deadlock;
 * every allocation is judged under its levels' locks, so that no interleaving of holds,
 * reservations, transfers and replicas allocates more than is available; and an order's
 * allocations change only under the locks of the levels they are at (warehouse events read
 * them there).
 */
export class OrderStockService {
  private readonly holdCalls: KeyedBatcher<readonly PendingHold[], HoldResult[]>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly rules: ChannelAllocationRules,
    /** Called after each commit that changed stock, so that the change is published at once. */
    private readonly afterCommit: () => void,
  ) {
    // A call's holds stay in one batch, so that a failure leaves none of them changed.
    this.holdCalls = new KeyedBatcher((_, calls) => this.holdBatch(calls), { maxBatchSize: MAX_ORDER_STOCK_BATCH, sizeOf: (call) => call.length });
  }

  /**
   * Holds each order's lines, all or nothing per order, judged in order against the stock as the
   * earlier orders of its batch left it; one result per request, in order. A line with a
   * reservation consumes it (its reserved stock becomes allocated, the reservation CONFIRMED, a
   * change caused by the order); a line without one allocates at once, at its location or over
   * the channel's locations by its strategy, as a reservation would. An order id is held once: a
   * repeat gets the first answer (HELD, or the refusal); with other lines HOLD_CONFLICT; after a
   * release ORDER_STOCK_RELEASED. Throws TypeError for a request that gives a line number twice.
   */
  async hold(requests: readonly HoldRequest[]): Promise<HoldResult[]> {
    const problems = holdBatchProblems(requests);
    if (problems.length) throw new TypeError(`OrderStockService.hold: ${problems.join('; ')}`);
    if (requests.length === 0) return [];
    return this.holdCalls.submit(HOLDS, requests.map((request) => ({ request, fingerprint: holdFingerprint(request) })));
  }

  /**
   * Gives back what each HELD order holds and the warehouse has not shipped, and marks it
   * RELEASED; one result per order id, in order, saying what went back at each allocation. An
   * order never held gets a RELEASED record, so that a hold arriving later is refused; a REFUSED
   * one becomes RELEASED, having nothing to give back. A repeat gets the first answer.
   */
  async release(orderIds: readonly string[]): Promise<ReleaseResult[]> {
    if (orderIds.length === 0) return [];
    return runStockTransaction(this.prisma, (tx) => this.releaseInTransaction(tx, orderIds), { afterCommit: this.afterCommit, attempts: ATTEMPTS });
  }

  /**
   * Moves inspected returns out of QA, each inspection all or nothing: per line, `restocked`
   * units of the SKU to the location's first nettable subinventory (by code) and `scrapped` ones
   * to DAMAGED, lot by lot in lot order from the QA positions that hold units. Serial numbers
   * stay where the serial registry has them: this path moves quantities only. The answer,
   * applied or refused, is recorded, so that a repeat of the inspection id gets it and moves
   * nothing more.
   */
  async inspect(inspections: readonly InspectionRequestItem[]): Promise<InspectionResult[]> {
    if (inspections.length === 0) return [];
    return runStockTransaction(this.prisma, (tx) => this.inspectInTransaction(tx, inspections), { afterCommit: this.afterCommit, attempts: ATTEMPTS });
  }

  private async holdBatch(calls: readonly (readonly PendingHold[])[]): Promise<HoldResult[][]> {
    const results = await runStockTransaction(this.prisma, (tx) => this.holdInTransaction(tx, calls.flat()), { afterCommit: this.afterCommit, attempts: ATTEMPTS });
    let offset = 0;
    return calls.map((call) => results.slice(offset, (offset += call.length)));
  }

  private async holdInTransaction(tx: Prisma.TransactionClient, pending: readonly PendingHold[]): Promise<StockWork<HoldResult[]>> {
    const now = new Date();
    const earlier = new Map((await holdsByOrderId(tx, pending.map((p) => p.request.orderId))).map((hold) => [hold.orderId, hold]));
    const fresh = pending.filter((p) => !earlier.has(p.request.orderId)).map((p) => p.request);
    const freshLines = fresh.flatMap((request) => request.lines);
    const catalogue = await readStockCatalogue(tx, freshLines.map((line) => line.sku), freshLines.flatMap((line) => (line.locationId ? [line.locationId] : [])));
    const reservationIds = [...new Set(freshLines.flatMap((line) => (line.reservationId ? [line.reservationId] : [])))];
    const reservations = new Map((reservationIds.length ? await lockReservations(tx, reservationIds) : []).map((reservation) => [reservation.id, reservation]));
    const ledger = await StockLedger.open(tx, fresh.flatMap((request) => request.lines.flatMap((line) => {
      if (catalogueRefusal(line, catalogue)) return [];
      if (line.reservationId === null) return candidateLevels({ ...line, channel: request.channel }, catalogue, this.rules);
      const reservation = reservations.get(line.reservationId);
      return reservation ? reservation.lines.map(({ locationId }) => ({ sku: reservation.sku, locationId })) : [];
    })), now);

    const created: OrderHoldRecord[] = [];
    const confirmed = new Map<string, ReservationRecord>();
    const events: OutboxRecord[] = [];
    const results = pending.map(({ request, fingerprint }) => {
      const first = earlier.get(request.orderId);
      if (first) return holdAnswer(first, fingerprint);
      const plan = this.planHold(request, ledger, catalogue, reservations, now);
      if (plan.ok) {
        applyOrFail(ledger, plan.changes);
        for (const reservation of plan.consumed) {
          const consumed = { ...reservation, status: 'CONFIRMED' as const, version: reservation.version + 1, updatedAt: now };
          reservations.set(reservation.id, consumed);
          confirmed.set(reservation.id, consumed);
          const cause = { type: 'ORDER' as const, id: request.orderId, correlationId: currentCorrelationId() ?? null };
          events.push(reservationChangeRecord({ kind: 'CONFIRMED', reservation: consumed, previous: reservation, cause }, now));
        }
      }
      const hold: OrderHoldRecord = {
        orderId: request.orderId,
        reference: request.reference,
        channel: request.channel,
        status: plan.ok ? 'HELD' : 'REFUSED',
        requestHash: fingerprint,
        refusal: plan.ok ? null : plan.refusal,
        allocations: plan.ok ? plan.allocations : [],
      };
      earlier.set(request.orderId, hold);
      created.push(hold);
      return holdAnswer(hold, fingerprint);
    });
    await ledger.write([
      ...(created.length ? holdInserts(created, now) : []),
      ...(confirmed.size ? [reservationUpdates([...confirmed.values()], now)] : []),
      ...reservationEventInserts(events, now),
    ]);
    return { result: results, changedStock: created.some((hold) => hold.status === 'HELD') };
  }

  /** One order's allocations and stock changes, or why it gets none: its first line that cannot be held, in line order. */
  private planHold(
    request: HoldRequest,
    ledger: StockLedger,
    catalogue: StockCatalogue,
    reservations: ReadonlyMap<string, ReservationRecord>,
    now: Date,
  ): HoldPlan {
    const { orderId, channel } = request;
    const refuse = (code: HoldRefusal['code'], line: HoldLine, message: string, details: Record<string, unknown>): HoldPlan =>
      ({ ok: false, refusal: { code, message, lineNumber: line.lineNumber, details } });
    // Units this order's earlier lines take at a level, not applied until the whole order holds.
    const setAside = new Map<string, number>();
    const consumed = new Map<string, ReservationRecord>();
    const allocations: OrderAllocationRecord[] = [];
    const allocation = (line: HoldLine, sku: string, { locationId, subinventory, quantity }: ChannelAllocationLine, reservationId: string | null): OrderAllocationRecord =>
      ({ orderId, lineNumber: line.lineNumber, sku, locationId, subinventory, quantity, picked: 0, shipped: 0, released: 0, reservationId });

    for (const line of request.lines) {
      const unknown = catalogueRefusal(line, catalogue);
      if (unknown) return { ok: false, refusal: unknown };
      if (line.reservationId !== null) {
        const reservation = reservations.get(line.reservationId);
        if (!reservation) return refuse('RESERVATION_NOT_FOUND', line, `No reservation ${line.reservationId}`, { reservationId: line.reservationId });
        const match = consumed.has(reservation.id)
          ? { ok: false as const, code: 'RESERVATION_NOT_ACTIVE' as const, status: 'CONFIRMED' as const }
          : matchReservation(line, channel, { ...reservation, locationIds: reservation.lines.map((part) => part.locationId) }, now);
        if (!match.ok && match.code === 'RESERVATION_NOT_ACTIVE') {
          return refuse(match.code, line, `Reservation ${reservation.id} is ${match.status}; only an ACTIVE one can be consumed`, { reservationId: reservation.id, status: match.status });
        }
        if (!match.ok) {
          return refuse(match.code, line, `Reservation ${reservation.id} differs from line ${line.lineNumber} in ${Object.keys(match.mismatch).join(', ')}`, { reservationId: reservation.id, mismatch: match.mismatch });
        }
        consumed.set(reservation.id, reservation);
        allocations.push(...reservation.lines.map((part) => allocation(line, reservation.sku, part, reservation.id)));
        continue;
      }
      const taken = allocateFromLedger(ledger, { ...line, channel }, catalogue, this.rules, now, (locationId) => setAside.get(levelKey(line.sku, locationId)) ?? 0);
      if (!taken.ok) {
        const where = line.locationId ? ` at ${line.locationId}` : '';
        return refuse('INSUFFICIENT_STOCK', line, `Only ${taken.available} of ${line.sku} available${where}; ${line.quantity} requested`, {
          sku: line.sku, locationId: line.locationId, requested: line.quantity, available: taken.available,
        });
      }
      for (const part of taken.lines) {
        setAside.set(levelKey(line.sku, part.locationId), (setAside.get(levelKey(line.sku, part.locationId)) ?? 0) + part.quantity);
        allocations.push(allocation(line, line.sku, part, null));
      }
    }
    allocations.sort((a, b) => a.lineNumber - b.lineNumber || (a.locationId < b.locationId ? -1 : 1));
    const changes = changesByLevel(orderId, allocations.map((a) => ({
      sku: a.sku,
      locationId: a.locationId,
      effects: a.reservationId !== null
        ? reservationLineEffects(consumed.get(a.reservationId)!.lines.find((part) => part.locationId === a.locationId)!, 'consume')
        : [{ subinventory: a.subinventory, lot: '', bucket: 'allocated', op: 'add', quantity: a.quantity }],
    })));
    return { ok: true, allocations, changes, consumed: [...consumed.values()] };
  }

  private async releaseInTransaction(tx: Prisma.TransactionClient, orderIds: readonly string[]): Promise<StockWork<ReleaseResult[]>> {
    const now = new Date();
    const holds = new Map((await lockHolds(tx, orderIds)).map((hold) => [hold.orderId, hold]));
    const held = [...holds.values()].filter((hold) => hold.status === 'HELD');
    const ledger = await StockLedger.open(tx, held.flatMap((hold) => hold.allocations.map(({ sku, locationId }) => ({ sku, locationId }))), now);
    const tombstones: OrderHoldRecord[] = [];
    const released: OrderHoldRecord[] = [];
    const progress: AllocationProgressChange[] = [];
    let changedStock = false;
    const results = orderIds.map((orderId): ReleaseResult => {
      const hold = holds.get(orderId);
      if (!hold) {
        const tombstone: OrderHoldRecord = { orderId, reference: '', channel: '', status: 'RELEASED', requestHash: '', refusal: null, allocations: [] };
        holds.set(orderId, tombstone);
        tombstones.push(tombstone);
        return releaseAnswer(tombstone);
      }
      if (hold.status === 'RELEASED') return releaseAnswer(hold);
      const { changes, givenBack } = giveBack(hold, ledger);
      applyOrFail(ledger, changes);
      changedStock ||= changes.length > 0;
      const next: OrderHoldRecord = { ...hold, status: 'RELEASED', allocations: hold.allocations.map((a, i) => ({ ...a, released: a.released + givenBack[i]! })) };
      holds.set(orderId, next);
      released.push(next);
      progress.push(...hold.allocations.map((a, i) => ({ orderId, lineNumber: a.lineNumber, locationId: a.locationId, picked: 0, shipped: 0, released: givenBack[i]! })));
      return releaseAnswer(next);
    });
    await ledger.write([
      ...(tombstones.length ? holdInserts(tombstones, now) : []),
      ...(released.length ? [holdStatusUpdates(released, now)] : []),
      ...(progress.length ? [allocationProgressUpdates(progress)] : []),
    ]);
    return { result: results, changedStock };
  }

  private async inspectInTransaction(tx: Prisma.TransactionClient, inspections: readonly InspectionRequestItem[]): Promise<StockWork<InspectionResult[]>> {
    const now = new Date();
    const answered = new Map((await inspectionAnswers(tx, inspections.map((i) => i.inspectionId))).map((answer) => [answer.inspectionId, answer]));
    const freshLines = inspections.filter((i) => !answered.has(i.inspectionId)).flatMap((i) => i.lines);
    const catalogue = await readStockCatalogue(tx, freshLines.map((line) => line.sku), freshLines.map((line) => line.locationId));
    const ledger = await StockLedger.open(tx, freshLines.filter((line) => catalogue.stockedBySku.get(line.sku)?.has(line.locationId)), now);
    const recorded: InspectionAnswerRecord[] = [];
    let changedStock = false;
    const results = inspections.map(({ inspectionId, orderId, lines }) => {
      const first = answered.get(inspectionId);
      if (first) return inspectionAnswer(first);
      const plan = planReturnInspection(orderId, inspectionId, lines, ledger, catalogue);
      if (plan.ok) {
        applyOrFail(ledger, plan.changes);
        changedStock ||= plan.changes.length > 0;
      }
      const answer: InspectionAnswerRecord = { inspectionId, orderId, refusal: plan.ok ? null : plan.refusal };
      answered.set(inspectionId, answer);
      recorded.push(answer);
      return inspectionAnswer(answer);
    });
    await ledger.write(recorded.length ? [inspectionInserts(recorded, now)] : []);
    return { result: results, changedStock };
  }
}

const levelKey = (sku: string, locationId: string) => `${sku}\u0000${locationId}`;

/** One stock change per level, caused by the order, with the effects of every part at that level in the order given. */
function changesByLevel(orderId: string, parts: readonly { sku: string; locationId: string; effects: readonly LedgerEffect[] }[]): StockChange[] {
  const byLevel = new Map<string, StockChange & { effects: LedgerEffect[] }>();
  for (const { sku, locationId, effects } of parts) {
    if (effects.length === 0) continue;
    const key = levelKey(sku, locationId);
    if (!byLevel.has(key)) byLevel.set(key, { sku, locationId, cause: { type: 'ORDER', id: orderId }, source: STOCKGRAPH_SOURCE, effects: [] });
    byLevel.get(key)!.effects.push(...effects);
  }
  return [...byLevel.values()];
}

function catalogueRefusal(line: HoldLine, catalogue: StockCatalogue): HoldRefusal | null {
  if (!catalogue.stockedBySku.has(line.sku)) return { code: 'UNKNOWN_SKU', message: `Unknown SKU: ${line.sku}`, lineNumber: line.lineNumber, details: { sku: line.sku } };
  if (line.locationId !== null && !catalogue.subinventoriesByLocation.has(line.locationId)) {
    return { code: 'UNKNOWN_LOCATION', message: `Unknown location: ${line.locationId}`, lineNumber: line.lineNumber, details: { locationId: line.locationId } };
  }
  return null;
}

/**
 * What a stored hold answers a hold request with the given fingerprint: after a release
 * ORDER_STOCK_RELEASED, whatever was asked; for other lines HOLD_CONFLICT; otherwise the first
 * answer.
 */
function holdAnswer(hold: OrderHoldRecord, fingerprint: string): HoldResult {
  const refused = ({ code, message, lineNumber, details }: HoldRefusal): HoldResult => ({ orderId: hold.orderId, status: 'REFUSED', code, message, lineNumber, details });
  if (hold.status === 'RELEASED') {
    return refused({ code: 'ORDER_STOCK_RELEASED', message: `The stock of order ${hold.orderId} was released; it is not held again`, lineNumber: null, details: {} });
  }
  if (hold.requestHash !== fingerprint) return refused({ code: 'HOLD_CONFLICT', message: `Order ${hold.orderId} was held before with other lines`, lineNumber: null, details: {} });
  switch (hold.status) {
    case 'HELD':
      return {
        orderId: hold.orderId,
        status: 'HELD',
        allocations: hold.allocations.map(({ lineNumber, locationId, quantity, reservationId }) => ({ lineNumber, locationId, quantity, reservationId })),
      };
    case 'REFUSED':
      return refused(hold.refusal!);
    default:
      throw new UnreachableCaseError(hold.status);
  }
}

/**
 * The stock changes that give back a HELD order's unshipped remainder at each allocation, and
 * how much each gives back: no more than its position still holds allocated (a ship the
 * warehouse reported without the order's reference may have taken the rest), so that no bucket
 * goes below zero.
 */
function giveBack(hold: OrderHoldRecord, ledger: StockLedger): { changes: StockChange[]; givenBack: number[] } {
  const allocatedLeft = new Map<string, number>();
  const givenBack = hold.allocations.map((a) => {
    const key = `${levelKey(a.sku, a.locationId)}\u0000${a.subinventory}`;
    const there = allocatedLeft.get(key) ?? ledger.positions(a.sku, a.locationId).get(positionKey(a.subinventory, ''))?.allocated ?? 0;
    const quantity = Math.min(unshippedRemainder(a), there);
    allocatedLeft.set(key, there - quantity);
    return quantity;
  });
  const changes = changesByLevel(hold.orderId, hold.allocations.map((a, i) => ({
    sku: a.sku,
    locationId: a.locationId,
    effects: givenBack[i] ? [{ subinventory: a.subinventory, lot: '', bucket: 'allocated' as const, op: 'add' as const, quantity: -givenBack[i]! }] : [],
  })));
  return { changes, givenBack };
}

function releaseAnswer(hold: OrderHoldRecord): ReleaseResult {
  return {
    orderId: hold.orderId,
    status: 'RELEASED',
    released: hold.allocations.map(({ lineNumber, locationId, released }) => ({ lineNumber, locationId, quantity: released })),
  };
}

/**
 * An inspection's stock changes, one per SKU x location (its lines for the same SKU and location
 * taken together), each recorded as a RETURN_RESTOCKED transaction for the ERP, or why it moves
 * nothing: its first line that cannot be applied.
 */
function planReturnInspection(orderId: string, inspectionId: string, lines: InspectionRequestItem['lines'], ledger: StockLedger, catalogue: StockCatalogue): InspectionPlanOutcome {
  const merged = new Map<string, { sku: string; locationId: string; restocked: number; scrapped: number }>();
  for (const { sku, locationId, restocked, scrapped } of lines) {
    const line = merged.get(levelKey(sku, locationId)) ?? { sku, locationId, restocked: 0, scrapped: 0 };
    merged.set(levelKey(sku, locationId), { ...line, restocked: line.restocked + restocked, scrapped: line.scrapped + scrapped });
  }
  const refuse = (code: InspectionRefusal['code'], message: string, details: Record<string, unknown>): InspectionPlanOutcome => ({ ok: false, refusal: { code, message, details } });
  const changes: StockChange[] = [];
  for (const { sku, locationId, restocked, scrapped } of merged.values()) {
    const subinventories = catalogue.subinventoriesByLocation.get(locationId);
    if (!subinventories) return refuse('UNKNOWN_LOCATION', `Unknown location: ${locationId}`, { locationId });
    if (!catalogue.stockedBySku.has(sku)) return refuse('UNKNOWN_SKU', `Unknown SKU: ${sku}`, { sku });
    const restockInto = [...subinventories].filter(([, nettable]) => nettable).map(([code]) => code).sort()[0];
    const missing = !subinventories.has('QA') ? 'QA'
      : restocked > 0 && restockInto === undefined ? 'a nettable subinventory to restock into'
      : scrapped > 0 && !subinventories.has(DAMAGED_SUBINVENTORY) ? DAMAGED_SUBINVENTORY : null;
    if (missing) return refuse('UNKNOWN_SUBINVENTORY', `${locationId} has no ${missing}`, { locationId, missing });
    const stocked = catalogue.stockedBySku.get(sku)!.has(locationId);
    const qa = stocked ? [...ledger.positions(sku, locationId).values()].filter((p) => p.subinventory === 'QA').map((p) => ({ lot: p.lot, onHand: p.onHandWms })) : [];
    const plan = planInspection(qa, restocked, scrapped);
    if (!plan.ok) {
      return refuse('NOT_IN_QA', `QA at ${locationId} holds ${plan.available} of ${sku}; the inspection moves ${restocked + scrapped}`, {
        sku, locationId, requested: restocked + scrapped, available: plan.available,
      });
    }
    const effects = plan.moves.flatMap(({ lot, quantity, to }): LedgerEffect[] => [
      { subinventory: 'QA', lot, bucket: 'onHandWms', op: 'add', quantity: -quantity },
      { subinventory: to === 'restock' ? restockInto! : DAMAGED_SUBINVENTORY, lot, bucket: 'onHandWms', op: 'add', quantity },
    ]);
    // Units leave QA for sellable stock or DAMAGED: an inventory transaction the ERP must hear of, one per item x location.
    const transaction = { kind: 'RETURN_RESTOCKED', transactionId: `ORDER:${orderId}:INSPECTION:${inspectionId}/${sku}/${locationId}`, quantity: restocked + scrapped } as const;
    changes.push(...changesByLevel(orderId, [{ sku, locationId, effects }]).map((change) => ({ ...change, transaction })));
  }
  return { ok: true, changes };
}

function inspectionAnswer({ inspectionId, refusal }: InspectionAnswerRecord): InspectionResult {
  return refusal ? { inspectionId, status: 'REFUSED', ...refusal } : { inspectionId, status: 'APPLIED' };
}
