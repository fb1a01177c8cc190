import type { Prisma } from '../database/generated/client.ts';

/**
 * The stored cursor of `consumer` on `stream` ("0-0" before its first event), locked until the
 * transaction ends: replicas of a consumer that read the same events take turns here, and each
 * applies only what lies after the cursor it finds.
 */
export async function lockConsumerCursor(tx: Prisma.TransactionClient, consumer: string, stream: string): Promise<string> {
  await tx.$executeRaw`
    INSERT INTO event_consumer_cursor (consumer, stream, cursor) VALUES (${consumer}, ${stream}, '0-0') ON CONFLICT DO NOTHING`;
  const [row] = await tx.$queryRaw<{ cursor: string }[]>`
    SELECT cursor FROM event_consumer_cursor WHERE consumer = ${consumer} AND stream = ${stream} FOR UPDATE`;
  return row!.cursor;
}

export async function saveConsumerCursor(tx: Prisma.TransactionClient, consumer: string, stream: string, cursor: string): Promise<void> {
  await tx.$executeRaw`
    UPDATE event_consumer_cursor SET cursor = ${cursor}, updated_at = now() WHERE consumer = ${consumer} AND stream = ${stream}`;
}

/** The stored cursor, unlocked; null when the consumer has applied nothing of the stream yet. */
export async function readConsumerCursor(db: Prisma.TransactionClient, consumer: string, stream: string): Promise<string | null> {
  const [row] = await db.$queryRaw<{ cursor: string }[]>`
    SELECT cursor FROM event_consumer_cursor WHERE consumer = ${consumer} AND stream = ${stream}`;
  return row?.cursor ?? null;
}

/**
 * Moves the stored cursor back to the stream's start, if it still is `stored`: of replicas that
 * all find the stream begun again, one resets it and the others leave it to that one.
 */
export async function restartConsumerCursor(db: Prisma.TransactionClient, consumer: string, stream: string, stored: string): Promise<void> {
  await db.$executeRaw`
    UPDATE event_consumer_cursor SET cursor = '0-0', updated_at = now() WHERE consumer = ${consumer} AND stream = ${stream} AND cursor = ${stored}`;
}

/** An event the consumer could not take, as refused_event keeps it. */
export interface Refusal {
  readonly cursor: string;
  readonly type: string;
  readonly payload: unknown;
  readonly reason: string;
  /** The refused event's, for the log line. */
  readonly correlationId: string | null;
}

export async function recordRefusals(tx: Prisma.TransactionClient, consumer: string, stream: string, refusals: readonly Refusal[]): Promise<void> {
  if (refusals.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO refused_event (consumer, stream, cursor, type, payload, reason)
    SELECT ${consumer}, ${stream}, r.cursor, r.type, r.payload, r.reason
      FROM json_to_recordset(${JSON.stringify(refusals.map((refusal) => ({ ...refusal, payload: payloadText(refusal.payload) })))}::json)
           AS r(cursor text, type text, payload text, reason text)
    ON CONFLICT DO NOTHING`;
}

function payloadText(payload: unknown): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload) ?? 'undefined';
}
