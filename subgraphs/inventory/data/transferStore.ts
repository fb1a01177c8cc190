import { Prisma, type PrismaClient } from '../../../platform/database/generated/client.ts';
import type { ShippedLot } from '../domain/transfers/transferReceipt.ts';
import type { TransferEnd } from '../domain/transfers/transferRequest.ts';

export type TransferStatus = 'COMPLETED' | 'SHIPPED' | 'PARTIALLY_RECEIVED' | 'RECEIVED';

export interface TransferRecord {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly sku: string;
  readonly quantity: number;
  readonly from: TransferEnd;
  readonly to: TransferEnd;
  readonly status: TransferStatus;
  readonly expectedArrivalAt: Date | null;
  readonly receivedQuantity: number;
  readonly shortQuantity: number;
  readonly createdAt: Date;
  readonly receivedAt: Date | null;
  /** In lot order; one line with lot '' when the item is not lot-controlled. */
  readonly lots: readonly ShippedLot[];
  /** In serial order, each with whether it has arrived. */
  readonly serials: readonly { readonly serial: string; readonly received: boolean }[];
}

type Queryable = Prisma.TransactionClient | PrismaClient;

interface TransferRow extends Omit<TransferRecord, 'from' | 'to'> {
  fromLocationId: string;
  fromSubinventory: string;
  toLocationId: string;
  toSubinventory: string;
}

const selectTransfers = (where: Prisma.Sql, suffix: Prisma.Sql = Prisma.empty) => Prisma.sql`
  SELECT t.id, t.idempotency_key AS "idempotencyKey", t.request_hash AS "requestHash", t.sku, t.quantity,
         t.from_location_id AS "fromLocationId", t.from_subinventory AS "fromSubinventory",
         t.to_location_id AS "toLocationId", t.to_subinventory AS "toSubinventory", t.status::text AS status,
         t.expected_arrival_at AS "expectedArrivalAt", t.received_quantity AS "receivedQuantity",
         t.short_quantity AS "shortQuantity", t.created_at AS "createdAt", t.received_at AS "receivedAt",
         COALESCE((SELECT json_agg(json_build_object('lot', l.lot, 'quantity', l.quantity, 'receivedQuantity', l.received_quantity) ORDER BY l.lot)
                     FROM transfer_line l WHERE l.transfer_id = t.id), '[]') AS lots,
         COALESCE((SELECT json_agg(json_build_object('serial', s.serial, 'received', s.received) ORDER BY s.serial)
                     FROM transfer_serial s WHERE s.transfer_id = t.id), '[]') AS serials
    FROM transfer t
   WHERE ${where}
  ${suffix}`;

const toRecord = ({ fromLocationId, fromSubinventory, toLocationId, toSubinventory, ...row }: TransferRow): TransferRecord => ({
  ...row,
  from: { locationId: fromLocationId, subinventory: fromSubinventory },
  to: { locationId: toLocationId, subinventory: toSubinventory },
});

export async function transfersById(db: Queryable, ids: readonly string[]): Promise<TransferRecord[]> {
  return (await db.$queryRaw<TransferRow[]>(selectTransfers(Prisma.sql`t.id = ANY(${ids}::text[])`))).map(toRecord);
}

export async function transferByIdempotencyKey(db: Queryable, key: string): Promise<TransferRecord | null> {
  const [row] = await db.$queryRaw<TransferRow[]>(selectTransfers(Prisma.sql`t.idempotency_key = ${key}`));
  return row ? toRecord(row) : null;
}

/** The transfer, locked until the transaction ends; null when there is none. */
export async function lockTransfer(tx: Prisma.TransactionClient, id: string): Promise<TransferRecord | null> {
  const [row] = await tx.$queryRaw<TransferRow[]>(selectTransfers(Prisma.sql`t.id = ${id}`, Prisma.sql`FOR UPDATE OF t`));
  return row ? toRecord(row) : null;
}

