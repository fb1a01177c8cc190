import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import type { OpenDiscrepancy, PositionVariance } from '../domain/runPlan.ts';
import type { TierRule, VarianceTier } from '../domain/varianceTiers.ts';

/** What one comparison of a run's positions found. */
export interface Comparison {
  readonly positionsCompared: number;
  readonly matched: number;
  /** The positions that disagree, with the tier of each. */
  readonly variances: PositionVariance[];
  /** The OPEN discrepancies at the run's locations, as they stood when it compared. */
  readonly open: OpenDiscrepancy[];
}

/** The positions at `locationIds` (all when empty), as SQL condition on `alias`. */
export const atLocations = (alias: string, locationIds: readonly string[]) =>
  locationIds.length === 0 ? Prisma.sql`true` : Prisma.sql`${Prisma.raw(alias)}.location_id = ANY(${[...locationIds]}::text[])`;

/**
 * Compares every position at `locationIds` (all when empty) in one statement: in flight are the
 * sync transactions of its item x location the ERP's balance does not include yet (not SYNCED, or
 * synced after the ERP last reported), variance = WMS - (ERP + in flight). Only the positions that
 * disagree come back, each with the tier of the first rule of `rules` (in precedence order) that
 * matches it; the OPEN discrepancies at those locations come with them, in the same snapshot.
 */
export async function compareRunPositions(tx: Prisma.TransactionClient, locationIds: readonly string[], rules: readonly TierRule[]): Promise<Comparison> {
  const ruleRows = rules.map((rule) => ({
    precedence: rule.precedence,
    sku_pattern: rule.skuPattern,
    location_id: rule.locationId,
    auto_correct_below: rule.autoCorrectBelow,
    alert_above: rule.alertAbove,
    auto_correct_below_percent: rule.autoCorrectBelowPercent,
    alert_above_percent: rule.alertAbovePercent,
  }));
  // The tier is worked out for the disagreeing positions only (the aggregate's FILTER comes
  // before its argument), each against the few rules; the share is of WMS on hand, at least 1.
  const [found] = await tx.$queryRaw<{ compared: number; matched: number; variances: [string, string, number, number, number, number, VarianceTier][]; open: [string, string, string][] }[]>`
    WITH rule AS MATERIALIZED (
           SELECT * FROM ${recordset(ruleRows, 'r', {
             precedence: 'int', sku_pattern: 'text', location_id: 'text', auto_correct_below: 'int', alert_above: 'int',
             auto_correct_below_percent: 'numeric', alert_above_percent: 'numeric',
           })}),
         in_flight AS (
           SELECT t.sku, t.location_id, sum(t.quantity)::int AS quantity
             FROM sync_transaction t
             JOIN reconciliation_position p ON p.sku = t.sku AND p.location_id = t.location_id
            WHERE ${atLocations('p', locationIds)}
              AND (t.status <> 'SYNCED' OR t.synced_at > coalesce(p.erp_reported_at, '-infinity'))
            GROUP BY t.sku, t.location_id),
         compared AS (
           SELECT p.sku, p.location_id, p.wms_on_hand, p.erp_on_hand, coalesce(f.quantity, 0) AS in_flight,
                  p.wms_on_hand - p.erp_on_hand - coalesce(f.quantity, 0) AS variance
             FROM reconciliation_position p
             LEFT JOIN in_flight f ON f.sku = p.sku AND f.location_id = p.location_id
            WHERE ${atLocations('p', locationIds)})
    SELECT count(*)::int AS compared,
           (count(*) FILTER (WHERE c.variance = 0))::int AS matched,
           coalesce(json_agg(json_build_array(c.sku, c.location_id, c.wms_on_hand, c.erp_on_hand, c.in_flight, c.variance, (
             SELECT CASE
                      WHEN abs(c.variance) > r.alert_above OR abs(c.variance) * 100.0 / greatest(c.wms_on_hand, 1) > r.alert_above_percent THEN 'ALERT'
                      WHEN abs(c.variance) < r.auto_correct_below
                       AND (r.auto_correct_below_percent IS NULL OR abs(c.variance) * 100.0 / greatest(c.wms_on_hand, 1) < r.auto_correct_below_percent) THEN 'AUTO_CORRECT'
                      ELSE 'REVIEW'
                    END
               FROM rule r
              WHERE (r.location_id IS NULL OR r.location_id = c.location_id) AND (r.sku_pattern IS NULL OR c.sku ~ r.sku_pattern)
              ORDER BY r.precedence
              LIMIT 1))) FILTER (WHERE c.variance <> 0), '[]') AS variances,
           (SELECT coalesce(json_agg(json_build_array(d.id, d.sku, d.location_id)), '[]')
              FROM discrepancy d WHERE d.status = 'OPEN' AND ${atLocations('d', locationIds)}) AS open
      FROM compared c`;
  return {
    positionsCompared: found!.compared,
    matched: found!.matched,
    variances: found!.variances.map(([sku, locationId, wmsOnHand, erpOnHand, inFlight, variance, tier]) => ({ sku, locationId, wmsOnHand, erpOnHand, inFlight, variance, tier })),
    open: found!.open.map(([id, sku, locationId]) => ({ id, sku, locationId })),
  };
}
