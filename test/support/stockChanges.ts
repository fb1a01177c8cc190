import assert from 'node:assert/strict';
import { stockLevelChanged, type PayloadOf } from '../../platform/contracts/events.ts';
import type { Database } from '../../platform/database/database.ts';

/** Consecutive sequences per item x location, in order: nothing missed, nothing twice, nothing reordered. */
export function assertGapFreeInOrder(changes: readonly { sku: string; locationId: string; sequence: number }[]): void {
  const bySku = new Map<string, number[]>();
  for (const change of changes) bySku.set(`${change.sku}@${change.locationId}`, [...(bySku.get(`${change.sku}@${change.locationId}`) ?? []), change.sequence]);
  for (const [key, sequences] of bySku) {
    assert.deepEqual(sequences, sequences.map((_, i) => sequences[0]! + i), `${key} arrives gap-free and in order`);
  }
}

/** A stock change as the outbox records it: its contract's payload and its outbox id. */
export type RecordedStockChange = PayloadOf<typeof stockLevelChanged> & { readonly id: string };

/** The stock changes recorded in the outbox, oldest first; only `sku`'s when given. */
export async function recordedStockChanges(db: Database, sku?: string): Promise<RecordedStockChange[]> {
  const rows = await db.query<{ id: string; payload: PayloadOf<typeof stockLevelChanged> }>(
    // Ordered by the bigint column, not the text it is selected as (which would put id 1000 before 999).
    `SELECT id::text, payload FROM event_outbox WHERE type = $1 AND ($2::text IS NULL OR payload->>'sku' = $2) ORDER BY event_outbox.id`,
    [stockLevelChanged.type, sku ?? null],
  );
  return rows.map(({ id, payload }) => ({ ...payload, id }));
}

/** Each change as `sku#sequence`, sorted: compares what arrived with what was recorded, whatever the keys' interleaving (only each key's order is promised). */
export const changeKeys = (changes: readonly { sku: string; sequence: number }[]): string[] => changes.map(({ sku, sequence }) => `${sku}#${sequence}`).sort();
