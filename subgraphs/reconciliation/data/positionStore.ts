import type { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';

/** The newest state of one item x location that a batch of stock changes tells. */
export interface PositionState {
  readonly sku: string;
  readonly locationId: string;
  /** Nettable on hand as the WMS and the ERP see it. */
  readonly wmsOnHand: number;
  readonly erpOnHand: number;
  /** The stock level's sequence after the change. */
  readonly sequence: number;
  /** When an ERP balance last changed erpOnHand among the changes; null when none did. */
  readonly erpReportedAt: string | null;
}

/**
 * Writes positions in one statement, each only over an older copy: a state at or before the
 * sequence kept changes nothing. An ERP report time replaces the kept one only when later.
 */
export async function upsertPositions(tx: Prisma.TransactionClient, positions: readonly PositionState[]): Promise<void> {
  if (positions.length === 0) return;
  const rows = positions.map((p) => ({ sku: p.sku, location_id: p.locationId, wms_on_hand: p.wmsOnHand, erp_on_hand: p.erpOnHand, erp_reported_at: p.erpReportedAt, sequence: p.sequence }));
  await tx.$executeRaw`
    INSERT INTO reconciliation_position AS p (sku, location_id, wms_on_hand, erp_on_hand, erp_reported_at, sequence, updated_at)
    SELECT v.sku, v.location_id, v.wms_on_hand, v.erp_on_hand, v.erp_reported_at, v.sequence, now()
      FROM ${recordset(rows, 'v', { sku: 'text', location_id: 'text', wms_on_hand: 'int', erp_on_hand: 'int', erp_reported_at: 'timestamptz', sequence: 'bigint' })}
    ON CONFLICT (sku, location_id) DO UPDATE
       SET wms_on_hand = EXCLUDED.wms_on_hand, erp_on_hand = EXCLUDED.erp_on_hand, sequence = EXCLUDED.sequence,
           erp_reported_at = greatest(p.erp_reported_at, EXCLUDED.erp_reported_at), updated_at = now()
     WHERE p.sequence < EXCLUDED.sequence`;
}

/** Of `locationIds`, those no position is at (no stock was ever reported there). */
export async function unknownLocations(prisma: Prisma.TransactionClient, locationIds: readonly string[]): Promise<string[]> {
  if (locationIds.length === 0) return [];
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    SELECT wanted.id FROM unnest(${[...locationIds]}::text[]) AS wanted(id)
     WHERE NOT EXISTS (SELECT 1 FROM reconciliation_position p WHERE p.location_id = wanted.id)
     ORDER BY wanted.id`;
  return rows.map((row) => row.id);
}
