import { Prisma } from '../database/generated/client.ts';
import { recordset } from '../database/recordset.ts';
import { checkPayload, type EventContract } from '../contracts/events.ts';
import { currentCorrelationId } from '../observability/requestContext.ts';
import { currentTraceparent } from '../observability/tracing.ts';

/** An event to write to the outbox, checked against its contract. */
export interface OutboxRecord {
  readonly stream: string;
  readonly type: string;
  readonly key: string;
  readonly sequence: number;
  readonly payload: unknown;
  /** The request or event that caused it (the request context when it was made): published in the envelope. */
  readonly correlationId: string | null;
  /** W3C traceparent of the span it was made in, for the relay's publish span to link to; null when tracing is off. */
  readonly traceparent: string | null;
}

/**
 * An outbox record for `payload`, which must meet `contract`: a payload that does not is refused
 * here (EventContractError), inside the producer's transaction, so that it is never published.
 * It carries the current correlation id and trace context: made while a request (or an event)
 * is handled, it is traced back to it.
 */
export function outboxRecord<Payload>(contract: EventContract<Payload>, payload: Payload): OutboxRecord {
  const checked = checkPayload(contract, payload);
  return {
    stream: contract.stream, type: contract.type, key: contract.keyOf(checked), sequence: contract.sequenceOf(checked), payload: checked,
    correlationId: currentCorrelationId() ?? null, traceparent: currentTraceparent(),
  };
}

/**
 * The statement that writes `records` to `producer`'s outbox, to run in the transaction of the
 * change they describe: alone (writeOutbox), or as the main statement or a part of a larger
 * one. Publishing is the relay's, after the commit. A key's records must be written in sequence
 * order, each under the lock that orders its key's changes, so that their ids follow that order.
 */
export function outboxInsert(producer: string, records: readonly OutboxRecord[], occurredAt: Date): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO event_outbox (producer, stream, type, key, sequence, payload, occurred_at, correlation_id, traceparent)
    SELECT ${producer}, v.stream, v.type, v.key, v.sequence, v.payload, ${occurredAt.toISOString()}::timestamptz, v.correlation_id, v.traceparent
      FROM ${recordset(records.map(outboxRow), 'v', { stream: 'text', type: 'text', key: 'text', sequence: 'bigint', payload: 'jsonb', correlation_id: 'text', traceparent: 'text' })}`;
}

// json_to_recordset matches its columns to keys by their (lower-case) SQL names.
const outboxRow = ({ correlationId, ...record }: OutboxRecord) => ({ ...record, correlation_id: correlationId });

/** Writes `records` to `producer`'s outbox in the caller's transaction. */
export async function writeOutbox(tx: Prisma.TransactionClient, producer: string, records: readonly OutboxRecord[], occurredAt = new Date()): Promise<void> {
  if (records.length === 0) return;
  await tx.$executeRaw(outboxInsert(producer, records, occurredAt));
}
