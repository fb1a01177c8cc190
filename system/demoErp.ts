import { JobLease } from '../platform/concurrency/jobLease.ts';
import type { Database } from '../platform/database/database.ts';
import type { Environment } from '../platform/config/environment.ts';
import { startErpSimulator, type ErpSimulator } from '../simulators/erp/erpSimulator.ts';
import { ERP_BALANCE_PULL_JOB } from '../subgraphs/inventory/services/erpBalancePoller.ts';

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
 * compares what both report, as they would with Oracle Fusion. The simulator starts with what
 * inventory already holds as the ERP's, so inventory's first pull ever is one interval after
 * the start (ERP_PULL_INTERVAL_SECONDS), not a pull of every balance that changes nothing while
 * the demo's orders are placed; later starts pull when due, as always.
 */
export async function startDemoErp(db: Database, { host, port, pullIntervalSeconds }: { host: string; port: number; pullIntervalSeconds: number }): Promise<DemoErp> {
  const locations = await db.query<{ id: string }>('SELECT id FROM location ORDER BY id');
  const balances = await db.query<{ organization: string; sku: string; subinventory: string; lot: string; onHand: number; unit: string }>(`
    SELECT p.location_id AS organization, p.sku, p.subinventory, p.lot, p.on_hand_erp AS "onHand", i.unit_of_measure AS unit
      FROM stock_position p JOIN item i ON i.sku = p.sku
     ORDER BY p.location_id, p.sku, p.subinventory, p.lot`);
  await new JobLease(db.prisma, { job: ERP_BALANCE_PULL_JOB, holder: 'demo-erp', intervalMs: pullIntervalSeconds * 1_000, leaseMs: 60_000 }).deferFirstRun();
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
