/**
 * The largest count of units Stockgraph keeps in any bucket of a position, and in any figure
 * summed over a stock level's positions: PostgreSQL's `integer`, which is also GraphQL's `Int`.
 * Buckets stay 32-bit on purpose: no item x location holds two billion units, and a quantity
 * that large is a unit or typing error (a case count sent as units, a barcode in the quantity
 * field) that should be refused with a clear code, not stored.
 */
export const MAX_STOCK_QUANTITY = 2_147_483_647;

/** The code every refusal of a quantity beyond MAX_STOCK_QUANTITY carries. */
export const QUANTITY_OUT_OF_RANGE = 'QUANTITY_OUT_OF_RANGE';

export const isWithinStockRange = (quantity: number): boolean => Math.abs(quantity) <= MAX_STOCK_QUANTITY;

export const STOCK_RANGE_DESCRIPTION = `beyond ${MAX_STOCK_QUANTITY.toLocaleString('en-US')}, the largest quantity Stockgraph keeps`;
