import { randomUUID } from 'node:crypto';
import type { PayloadOf, reservationChanged } from '../../../platform/contracts/events.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { KeyedBatcher } from '../../../platform/concurrency/keyedBatcher.ts';
import type { OutboxRecord } from '../../../platform/events/outbox.ts';
import { grantsEveryLocation, ungrantedLocations, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { requestFingerprint } from '../../../platform/lang/requestFingerprint.ts';
import { currentCorrelationId } from '../../../platform/observability/requestContext.ts';
import { reservationChangeRecord } from '../data/inventoryOutbox.ts';
import {
  deleteReservationLines, lockDueReservations, lockReservations, lockReservationsHoldingExpiredLots, reservationEventInserts, reservationInserts,
  reservationLineInserts, reservationsByIdempotencyKey, reservationsById, reservationUpdates, storeReservationChanges, type ReservationRecord,
} from '../data/reservationStore.ts';
import { readStockCatalogue, type StockCatalogue } from '../data/stockCatalogue.ts';
import { StockLedger, type StockChange } from '../data/stockLedger.ts';
import type { ChannelAllocationRules } from '../domain/reservations/allocateReservation.ts';
import { reservationLineEffects, type ReservationStockAction } from '../domain/reservations/reservationEffects.ts';
import { reservationTransition, type ReservationAction } from '../domain/reservations/reservationLifecycle.ts';
import { planLotExpiry } from '../domain/reservations/reservationLots.ts';
import { validateReservationRequest, type ReservationRequest } from '../domain/reservations/reservationRequest.ts';
import { STOCKGRAPH_SOURCE } from '../domain/stockProvenance.ts';
import { InventoryError, InventoryErrorCode } from '../errors.ts';
import { allocateFromLedger, candidateLevels } from './channelAllocation.ts';
import { applyOrFail, runStockTransaction } from './ledgerTransactions.ts';

export type { ReservationRecord };

export interface ReservationSettings extends ChannelAllocationRules {
  /** Time to live of a reservation that does not say, in seconds. */
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

interface PendingCreation {
  readonly request: ReservationRequest;
  readonly fingerprint: string;
  /** The requester's locations: where the allocation may take stock, and which earlier reservation it may be answered with. */
  readonly grant: LocationGrant;
  /** The request's, for its change event: requests batched together do not share one. */
  readonly correlationId: string | null;
}

interface PendingTransition {
  readonly id: string;
  readonly action: Exclude<ReservationAction, 'expire'>;
  /** extend only: the new time to live from now. */
  readonly ttlSeconds?: number;
  /** The requester's locations: a reservation it may not see is not found. */
  readonly grant: LocationGrant;
  /** The request's, for its change event. */
  readonly correlationId: string | null;
}

type ReservationChangeCause = PayloadOf<typeof reservationChanged>['cause'];

/** The mutation each request is, named in its change event's cause. */
const MUTATIONS = { create: 'createReservation', extend: 'extendReservation', confirm: 'confirmReservation', release: 'releaseReservation' } as const;

const CHANGE_KINDS = { extend: 'EXTENDED', confirm: 'CONFIRMED', release: 'RELEASED' } as const;

/** The causes of what the sweeper does: time to live ended, lots expired. */
const TTL_SWEEP: ReservationChangeCause = { type: 'SWEEPER', id: 'ttl', correlationId: null };
const LOT_SWEEP: ReservationChangeCause = { type: 'SWEEPER', id: 'lots', correlationId: null };

// Creations form one stream of batches, one batch at a time: most of a batch's cost is per
// statement (round trips, planning) rather than per reservation, so on a machine where the
// service and PostgreSQL share the CPU, fewer and larger batches reserve more per second (one
// stream instead of 4 shards x 2 batches: 1.0 ms instead of 2.2 ms of CPU per reservation spread
// over many SKUs). All requests for one SKU meet in one batch, its lock taken once for many.
const CREATIONS = 'creations';

// Changes of state are grouped by shard of the reservation id; a few batches run side by side.
const SHARDS = 4;

function shardOf(key: string): string {
  let hash = 0;
  for (let i = 0; i < key.length; i += 1) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return String(Math.abs(hash) % SHARDS);
}

// A batch that lost a race on an idempotency key (another replica inserted it first) is run
// again, and then finds that reservation.
const CREATE_ATTEMPTS = 3;

const OK_OUTCOME = 'OK';

/** What became of a reservation request: `action` is create, extend, confirm, release or expire; `outcome` is OK or the error code it was refused with; `count` reservations (several for an expiry sweep). */
export type ReservationOutcomeObserver = (action: ReservationOperation, outcome: string, count: number) => void;

export type ReservationOperation = 'create' | 'extend' | 'confirm' | 'release' | 'expire';

/**
 * Reservations: create (at a location, or spread over the channel's locations), extend,
 * confirm, release, and expire. Concurrent requests are grouped into one transaction per batch
 * (see KeyedBatcher, CREATIONS and SHARDS); each is judged against the stock levels as the batch's earlier
 * reservations left them, under the levels' row locks, so that no interleaving of requests,
 * batches or replicas can reserve more than is available. A reservation of a lot-controlled
 * item holds unexpired lots, first expiry first (see allocateFromLedger); the sweeper gives up
 * the lots that expire while it holds them (see releaseExpiredLots).
 *
 * Every change of a reservation is an `inventory.reservation.changed` event, written in the
 * transaction of the change (with its stock changes, when it moves stock).
 *
 * Every request carries the requester's location grant (CallerIdentity.locations): a caller
 * granted some locations reserves only there and sees, extends, confirms and releases only the
 * reservations held there alone (see isVisibleTo); the others are not found.
 */
export class ReservationService {
  private readonly creations: KeyedBatcher<PendingCreation, ReservationRecord>;
  private readonly transitions: KeyedBatcher<PendingTransition, ReservationRecord>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly settings: ReservationSettings,
    /** Called after each commit that changed stock, so that the change is published at once. */
    private readonly afterCommit: () => void,
    private readonly onOutcome: ReservationOutcomeObserver = () => {},
  ) {
    this.creations = new KeyedBatcher((_, pending) => this.createBatch(pending));
    this.transitions = new KeyedBatcher((_, pending) => this.transitionBatch(pending), { maxConcurrentBatches: 2 });
  }

  /**
   * Reserves stock, all or nothing, at locations `grant` covers only: FORBIDDEN for a location
   * outside it, and an allocation over the channel's locations considers none outside it. The same
   * idempotency key with the same request returns the reservation the first request made (when
   * the grant lets the requester see it); with another request it fails with IDEMPOTENCY_CONFLICT.
   */
  create(input: Omit<ReservationRequest, 'ttlSeconds'> & { readonly ttlSeconds?: number | null }, grant: LocationGrant): Promise<ReservationRecord> {
    return this.observed('create', () => this.createChecked(input, grant));
  }

  private async createChecked(input: Omit<ReservationRequest, 'ttlSeconds'> & { readonly ttlSeconds?: number | null }, grant: LocationGrant): Promise<ReservationRecord> {
    const request = { ...input, ttlSeconds: input.ttlSeconds ?? this.settings.defaultTtlSeconds };
    const problems = validateReservationRequest(request, this.settings.maxTtlSeconds);
    if (problems.length) throw InventoryError.badInput(problems);
    const outside = ungrantedLocations(grant, [request.locationId]);
    if (outside.length) throw InventoryError.notGranted(outside);
    return this.creations.submit(CREATIONS, { request, fingerprint: requestFingerprint(request), grant, correlationId: currentCorrelationId() ?? null });
  }

  /** Moves the end of an ACTIVE reservation's time to live to `ttlSeconds` from now. */
  extend(id: string, ttlSeconds: number, grant: LocationGrant): Promise<ReservationRecord> {
    return this.observed('extend', async () => {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > this.settings.maxTtlSeconds) {
        throw new InventoryError('BAD_USER_INPUT', `ttlSeconds must be a whole number from 1 to ${this.settings.maxTtlSeconds}, got ${ttlSeconds}`);
      }
      return this.transitions.submit(shardOf(id), { id, action: 'extend', ttlSeconds, grant, correlationId: currentCorrelationId() ?? null });
    });
  }

  /** An order consumed the reservation: its quantity moves from reserved to allocated. */
  confirm(id: string, grant: LocationGrant): Promise<ReservationRecord> {
    return this.observed('confirm', () => this.transitions.submit(shardOf(id), { id, action: 'confirm', grant, correlationId: currentCorrelationId() ?? null }));
  }

  /** Gives the reserved stock back. */
  release(id: string, grant: LocationGrant): Promise<ReservationRecord> {
    return this.observed('release', () => this.transitions.submit(shardOf(id), { id, action: 'release', grant, correlationId: currentCorrelationId() ?? null }));
  }

  /** The reservations with these ids that exist and that `grant` lets the requester see. */
  async byIds(ids: readonly string[], grant: LocationGrant): Promise<ReservationRecord[]> {
    return (await reservationsById(this.prisma, ids)).filter((reservation) => isVisibleTo(grant, reservation));
  }

  /**
   * Releases up to `limit` reservations whose time to live has ended, in one transaction; safe
   * to run on several replicas at once (each takes rows the others have not locked). Returns
   * how many it expired.
   */
  async expireDue(limit = 500): Promise<number> {
    const expired = await runStockTransaction(this.prisma, async (tx) => {
      const now = new Date();
      const due = await lockDueReservations(tx, now, limit);
      if (due.length === 0) return { result: 0, changedStock: false };
      const ledger = await StockLedger.open(tx, due.flatMap((reservation) => levelKeys(reservation)), now);
      for (const reservation of due) applyOrFail(ledger, stockChangesOf(reservation, 'expire'));
      const expiredNow = due.map((reservation) => ({ ...reservation, status: 'EXPIRED' as const, version: reservation.version + 1, updatedAt: now }));
      const events = expiredNow.map((reservation, i) => reservationChangeRecord({ kind: 'EXPIRED', reservation, previous: due[i]!, cause: TTL_SWEEP }, now));
      await ledger.write([reservationUpdates(expiredNow, now), ...reservationEventInserts(events, now)]);
      return { result: due.length, changedStock: true };
    }, { afterCommit: this.afterCommit });
    if (expired > 0) this.onOutcome('expire', OK_OUTCOME, expired);
    return expired;
  }

  /**
   * Gives up the lots that have expired while ACTIVE reservations hold them, for up to `limit`
   * reservations in one transaction (safe on several replicas, as expireDue). Each line holds
   * instead as many units of its location's unexpired lots, first expiry first, as the location
   * can promise once the expired ones are given back; what it cannot replace is released: the
   * reservation holds less, a line left with nothing is dropped, and a reservation left with
   * nothing is RELEASED (its lines kept as the record of what it held). Each is one LOTS_EXPIRED
   * change. Returns how many reservations it handled.
   */
  async releaseExpiredLots(limit = 500): Promise<number> {
    return runStockTransaction(this.prisma, async (tx) => {
      const now = new Date();
      const holding = await lockReservationsHoldingExpiredLots(tx, now, limit);
      if (holding.length === 0) return { result: 0, changedStock: false };
      const ledger = await StockLedger.open(tx, holding.flatMap((reservation) => levelKeys(reservation)), now);
      const changed: ReservationRecord[] = [];
      const events: OutboxRecord[] = [];
      for (const reservation of holding) {
        const { sku } = reservation;
        // Planned line by line against the ledger as the changes before left it: two reservations may replace from the same lots.
        const plans = reservation.lines.map((line) => {
          const plan = planLotExpiry(line, ledger.positions(sku, line.locationId), ledger.level(sku, line.locationId).safetyStock, now);
          if (plan.effects.length) applyOrFail(ledger, [{ sku, locationId: line.locationId, cause: { type: 'RESERVATION', id: reservation.id }, source: STOCKGRAPH_SOURCE, effects: plan.effects }]);
          return { line, plan };
        });
        const lines = plans.filter(({ plan }) => plan.quantity > 0).map(({ line, plan }) => ({ ...line, quantity: plan.quantity, lots: plan.lots }));
        const quantity = lines.reduce((sum, line) => sum + line.quantity, 0);
        const next: ReservationRecord = quantity > 0
          ? { ...reservation, quantity, lines, version: reservation.version + 1, updatedAt: now }
          : { ...reservation, status: 'RELEASED', version: reservation.version + 1, updatedAt: now };
        const expiredLots = plans.flatMap(({ line, plan }) => plan.expired.map((lot) => ({ ...lot, locationId: line.locationId })));
        changed.push(next);
        events.push(reservationChangeRecord({ kind: 'LOTS_EXPIRED', reservation: next, previous: reservation, cause: LOT_SWEEP, expiredLots }, now));
      }
      const rewritten = changed.filter((reservation) => reservation.status === 'ACTIVE');
      if (rewritten.length) await deleteReservationLines(tx, rewritten.map((reservation) => reservation.id));
      await ledger.write([reservationUpdates(changed, now), ...(rewritten.length ? reservationLineInserts(rewritten) : []), ...reservationEventInserts(events, now)]);
      return { result: holding.length, changedStock: true };
    }, { afterCommit: this.afterCommit });
  }

  /** Runs a request and reports its outcome: OK, or the code of the InventoryError it failed with. */
  private async observed(action: ReservationOperation, request: () => Promise<ReservationRecord>): Promise<ReservationRecord> {
    try {
      const reservation = await request();
      this.onOutcome(action, OK_OUTCOME, 1);
      return reservation;
    } catch (error) {
      this.onOutcome(action, error instanceof InventoryError ? error.code : 'INTERNAL_SERVER_ERROR', 1);
      throw error;
    }
  }

  /**
   * Extends, confirms and releases a batch of reservations in one transaction: locks them (in
   * id order), judges each request against the state the batch's earlier requests left, then
   * applies the stock changes, each reservation's all or nothing.
   */
  private transitionBatch(pending: readonly PendingTransition[]): Promise<(ReservationRecord | Error)[]> {
    return runStockTransaction(this.prisma, async (tx) => {
      const now = new Date();
      const current = new Map((await lockReservations(tx, [...new Set(pending.map((p) => p.id))])).map((r) => [r.id, r]));
      const changed = new Map<string, ReservationRecord>();
      const stockChanges: StockChange[][] = [];
      const events: OutboxRecord[] = [];
      const results = pending.map(({ id, action, ttlSeconds, grant, correlationId }): ReservationRecord | Error => {
        const reservation = current.get(id);
        if (!reservation || !isVisibleTo(grant, reservation)) return new InventoryError(InventoryErrorCode.RESERVATION_NOT_FOUND, `No reservation ${id}`);
        const outcome = reservationTransition(reservation.status, reservation.expiresAt, action, now);
        if (!outcome.ok) {
          return new InventoryError(InventoryErrorCode.RESERVATION_NOT_ACTIVE, `Reservation ${id} is ${outcome.status}; it cannot be ${PAST_TENSE[action]}`, { status: outcome.status });
        }
        if (outcome.changesStock && action !== 'extend') stockChanges.push(stockChangesOf(reservation, action));
        if (outcome.status === reservation.status && ttlSeconds === undefined) return reservation;
        const expiresAt = ttlSeconds === undefined ? reservation.expiresAt : new Date(now.getTime() + ttlSeconds * 1_000);
        const next = { ...reservation, status: outcome.status, expiresAt, version: reservation.version + 1, updatedAt: now };
        events.push(reservationChangeRecord({ kind: CHANGE_KINDS[action], reservation: next, previous: reservation, cause: { type: 'MUTATION', id: MUTATIONS[action], correlationId } }, now));
        current.set(id, next);
        changed.set(id, next);
        return next;
      });
      if (stockChanges.length) {
        const ledger = await StockLedger.open(tx, stockChanges.flat(), now);
        for (const changes of stockChanges) applyOrFail(ledger, changes);
        await ledger.write([reservationUpdates([...changed.values()], now), ...reservationEventInserts(events, now)]);
      } else {
        await storeReservationChanges(tx, [...changed.values()], events, now);
      }
      return { result: results, changedStock: changed.size > 0 };
    }, { afterCommit: this.afterCommit });
  }

  private createBatch(pending: readonly PendingCreation[]): Promise<(ReservationRecord | Error)[]> {
    return runStockTransaction(this.prisma, async (tx) => ({ result: await this.createInTransaction(tx, pending), changedStock: true }), {
      afterCommit: this.afterCommit,
      attempts: CREATE_ATTEMPTS,
    });
  }

  private async createInTransaction(tx: Prisma.TransactionClient, pending: readonly PendingCreation[]): Promise<(ReservationRecord | Error)[]> {
    const now = new Date();
    const earlier = new Map((await reservationsByIdempotencyKey(tx, pending.map((p) => p.request.idempotencyKey))).map((r) => [r.idempotencyKey, r]));
    const catalogue = await readStockCatalogue(tx, pending.map((p) => p.request.sku), pending.flatMap((p) => (p.request.locationId ? [p.request.locationId] : [])));
    const toCreate = pending.filter(({ request }) => !earlier.has(request.idempotencyKey) && !catalogueRefusal(request, catalogue));
    const ledger = await StockLedger.open(tx, toCreate.flatMap(({ request, grant }) => candidateLevels({ ...request, locationGrant: grant }, catalogue, this.settings)), now);

    const created: ReservationRecord[] = [];
    const events: OutboxRecord[] = [];
    const results = pending.map(({ request, fingerprint, grant, correlationId }): ReservationRecord | Error => {
      const { sku } = request;
      const refusal = catalogueRefusal(request, catalogue);
      if (refusal) return refusal;
      const first = earlier.get(request.idempotencyKey);
      if (first) {
        // Keys are not per caller: another's reservation under the same key is not the requester's to see, nor to name.
        const visible = isVisibleTo(grant, first);
        if (visible && first.requestHash === fingerprint) return first;
        return new InventoryError(InventoryErrorCode.IDEMPOTENCY_CONFLICT, `Idempotency key ${request.idempotencyKey} was first used for a different request`, visible ? { reservationId: first.id } : {});
      }
      const allocation = allocateFromLedger(ledger, { ...request, locationGrant: grant }, catalogue, this.settings, now);
      if (!allocation.ok) {
        const where = request.locationId ? ` at ${request.locationId}` : '';
        return new InventoryError(
          InventoryErrorCode.INSUFFICIENT_STOCK,
          `Only ${allocation.available} of ${sku} available${where}; ${request.quantity} requested`,
          { sku, locationId: request.locationId, requested: request.quantity, available: allocation.available },
        );
      }
      const reservation: ReservationRecord = {
        id: `RSV-${randomUUID()}`,
        idempotencyKey: request.idempotencyKey,
        requestHash: fingerprint,
        sku,
        quantity: request.quantity,
        channel: request.channel,
        reference: request.reference,
        status: 'ACTIVE',
        expiresAt: new Date(now.getTime() + request.ttlSeconds * 1_000),
        version: 1,
        createdAt: now,
        updatedAt: now,
        lines: allocation.lines,
      };
      applyOrFail(ledger, stockChangesOf(reservation, 'reserve'));
      earlier.set(request.idempotencyKey, reservation);
      created.push(reservation);
      events.push(reservationChangeRecord({ kind: 'CREATED', reservation, previous: null, cause: { type: 'MUTATION', id: MUTATIONS.create, correlationId } }, now));
      return reservation;
    });
    await ledger.write(created.length ? [...reservationInserts(created), ...reservationEventInserts(events, now)] : []);
    return results;
  }
}

