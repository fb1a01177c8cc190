/**
 * The streams services meet on. Publishers and consumers name a stream through this map, never
 * by its string, so that a subgraph's events reach the gateway without either importing the other.
 */
export const STREAMS = {
  /** Every stock change (`inventory.stockLevel.changed`), in order per item x location. */
  stockChanges: 'stockgraph:stock-changes',
} as const;