export async function insertTransfer(tx: Prisma.TransactionClient, transfer: TransferRecord): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO transfer (id, idempotency_key, request_hash, sku, quantity, from_location_id, from_subinventory,
                          to_location_id, to_subinventory, status, expected_arrival_at, received_quantity, created_at, received_at)
    VALUES (${transfer.id}, ${transfer.idempotencyKey}, ${transfer.requestHash}, ${transfer.sku}, ${transfer.quantity},
            ${transfer.from.locationId}, ${transfer.from.subinventory}, ${transfer.to.locationId}, ${transfer.to.subinventory},
            ${transfer.status}::"TransferStatus", ${transfer.expectedArrivalAt?.toISOString() ?? null}::timestamptz,
            ${transfer.receivedQuantity}, ${transfer.createdAt.toISOString()}::timestamptz, ${transfer.receivedAt?.toISOString() ?? null}::timestamptz)`;
  await tx.$executeRaw`
    INSERT INTO transfer_line (transfer_id, lot, quantity, received_quantity)
    SELECT ${transfer.id}, * FROM unnest(${transfer.lots.map((l) => l.lot)}::text[], ${transfer.lots.map((l) => l.quantity)}::int[],
                                         ${transfer.lots.map((l) => l.receivedQuantity)}::int[])`;
  if (transfer.serials.length) {
    await tx.$executeRaw`
      INSERT INTO transfer_serial (transfer_id, serial, received)
      SELECT ${transfer.id}, * FROM unnest(${transfer.serials.map((s) => s.serial)}::text[], ${transfer.serials.map((s) => s.received)}::boolean[])`;
  }
}

/** Records a receipt: per-lot received quantities, the serials that arrived, and the transfer's totals. */
export async function recordTransferReceipt(tx: Prisma.TransactionClient, transfer: TransferRecord, arrivedSerials: readonly string[]): Promise<void> {
  await tx.$executeRaw`
    UPDATE transfer SET status = ${transfer.status}::"TransferStatus", received_quantity = ${transfer.receivedQuantity},
           short_quantity = ${transfer.shortQuantity}, received_at = ${transfer.receivedAt?.toISOString() ?? null}::timestamptz
     WHERE id = ${transfer.id}`;
  await tx.$executeRaw`
    UPDATE transfer_line AS l SET received_quantity = v.received
      FROM unnest(${transfer.lots.map((l) => l.lot)}::text[], ${transfer.lots.map((l) => l.receivedQuantity)}::int[]) AS v(lot, received)
     WHERE l.transfer_id = ${transfer.id} AND l.lot = v.lot`;
  if (arrivedSerials.length) {
    await tx.$executeRaw`UPDATE transfer_serial SET received = true WHERE transfer_id = ${transfer.id} AND serial = ANY(${arrivedSerials}::text[])`;
  }
}

/** Serials of `sku` among `serials` that are in stock at `at`; the rest do not exist there. */
export async function serialsInStockAt(tx: Prisma.TransactionClient, sku: string, serials: readonly string[], at: TransferEnd): Promise<Set<string>> {
  const rows = await tx.$queryRaw<{ serial: string }[]>`
    SELECT serial FROM serial_number
     WHERE sku = ${sku} AND serial = ANY(${serials}::text[]) AND location_id = ${at.locationId}
       AND subinventory = ${at.subinventory} AND status = 'IN_STOCK'
       FOR UPDATE`;
  return new Set(rows.map((row) => row.serial));
}

/** Moves serials to `to`, in stock there or still in transit to it. */
export async function moveSerials(tx: Prisma.TransactionClient, sku: string, serials: readonly string[], to: TransferEnd, status: 'IN_STOCK' | 'IN_TRANSIT', now: Date): Promise<void> {
  if (serials.length === 0) return;
  await tx.$executeRaw`
    UPDATE serial_number SET location_id = ${to.locationId}, subinventory = ${to.subinventory}, status = ${status}::"SerialStatus",
           updated_at = ${now.toISOString()}::timestamptz
     WHERE sku = ${sku} AND serial = ANY(${serials}::text[])`;
}