function catalogueRefusal(request: ReservationRequest, catalogue: StockCatalogue): InventoryError | null {
  if (!catalogue.stockedBySku.has(request.sku)) return new InventoryError(InventoryErrorCode.UNKNOWN_SKU, `Unknown SKU: ${request.sku}`, { unknownSkus: [request.sku] });
  if (request.locationId && !catalogue.subinventoriesByLocation.has(request.locationId)) {
    return new InventoryError(InventoryErrorCode.UNKNOWN_LOCATION, `Unknown location: ${request.locationId}`, { unknownLocations: [request.locationId] });
  }
  return null;
}

/** Whether a caller granted `grant` may see the reservation and act on it: every location it holds stock at is granted. */
function isVisibleTo(grant: LocationGrant, reservation: ReservationRecord): boolean {
  return grantsEveryLocation(grant, reservation.lines.map((line) => line.locationId));
}

const PAST_TENSE: Record<Exclude<ReservationAction, 'expire'>, string> = { extend: 'extended', confirm: 'confirmed', release: 'released' };

const levelKeys = (reservation: ReservationRecord) => reservation.lines.map(({ locationId }) => ({ sku: reservation.sku, locationId }));

/** The stock changes of a reservation's lines when it is made (`reserve`) or changes state. */
function stockChangesOf(reservation: ReservationRecord, action: ReservationStockAction): StockChange[] {
  return reservation.lines.map((line) => ({
    sku: reservation.sku, locationId: line.locationId, cause: { type: 'RESERVATION', id: reservation.id }, source: STOCKGRAPH_SOURCE, effects: reservationLineEffects(line, action),
  }));
}
