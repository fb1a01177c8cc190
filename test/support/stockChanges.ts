import assert from 'node:assert/strict';

/** Consecutive sequences per item x location, in order: nothing missed, nothing twice, nothing reordered. */
export function assertGapFreeInOrder(changes: readonly { sku: string; locationId: string; sequence: number }[]): void {
  const bySku = new Map<string, number[]>();
  for (const change of changes) bySku.set(`${change.sku}@${change.locationId}`, [...(bySku.get(`${change.sku}@${change.locationId}`) ?? []), change.sequence]);
  for (const [key, sequences] of bySku) {
    assert.deepEqual(sequences, sequences.map((_, i) => sequences[0]! + i), `${key} arrives gap-free and in order`);
  }
}
