import { Prisma, type PrismaClient } from '../../../platform/database/generated/client.ts';
import { outboxInsert, type OutboxRecord } from '../../../platform/events/outbox.ts';
import type { ReservedLot } from '../domain/reservations/reservationLots.ts';
import type { ReservationStatus } from '../domain/reservations/reservationLifecycle.ts';
import { INVENTORY_PRODUCER } from './inventoryOutbox.ts';

/** The part of a reservation held at one location. */
export interface ReservationLineRecord {
  readonly locationId: string;
  /** The nettable subinventory whose position carries the reserved quantity of a line without lots. */
  readonly subinventory: string;
  readonly quantity: number;
  /** Lot-controlled items: the lots held, first expiry first, adding up to `quantity`; empty otherwise. */
  readonly lots: readonly ReservedLot[];
}

export interface ReservationRecord {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly sku: string;
  readonly quantity: number;
  readonly channel: string;
  readonly reference: string;
  readonly status: ReservationStatus;
  readonly expiresAt: Date;
  /** 1 when created, one more with each change: the version of its latest change event. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** In location id order. */
  readonly lines: readonly ReservationLineRecord[];
}

type Queryable = Prisma.TransactionClient | PrismaClient;

/** A reservation as selectReservations reads it: its lots' expiry as JSON text. */
type ReservationRow = Omit<ReservationRecord, 'lines'> & {
  readonly lines: readonly (Omit<ReservationLineRecord, 'lots'> & { readonly lots: readonly (Omit<ReservedLot, 'expiresAt'> & { readonly expiresAt: string | null })[] })[];
};

// One statement per call: each reservation's lines, and each line's lots with their expiry,
// come packed as JSON.
const selectReservations = (where: Prisma.Sql, suffix: Prisma.Sql) => Prisma.sql`
  SELECT r.id, r.idempotency_key AS "idempotencyKey", r.request_hash AS "requestHash", r.sku, r.quantity, r.channel,
         r.reference, r.status::text AS status, r.expires_at AS "expiresAt", r.version, r.created_at AS "createdAt",
         r.updated_at AS "updatedAt",
         COALESCE((SELECT json_agg(json_build_object(
                            'locationId', l.location_id, 'subinventory', l.subinventory, 'quantity', l.quantity,
                            'lots', COALESCE((SELECT json_agg(json_build_object('subinventory', ll.subinventory, 'lot', ll.lot, 'expiresAt', lot.expires_at, 'quantity', ll.quantity)
                                                              ORDER BY lot.expires_at NULLS LAST, ll.lot, ll.subinventory)
                                                FROM reservation_line_lot ll JOIN lot ON lot.sku = ll.sku AND lot.lot = ll.lot
                                               WHERE ll.reservation_id = l.reservation_id AND ll.location_id = l.location_id), '[]'))
                          ORDER BY l.location_id)
                     FROM reservation_line l WHERE l.reservation_id = r.id), '[]') AS lines
    FROM reservation r
   WHERE ${where}
  ${suffix}`;

async function readReservations(db: Queryable, where: Prisma.Sql, suffix: Prisma.Sql = Prisma.empty): Promise<ReservationRecord[]> {
  const rows = await db.$queryRaw<ReservationRow[]>(selectReservations(where, suffix));
  return rows.map((row) => ({
    ...row,
    lines: row.lines.map((line) => ({ ...line, lots: line.lots.map((lot) => ({ ...lot, expiresAt: lot.expiresAt === null ? null : new Date(lot.expiresAt) })) })),
  }));
}

export function reservationsByIdempotencyKey(db: Queryable, keys: readonly string[]): Promise<ReservationRecord[]> {
  return readReservations(db, Prisma.sql`r.idempotency_key = ANY(${keys}::text[])`);
}

export function reservationsById(db: Queryable, ids: readonly string[]): Promise<ReservationRecord[]> {
  return readReservations(db, Prisma.sql`r.id = ANY(${ids}::text[])`);
}

/** The reservations among `ids` that exist, locked until the transaction ends, in id order (the lock order). */
export function lockReservations(tx: Prisma.TransactionClient, ids: readonly string[]): Promise<ReservationRecord[]> {
  return readReservations(tx, Prisma.sql`r.id = ANY(${ids}::text[])`, Prisma.sql`ORDER BY r.id FOR UPDATE OF r`);
}

/**
 * Up to `limit` ACTIVE reservations whose time to live ended by `now`, oldest expiry first,
 * locked; rows another sweeper holds are skipped, so that replicas share the work.
 */
export function lockDueReservations(tx: Prisma.TransactionClient, now: Date, limit: number): Promise<ReservationRecord[]> {
  return readReservations(
    tx,
    Prisma.sql`r.status = 'ACTIVE' AND r.expires_at <= ${now.toISOString()}::timestamptz`,
    Prisma.sql`ORDER BY r.expires_at LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`,
  );
}

/**
 * Up to `limit` ACTIVE reservations, their time to live not ended by `now`, that hold a lot
 * expired by then, in id order, locked; rows another sweeper holds are skipped.
 */
