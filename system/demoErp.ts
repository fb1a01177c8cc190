import type { Database } from '../platform/database/database.ts';
import type { Environment } from '../platform/config/environment.ts';
import { startErpSimulator, type ErpSimulator } from '../simulators/erp/erpSimulator.ts';

/** The simulated ERP's organization code for a Stockgraph location: DC-01 -> DC01. */
const organizationOf = (locationId: string) => locationId.replace(/[^A-Za-z0-9]/g, '');

export interface DemoErp {
  readonly simulator: ErpSimulator;
  /** The variables that point inventory's balance pull and reconciliation's connector at it. */
  readonly env: Environment;
}

/**
 * The embedded system's ERP: the shipped simulator, started with the balances the ERP holds
 * (what the demo data says the ERP has on hand, position by position), one organization per
 * location. Inventory pulls its balances, the sync ledger posts to it, and reconciliation
 * compares what both report, as they would with Oracle Fusion.
 */
export async function startDemoErp(db: Database, { host, port, pullIntervalSeconds }: { host: string; port: number; pullIntervalSeconds: number }): Promise<DemoErp> {
  const locations = await db.query<{ id: string }>('SELECT id FROM location ORDER BY id');
  const balances = await db.query<{ organization: string; sku: string; subinventory: string; lot: string; onHand: number; unit: string }>(`
    SELECT p.location_id AS organization, p.sku, p.subinventory, p.lot, p.on_hand_erp AS "onHand", i.unit_of_measure AS unit
      FROM stock_position p JOIN item i ON i.sku = p.sku
     ORDER BY p.location_id, p.sku, p.subinventory, p.lot`);
  const simulator = await startErpSimulator({
    host,
    port,
    balances: balances.map((balance) => ({
      OrganizationCode: organizationOf(balance.organization),
      ItemNumber: balance.sku,
      SubinventoryCode: balance.subinventory,
      LotNumber: balance.lot || null,
      PrimaryQuantity: balance.onHand,
      PrimaryUOMCode: balance.unit,
    })),
  });
  return {
    simulator,
    env: {
      ERP_BASE_URL: simulator.baseUrl,
      ERP_ORGANIZATIONS: locations.map(({ id }) => `${organizationOf(id)}=${id}`).join(','),
      ERP_PULL_INTERVAL_SECONDS: String(pullIntervalSeconds),
    },
  };
}
