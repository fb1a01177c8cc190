import type { PrismaClient } from '../database/database.ts';

/** How far a producer's relay is behind its outbox. */
export interface OutboxLag {
  /** Records written and not yet published, counted up to OUTBOX_LAG_COUNT_LIMIT. */
  readonly pending: number;
  /** Age of the oldest of them, in seconds; 0 when none is pending. */
  readonly oldestPendingAgeSeconds: number;
}

/** Pending records are counted up to this many: past it the figure means "far behind" anyway, and counting stays cheap. */
const OUTBOX_LAG_COUNT_LIMIT = 100_000;

/**
 * Reads `producer`'s outbox lag with two index reads: the pending list's primary key
 * (producer, id), counted up to a limit, and the first pending id joined to its record. Cheap
 * enough to run at every metrics scrape.
 */
export async function readOutboxLag(prisma: PrismaClient, producer: string): Promise<OutboxLag> {
  const [lag] = await prisma.$queryRaw<{ pending: number; oldestPendingAgeSeconds: number }[]>`
    SELECT (SELECT count(*) FROM (SELECT 1 FROM event_outbox_pending WHERE producer = ${producer} LIMIT ${OUTBOX_LAG_COUNT_LIMIT}) AS capped)::int AS pending,
           coalesce((SELECT extract(epoch FROM now() - o.occurred_at)
                       FROM (SELECT id FROM event_outbox_pending WHERE producer = ${producer} ORDER BY producer, id LIMIT 1) AS p
                       JOIN event_outbox o ON o.id = p.id), 0)::float8 AS "oldestPendingAgeSeconds"`;
  return lag!;
}
