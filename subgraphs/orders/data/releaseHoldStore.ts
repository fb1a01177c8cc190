import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import type { ReleaseHold } from '../domain/orderLifecycle.ts';

export interface SkuAtLocation {
  readonly sku: string;
  readonly locationId: string;
}

const pairsOf = (pairs: readonly SkuAtLocation[]) => recordset(pairs.map(({ sku, locationId }) => ({ sku, location_id: locationId })), 'pair', { sku: 'text', location_id: 'text' });

/** The holds that stand on these SKUs at these locations. */
export async function standingHoldsOn(tx: Prisma.TransactionClient, pairs: readonly SkuAtLocation[]): Promise<ReleaseHold[]> {
  if (pairs.length === 0) return [];
  return tx.$queryRaw<ReleaseHold[]>`
    SELECT h.hold_id AS "holdId", h.sku, h.location_id AS "locationId", h.reason
      FROM order_release_hold h JOIN ${pairsOf(pairs)} ON h.sku = pair.sku AND h.location_id = pair.location_id
     WHERE h.cleared_at IS NULL
     ORDER BY h.placed_at, h.hold_id`;
}

/** Records holds placed; a hold known already (a repeat) stays as it is. */
export async function recordPlacedHolds(tx: Prisma.TransactionClient, holds: readonly (ReleaseHold & { placedAt: string })[]): Promise<void> {
  if (holds.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO order_release_hold (hold_id, sku, location_id, reason, placed_at)
    SELECT * FROM ${recordset(holds.map((h) => ({ hold_id: h.holdId, sku: h.sku, location_id: h.locationId, reason: h.reason, placed_at: h.placedAt })), 'v', {
      hold_id: 'text', sku: 'text', location_id: 'text', reason: 'text', placed_at: 'timestamptz',
    })}
    ON CONFLICT (hold_id) DO NOTHING`;
}

/** Records holds cleared (one never heard of is recorded cleared); returns those that stood until now. */
export async function recordClearedHolds(tx: Prisma.TransactionClient, holds: readonly (SkuAtLocation & { holdId: string; clearedAt: string })[]): Promise<(SkuAtLocation & { holdId: string })[]> {
  if (holds.length === 0) return [];
  return tx.$queryRaw<(SkuAtLocation & { holdId: string })[]>`
    INSERT INTO order_release_hold AS h (hold_id, sku, location_id, reason, placed_at, cleared_at)
    SELECT v.hold_id, v.sku, v.location_id, '', v.cleared_at, v.cleared_at
      FROM ${recordset(holds.map((h) => ({ hold_id: h.holdId, sku: h.sku, location_id: h.locationId, cleared_at: h.clearedAt })), 'v', {
        hold_id: 'text', sku: 'text', location_id: 'text', cleared_at: 'timestamptz',
      })}
    ON CONFLICT (hold_id) DO UPDATE SET cleared_at = EXCLUDED.cleared_at WHERE h.cleared_at IS NULL
    RETURNING h.hold_id AS "holdId", h.sku, h.location_id AS "locationId"`;
}

/** The orders whose release waits for holds and that have a line at one of these SKUs and locations. */
export async function ordersWaitingOn(tx: Prisma.TransactionClient, pairs: readonly SkuAtLocation[]): Promise<string[]> {
  if (pairs.length === 0) return [];
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT DISTINCT o.id
      FROM order_line l JOIN ${pairsOf(pairs)} ON l.sku = pair.sku AND l.location_id = pair.location_id
      JOIN sales_order o ON o.id = l.order_id
     WHERE o.release_requested`;
  return rows.map((row) => row.id);
}
