import { Prisma, type PrismaClient } from '../../../platform/database/generated/client.ts';
import type { ReservationStatus } from '../domain/reservations/reservationLifecycle.ts';

/** The part of a reservation held at one location. */
export interface ReservationLineRecord {
  readonly locationId: string;
  /** The nettable subinventory whose position carries the reserved quantity. */
  readonly subinventory: string;
  readonly quantity: number;
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
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** In location id order. */
  readonly lines: readonly ReservationLineRecord[];
}

type Queryable = Prisma.TransactionClient | PrismaClient;

// One statement per call: each reservation's lines come packed as JSON.
const selectReservations = (where: Prisma.Sql, suffix: Prisma.Sql) => Prisma.sql`
  SELECT r.id, r.idempotency_key AS "idempotencyKey", r.request_hash AS "requestHash", r.sku, r.quantity, r.channel,
         r.reference, r.status::text AS status, r.expires_at AS "expiresAt", r.created_at AS "createdAt", r.updated_at AS "updatedAt",
         COALESCE((SELECT json_agg(json_build_object('locationId', l.location_id, 'subinventory', l.subinventory, 'quantity', l.quantity)
                                   ORDER BY l.location_id)
                     FROM reservation_line l WHERE l.reservation_id = r.id), '[]') AS lines
    FROM reservation r
   WHERE ${where}
  ${suffix}`;

export async function reservationsByIdempotencyKey(db: Queryable, keys: readonly string[]): Promise<ReservationRecord[]> {
  return db.$queryRaw<ReservationRecord[]>(selectReservations(Prisma.sql`r.idempotency_key = ANY(${keys}::text[])`, Prisma.empty));
}

export async function reservationsById(db: Queryable, ids: readonly string[]): Promise<ReservationRecord[]> {
  return db.$queryRaw<ReservationRecord[]>(selectReservations(Prisma.sql`r.id = ANY(${ids}::text[])`, Prisma.empty));
}

/** The reservations among `ids` that exist, locked until the transaction ends, in id order (the lock order). */
export async function lockReservations(tx: Prisma.TransactionClient, ids: readonly string[]): Promise<ReservationRecord[]> {
  return tx.$queryRaw<ReservationRecord[]>(selectReservations(Prisma.sql`r.id = ANY(${ids}::text[])`, Prisma.sql`ORDER BY r.id FOR UPDATE OF r`));
}

/**
 * Up to `limit` ACTIVE reservations whose time to live ended by `now`, oldest expiry first,
 * locked; rows another sweeper holds are skipped, so that replicas share the work.
 */
export async function lockDueReservations(tx: Prisma.TransactionClient, now: Date, limit: number): Promise<ReservationRecord[]> {
  return tx.$queryRaw<ReservationRecord[]>(selectReservations(
    Prisma.sql`r.status = 'ACTIVE' AND r.expires_at <= ${now.toISOString()}::timestamptz`,
    Prisma.sql`ORDER BY r.expires_at LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`,
  ));
}

/**
 * The statements that insert `reservations` and their lines, to run as parts of one statement
 * (StockLedger.write's `alongside`), so that they cost no round trip of their own.
 */
export function reservationInserts(reservations: readonly ReservationRecord[]): Prisma.Sql[] {
  const lines = reservations.flatMap((r) => r.lines.map((line) => ({ reservationId: r.id, ...line })));
  return [
    Prisma.sql`
      INSERT INTO reservation (id, idempotency_key, request_hash, sku, quantity, channel, reference, status, expires_at, created_at, updated_at)
      SELECT id, idempotency_key, request_hash, sku, quantity, channel, reference, 'ACTIVE', expires_at, created_at, created_at
        FROM unnest(${reservations.map((r) => r.id)}::text[], ${reservations.map((r) => r.idempotencyKey)}::text[],
                    ${reservations.map((r) => r.requestHash)}::text[], ${reservations.map((r) => r.sku)}::text[],
                    ${reservations.map((r) => r.quantity)}::int[], ${reservations.map((r) => r.channel)}::text[],
                    ${reservations.map((r) => r.reference)}::text[], ${reservations.map((r) => r.expiresAt.toISOString())}::timestamptz[],
                    ${reservations.map((r) => r.createdAt.toISOString())}::timestamptz[])
             AS r(id, idempotency_key, request_hash, sku, quantity, channel, reference, expires_at, created_at)`,
    Prisma.sql`
      INSERT INTO reservation_line (reservation_id, location_id, subinventory, quantity)
      SELECT * FROM unnest(${lines.map((l) => l.reservationId)}::text[], ${lines.map((l) => l.locationId)}::text[],
                           ${lines.map((l) => l.subinventory)}::text[], ${lines.map((l) => l.quantity)}::int[])`,
  ];
}

/** The statement that stores each reservation's status and expiry (see reservationInserts). */
export function reservationUpdates(reservations: readonly ReservationRecord[], now: Date): Prisma.Sql {
  return Prisma.sql`
    UPDATE reservation AS r
       SET status = v.status::"ReservationStatus", expires_at = v.expires_at, updated_at = ${now.toISOString()}::timestamptz
      FROM unnest(${reservations.map((r) => r.id)}::text[], ${reservations.map((r) => r.status)}::text[],
                  ${reservations.map((r) => r.expiresAt.toISOString())}::timestamptz[]) AS v(id, status, expires_at)
     WHERE r.id = v.id`;
}

/** Stores each reservation's status and expiry. */
export async function updateReservations(tx: Prisma.TransactionClient, reservations: readonly ReservationRecord[], now: Date): Promise<void> {
  if (reservations.length === 0) return;
  await tx.$executeRaw(reservationUpdates(reservations, now));
}
