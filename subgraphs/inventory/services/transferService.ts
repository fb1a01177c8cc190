import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../../platform/database/database.ts';
import { isUniqueViolation } from '../../../platform/database/postgresErrors.ts';
import { grantsEveryLocation, ungrantedLocations, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { requestFingerprint } from '../../../platform/lang/requestFingerprint.ts';
import { StockLedger, type RejectedChange, type StockChange, type TransactionDescription } from '../data/stockLedger.ts';
import {
  insertTransfer, lockTransfer, moveSerials, recordTransferReceipt, serialsInStockAt, transferByIdempotencyKey, transfersById,
  type TransferRecord,
} from '../data/transferStore.ts';
import { positionKey, type LedgerEffect } from '../domain/applyBucketEffects.ts';
import { firstExpiryFirstOut, isLotExpired } from '../domain/lotSelection.ts';
import { QUANTITY_OUT_OF_RANGE } from '../domain/quantityRange.ts';
import type { PositionState } from '../domain/stockLevelSummary.ts';
import { STOCKGRAPH_SOURCE } from '../domain/stockProvenance.ts';
import { planTransferReceipt, type ReceiptRequest } from '../domain/transfers/transferReceipt.ts';
import { validateTransferRequest, type ItemControl, type LotQuantity, type TransferRequest } from '../domain/transfers/transferRequest.ts';
import { InventoryError, InventoryErrorCode } from '../errors.ts';

export type { TransferRecord };

export interface TransferSettings {
  /** Whether a lot-controlled item must name its lots; otherwise they are chosen first-expiry-first-out. */
  readonly lotsRequired: boolean;
  /** Expected arrival of a transfer between locations that does not give one, from when it ships, in milliseconds. */
  readonly defaultTransitMs: number;
}

export interface TransferReceiptInput extends ReceiptRequest {
  readonly transferId: string;
  readonly serials: readonly string[] | null;
}

/**
 * Transfers: between subinventories of one location (debit and credit in one step, COMPLETED),
 * or between locations (the source is debited and the destination shows the quantity inbound
 * in transit until receiveTransfer credits it). Lots and serials travel with the transfer. The
 * shipment (`TRANSFER:<id>:SHIP`) and each receipt are inventory transactions, recorded with the
 * serials they move in the transaction that moves them (see StockChange.transaction): the ERP
 * hears of them through the reconciliation subgraph's sync ledger.
 *
 * A transfer touches both its ends: a caller granted some locations (CallerIdentity.locations)
 * moves stock only between those, and sees and receives only the transfers between those (see
 * isVisibleTo); the others are not found.
 */
export class TransferService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly settings: TransferSettings,
    private readonly afterCommit: () => void,
  ) {}

  /** The transfers with these ids that exist and that `grant` lets the requester see. */
  async byIds(ids: readonly string[], grant: LocationGrant): Promise<TransferRecord[]> {
    return (await transfersById(this.prisma, ids)).filter((transfer) => isVisibleTo(grant, transfer));
  }

  /**
   * Moves stock, all or nothing; an idempotency key makes a retry return the first result.
   * FORBIDDEN when `grant` does not cover both ends (checked before whether they exist).
   */
  async create(request: TransferRequest, grant: LocationGrant): Promise<TransferRecord> {
    const outside = ungrantedLocations(grant, [request.from.locationId, request.to.locationId]);
    if (outside.length) throw InventoryError.notGranted(outside);
    const item = await this.checkCatalogue(request);
    const problems = validateTransferRequest(request, item, this.settings.lotsRequired);
    if (problems.length) throw InventoryError.badInput(problems);
    const fingerprint = requestFingerprint(request);
    try {
      return await this.createOnce(request, item, fingerprint, grant);
    } catch (error) {
      // A concurrent retry on another replica inserted the key first: its transfer is the answer.
      if (isUniqueViolation(error)) return this.createOnce(request, item, fingerprint, grant);
      throw error;
    }
  }

  private async createOnce(request: TransferRequest, item: ItemControl, fingerprint: string, grant: LocationGrant): Promise<TransferRecord> {
    const { transfer, changed } = await this.prisma.$transaction(async (tx) => {
      const earlier = await transferByIdempotencyKey(tx, request.idempotencyKey);
      if (earlier) {
        // The same request has the same (granted) ends; another's transfer between others is not the requester's to name.
        if (earlier.requestHash === fingerprint) return { transfer: earlier, changed: false };
        const details = isVisibleTo(grant, earlier) ? { transferId: earlier.id } : {};
        throw new InventoryError(InventoryErrorCode.IDEMPOTENCY_CONFLICT, `Idempotency key ${request.idempotencyKey} was first used for a different request`, details);
      }
      const now = new Date();
      const { sku, quantity, from, to } = request;
      const ledger = await StockLedger.open(tx, [{ sku, locationId: from.locationId }, { sku, locationId: to.locationId }], now);
      const lots = item.lotControlled ? this.lotsToMove(request, ledger, now) : [{ lot: '', quantity }];
      const serials = request.serials ?? [];
      if (serials.length) {
        const present = await serialsInStockAt(tx, sku, serials, from);
        const missing = serials.filter((serial) => !present.has(serial));
        if (missing.length) {
          throw new InventoryError(InventoryErrorCode.UNKNOWN_SERIAL, `Not in stock at ${from.locationId} ${from.subinventory}: ${missing.join(', ')}`, { unknownSerials: missing });
        }
      }
      this.checkAvailable(request, ledger, lots);

      const sameLocation = from.locationId === to.locationId;
      const expectedArrivalAt = sameLocation ? null : (request.expectedArrivalAt ?? new Date(now.getTime() + this.settings.defaultTransitMs));
      const id = `TRF-${randomUUID()}`;
      const change = (locationId: string, effects: LedgerEffect[], transaction?: TransactionDescription): StockChange =>
        ({ sku, locationId, cause: { type: 'TRANSFER', id }, source: STOCKGRAPH_SOURCE, effects, transaction });
      const out = lots.map(({ lot, quantity: q }): LedgerEffect => ({ subinventory: from.subinventory, lot, bucket: 'onHandWms', op: 'add', quantity: -q }));
      const arriving = lots.map(({ lot, quantity: q }): LedgerEffect => sameLocation
        ? { subinventory: to.subinventory, lot, bucket: 'onHandWms', op: 'add', quantity: q }
        : { subinventory: to.subinventory, lot, bucket: 'inboundInTransit', op: 'add', quantity: q, expectedAt: expectedArrivalAt! });
      const shipment = {
        transactionId: `TRANSFER:${id}:SHIP`, quantity, subinventory: from.subinventory, transferSubinventory: to.subinventory, serials: [...serials].sort(),
      };
      const applied = ledger.applyAll(sameLocation
        ? [change(from.locationId, [...out, ...arriving], { ...shipment, kind: 'SUBINVENTORY_TRANSFER' })]
        : [change(from.locationId, out, { ...shipment, kind: 'TRANSFER_OUT', counterpartLocationId: to.locationId }), change(to.locationId, arriving)]);
      if (!applied.ok) throw new InventoryError(refusalCode(applied.refused), `Cannot move ${quantity} of ${sku}: ${applied.refused.reason}`);

      const transfer: TransferRecord = {
        id, idempotencyKey: request.idempotencyKey, requestHash: fingerprint, sku, quantity, from, to,
        status: sameLocation ? 'COMPLETED' : 'SHIPPED',
        expectedArrivalAt,
        receivedQuantity: sameLocation ? quantity : 0,
        shortQuantity: 0,
        createdAt: now,
        receivedAt: sameLocation ? now : null,
        lots: lots.map((line) => ({ ...line, receivedQuantity: sameLocation ? line.quantity : 0 })).sort((a, b) => (a.lot < b.lot ? -1 : 1)),
        serials: [...serials].sort().map((serial) => ({ serial, received: sameLocation })),
      };
      await insertTransfer(tx, transfer);
      await moveSerials(tx, sku, serials, to, sameLocation ? 'IN_STOCK' : 'IN_TRANSIT', now);
      await ledger.write();
      return { transfer, changed: true };
    });
    if (changed) this.afterCommit();
    return transfer;
  }

  /**
   * Credits the destination with what arrived (in full when nothing is named); with `close`,
   * whatever has not arrived is recorded short and no longer shown inbound.
   */
  async receive(input: TransferReceiptInput, grant: LocationGrant): Promise<TransferRecord> {
    const transfer = await this.prisma.$transaction(async (tx) => {
      const now = new Date();
      const shipped = await lockTransfer(tx, input.transferId);
      if (!shipped || !isVisibleTo(grant, shipped)) throw new InventoryError(InventoryErrorCode.TRANSFER_NOT_FOUND, `No transfer ${input.transferId}`);
      if (shipped.status !== 'SHIPPED' && shipped.status !== 'PARTIALLY_RECEIVED') {
        throw new InventoryError(InventoryErrorCode.TRANSFER_NOT_IN_TRANSIT, `Transfer ${shipped.id} is ${shipped.status}; nothing of it is in transit`, { status: shipped.status });
      }
      const lotControlled = shipped.lots.some((line) => line.lot !== '');
      const arrivedSerials = this.arrivingSerials(shipped, input);
      const quantity = input.serials !== null ? input.serials.length : input.quantity;
      const plan = planTransferReceipt(shipped.lots, { quantity, lots: input.lots, close: input.close }, lotControlled);
      if (!plan.ok) {
        throw new InventoryError(plan.code === 'BAD_USER_INPUT' ? 'BAD_USER_INPUT' : InventoryErrorCode.RECEIPT_EXCEEDS_SHIPMENT, `Transfer ${shipped.id}: ${plan.message}`);
      }

      const { sku, to } = shipped;
      const received = plan.lines.reduce((sum, line) => sum + line.received, 0);
      const short = plan.lines.reduce((sum, line) => sum + line.short, 0);
      const ledger = await StockLedger.open(tx, [{ sku, locationId: to.locationId }], now);
      const effects = plan.lines.flatMap(({ lot, received, short }): LedgerEffect[] => [
        { subinventory: to.subinventory, lot, bucket: 'onHandWms', op: 'add', quantity: received },
        { subinventory: to.subinventory, lot, bucket: 'inboundInTransit', op: 'add', quantity: -(received + short) },
      ]);
      const receipt: TransactionDescription = {
        kind: 'TRANSFER_IN',
        // Numbered by the first unit it brings in: the transfer keeps no count of its receipts, and
        // every receipt that is a transaction brings in at least one unit.
        transactionId: `TRANSFER:${shipped.id}:RECEIPT:${shipped.receivedQuantity + 1}`,
        quantity: received,
        subinventory: to.subinventory,
        counterpartLocationId: shipped.from.locationId,
        serials: [...arrivedSerials].sort(),
      };
      const applied = ledger.applyAll([{ sku, locationId: to.locationId, cause: { type: 'TRANSFER', id: shipped.id }, source: STOCKGRAPH_SOURCE, effects, transaction: receipt }]);
      if (!applied.ok && applied.refused.code === QUANTITY_OUT_OF_RANGE) {
        throw new InventoryError(InventoryErrorCode.QUANTITY_OUT_OF_RANGE, `Cannot receive ${received} of ${sku}: ${applied.refused.reason}`);
      }
      if (!applied.ok) throw new Error(`Stock ledger refused a transfer receipt: ${JSON.stringify(applied.refused)}`);

      const byLot = new Map(plan.lines.map((line) => [line.lot, line]));
      const arrived = new Set(arrivedSerials);
      const updated: TransferRecord = {
        ...shipped,
        status: plan.status,
        receivedQuantity: shipped.receivedQuantity + received,
        shortQuantity: shipped.shortQuantity + short,
        receivedAt: plan.status === 'RECEIVED' ? now : shipped.receivedAt,
        lots: shipped.lots.map((line) => ({ ...line, receivedQuantity: line.receivedQuantity + (byLot.get(line.lot)?.received ?? 0) })),
        serials: shipped.serials.map((s) => ({ ...s, received: s.received || arrived.has(s.serial) })),
      };
      await recordTransferReceipt(tx, updated, arrivedSerials);
      await moveSerials(tx, sku, arrivedSerials, to, 'IN_STOCK', now);
      await ledger.write();
      return updated;
    });
    this.afterCommit();
    return transfer;
  }

  /** The serials a receipt brings in: those named, or every one still in transit when the receipt names nothing. */
  private arrivingSerials(shipped: TransferRecord, input: TransferReceiptInput): string[] {
    const inTransit = shipped.serials.filter((s) => !s.received).map((s) => s.serial);
    if (shipped.serials.length === 0) {
      if (input.serials !== null) throw new InventoryError('BAD_USER_INPUT', `Transfer ${shipped.id} carries no serial numbers; receive it by quantity`);
      return [];
    }
    if (input.serials === null) {
      if (input.quantity !== null || input.lots !== null) throw new InventoryError('BAD_USER_INPUT', `Transfer ${shipped.id} carries serial numbers; name the serials received`);
      return inTransit;
    }
    const unknown = input.serials.filter((serial) => !inTransit.includes(serial));
    if (unknown.length || new Set(input.serials).size !== input.serials.length) {
      throw new InventoryError(InventoryErrorCode.RECEIPT_EXCEEDS_SHIPMENT, `Not in transit on transfer ${shipped.id}: ${unknown.join(', ') || 'a serial named twice'}`, { unknownSerials: unknown });
    }
    return [...input.serials];
  }

  /** The lots to take: those named, checked against the catalogue, or first-expiry-first-out. */
  private lotsToMove(request: TransferRequest, ledger: StockLedger, now: Date): LotQuantity[] {
    const { sku, from, quantity } = request;
    const catalogue = ledger.lots(sku);
    if (request.lots) {
      const unknown = request.lots.filter(({ lot }) => !catalogue.has(lot)).map(({ lot }) => lot);
      if (unknown.length) throw new InventoryError(InventoryErrorCode.UNKNOWN_LOT, `Unknown lot of ${sku}: ${unknown.join(', ')}`, { unknownLots: unknown });
      const expired = request.lots.filter(({ lot }) => { const at = catalogue.get(lot); return at && at <= now; }).map(({ lot }) => lot);
      if (expired.length) throw new InventoryError(InventoryErrorCode.LOT_EXPIRED, `Expired lot of ${sku}: ${expired.join(', ')}`, { expiredLots: expired });
      return [...request.lots];
    }
    const positions = ledger.positions(sku, from.locationId);
    const sourceLots = [...catalogue].map(([lot, expiresAt]) => ({ lot, expiresAt, quantity: movableUnits(positions.get(positionKey(from.subinventory, lot))) }));
    const chosen = firstExpiryFirstOut(quantity, sourceLots, now);
    if (!chosen) {
      const movable = sourceLots.filter((l) => !isLotExpired(l.expiresAt, now)).reduce((sum, l) => sum + l.quantity, 0);
      throw new InventoryError(InventoryErrorCode.INSUFFICIENT_STOCK, `Only ${movable} of ${sku} in unexpired lots at ${from.locationId} ${from.subinventory}; ${quantity} requested`, { available: movable, requested: quantity });
    }
    return chosen.map(({ supply, quantity: taken }) => ({ lot: supply.lot, quantity: taken }));
  }

  /**
   * Units on quality hold never move, nor units of a lot that reservations hold; and a transfer
   * that takes stock out of what the source location can promise may take only what is
   * available: never stock held by reservations, allocations or safety stock.
   */
  private checkAvailable(request: TransferRequest, ledger: StockLedger, lots: readonly LotQuantity[]): void {
    const { sku, from, to, quantity } = request;
    const positions = ledger.positions(sku, from.locationId);
    const movable = lots.reduce((sum, { lot, quantity: wanted }) => {
      const position = positions.get(positionKey(from.subinventory, lot));
      return sum + Math.min(wanted, movableUnits(positions.get(positionKey(from.subinventory, lot))));
    }, 0);
    const leavesAvailability = ledger.isNettable(from.locationId, from.subinventory) === true
      && (from.locationId !== to.locationId || ledger.isNettable(to.locationId, to.subinventory) !== true);
    const available = leavesAvailability ? Math.min(movable, ledger.level(sku, from.locationId).available) : movable;
    if (available < quantity) {
      throw new InventoryError(
        InventoryErrorCode.INSUFFICIENT_STOCK,
        `Only ${available} of ${sku} can move from ${from.locationId} ${from.subinventory}; ${quantity} requested`,
        { sku, locationId: from.locationId, requested: quantity, available },
      );
    }
  }

  private async checkCatalogue({ sku, from, to }: TransferRequest): Promise<ItemControl> {
    const [item] = await this.prisma.$queryRaw<{ lotControlled: boolean; serialControlled: boolean }[]>`
      SELECT lot_controlled AS "lotControlled", serial_controlled AS "serialControlled" FROM item WHERE sku = ${sku}`;
    if (!item) throw new InventoryError(InventoryErrorCode.UNKNOWN_SKU, `Unknown SKU: ${sku}`, { unknownSkus: [sku] });
    const ends = await this.prisma.$queryRaw<{ locationId: string; subinventory: string | null }[]>`
      SELECT l.id AS "locationId", s.code AS subinventory
        FROM location l LEFT JOIN subinventory s ON s.location_id = l.id AND s.code = ANY(${[from.subinventory, to.subinventory]}::text[])
       WHERE l.id = ANY(${[from.locationId, to.locationId]}::text[])`;
    const unknownLocations = [from.locationId, to.locationId].filter((id, i, all) => all.indexOf(id) === i && !ends.some((e) => e.locationId === id));
    if (unknownLocations.length) throw new InventoryError(InventoryErrorCode.UNKNOWN_LOCATION, `Unknown location: ${unknownLocations.join(', ')}`, { unknownLocations });
    for (const end of [from, to]) {
      if (!ends.some((e) => e.locationId === end.locationId && e.subinventory === end.subinventory)) {
        throw new InventoryError(InventoryErrorCode.UNKNOWN_SUBINVENTORY, `No subinventory ${end.subinventory} at ${end.locationId}`);
      }
    }
    return item;
  }
}

/** Whether a caller granted `grant` may see the transfer and receive it: both its ends are granted. */
function isVisibleTo(grant: LocationGrant, transfer: TransferRecord): boolean {
  return grantsEveryLocation(grant, [transfer.from.locationId, transfer.to.locationId]);
}

/** A shipment the ledger refuses: too little stock to move, or too much where it arrives. */
function refusalCode(refused: RejectedChange): InventoryErrorCode {
  return refused.code === QUANTITY_OUT_OF_RANGE ? InventoryErrorCode.QUANTITY_OUT_OF_RANGE : InventoryErrorCode.INSUFFICIENT_STOCK;
}

/**
 * What a transfer may take from a position: on hand less quality hold and, in a lot, less what
 * reservations hold of it (those very units: see ReservationLine.lots).
 */
function movableUnits(position: PositionState | undefined): number {
  if (!position) return 0;
  return Math.max(0, position.onHandWms - position.qualityHold - (position.lot ? position.reserved : 0));
}