export function lockReservationsHoldingExpiredLots(tx: Prisma.TransactionClient, now: Date, limit: number): Promise<ReservationRecord[]> {
  const at = now.toISOString();
  return readReservations(
    tx,
    Prisma.sql`r.status = 'ACTIVE' AND r.expires_at > ${at}::timestamptz
      AND r.id IN (SELECT ll.reservation_id FROM lot JOIN reservation_line_lot ll ON ll.sku = lot.sku AND ll.lot = lot.lot
                    WHERE lot.expires_at <= ${at}::timestamptz)`,
    Prisma.sql`ORDER BY r.id LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`,
  );
}

/**
 * The statements that insert `reservations` and their lines, to run as parts of one statement
 * (StockLedger.write's `alongside`), so that they cost no round trip of their own.
 */
export function reservationInserts(reservations: readonly ReservationRecord[]): Prisma.Sql[] {
  return [
    Prisma.sql`
      INSERT INTO reservation (id, idempotency_key, request_hash, sku, quantity, channel, reference, status, expires_at, version, created_at, updated_at)
      SELECT id, idempotency_key, request_hash, sku, quantity, channel, reference, 'ACTIVE', expires_at, 1, created_at, created_at
        FROM unnest(${reservations.map((r) => r.id)}::text[], ${reservations.map((r) => r.idempotencyKey)}::text[],
                    ${reservations.map((r) => r.requestHash)}::text[], ${reservations.map((r) => r.sku)}::text[],
                    ${reservations.map((r) => r.quantity)}::int[], ${reservations.map((r) => r.channel)}::text[],
                    ${reservations.map((r) => r.reference)}::text[], ${reservations.map((r) => r.expiresAt.toISOString())}::timestamptz[],
                    ${reservations.map((r) => r.createdAt.toISOString())}::timestamptz[])
             AS r(id, idempotency_key, request_hash, sku, quantity, channel, reference, expires_at, created_at)`,
    ...reservationLineInserts(reservations),
  ];
}

/** The statements that insert the lines of `reservations`, and their lots (see reservationInserts). */
export function reservationLineInserts(reservations: readonly ReservationRecord[]): Prisma.Sql[] {
  const lines = reservations.flatMap((r) => r.lines.map((line) => ({ reservationId: r.id, ...line })));
  const lots = reservations.flatMap((r) => r.lines.flatMap((line) => line.lots.map((lot) => ({ reservationId: r.id, locationId: line.locationId, sku: r.sku, ...lot }))));
  const statements = [Prisma.sql`
    INSERT INTO reservation_line (reservation_id, location_id, subinventory, quantity)
    SELECT * FROM unnest(${lines.map((l) => l.reservationId)}::text[], ${lines.map((l) => l.locationId)}::text[],
                         ${lines.map((l) => l.subinventory)}::text[], ${lines.map((l) => l.quantity)}::int[])`];
  if (lots.length) {
    statements.push(Prisma.sql`
      INSERT INTO reservation_line_lot (reservation_id, location_id, subinventory, sku, lot, quantity)
      SELECT * FROM unnest(${lots.map((l) => l.reservationId)}::text[], ${lots.map((l) => l.locationId)}::text[],
                           ${lots.map((l) => l.subinventory)}::text[], ${lots.map((l) => l.sku)}::text[],
                           ${lots.map((l) => l.lot)}::text[], ${lots.map((l) => l.quantity)}::int[])`);
  }
  return statements;
}

/** Removes the lines of `reservationIds`, and their lots, so that reservationLineInserts can write them anew. */
export async function deleteReservationLines(tx: Prisma.TransactionClient, reservationIds: readonly string[]): Promise<void> {
  await tx.$executeRaw`DELETE FROM reservation_line WHERE reservation_id = ANY(${reservationIds}::text[])`;
}

/** The statement that stores each reservation's status, quantity, expiry and version (see reservationInserts). */
export function reservationUpdates(reservations: readonly ReservationRecord[], now: Date): Prisma.Sql {
  return Prisma.sql`
    UPDATE reservation AS r
       SET status = v.status::"ReservationStatus", quantity = v.quantity, expires_at = v.expires_at, version = v.version,
           updated_at = ${now.toISOString()}::timestamptz
      FROM unnest(${reservations.map((r) => r.id)}::text[], ${reservations.map((r) => r.status)}::text[], ${reservations.map((r) => r.quantity)}::int[],
                  ${reservations.map((r) => r.expiresAt.toISOString())}::timestamptz[], ${reservations.map((r) => r.version)}::int[])
           AS v(id, status, quantity, expires_at, version)
     WHERE r.id = v.id`;
}

/** The statement that writes the outbox records of reservation changes (see reservationInserts); none for none. */
export function reservationEventInserts(events: readonly OutboxRecord[], now: Date): Prisma.Sql[] {
  return events.length ? [outboxInsert(INVENTORY_PRODUCER, events, now)] : [];
}

/** Stores each reservation's changes (see reservationUpdates) and writes the outbox records of their events, in one statement. */
export async function storeReservationChanges(tx: Prisma.TransactionClient, reservations: readonly ReservationRecord[], events: readonly OutboxRecord[], now: Date): Promise<void> {
  if (reservations.length === 0) return;
  await tx.$executeRaw`WITH updated AS (${reservationUpdates(reservations, now)}) ${outboxInsert(INVENTORY_PRODUCER, events, now)}`;
}
