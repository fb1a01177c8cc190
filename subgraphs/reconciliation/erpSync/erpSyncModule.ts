import { inventoryTransactionRecorded } from '../../../platform/contracts/events.ts';
import type { ReconciliationModule, ReconciliationModuleEnvironment } from '../reconciliationModule.ts';
import { ErpConnector } from './erpConnector.ts';
import { readErpSyncConfig } from './erpSyncConfig.ts';
import { StagedTransactionsClient } from './stagedTransactionsClient.ts';
import { syncResolvers, syncTransactionLoader, type ErpSyncContext } from './syncResolvers.ts';
import { planSyncTransactions, type InventoryTransaction } from './syncPlan.ts';
import { insertSyncTransactions, SyncTransactionStore } from './syncTransactionStore.ts';

export type { ErpSyncContext };

/**
 * The ERP sync ledger: every inventory transaction enters it exactly once (the subgraph's
 * consumer of inventory's stream plans its rows and writes them with its cursor), and its
 * connector posts them to the ERP; reconciliation adds its adjustments as rows of its own. The
 * connector runs on every replica when ERP_BASE_URL is set; without it the ledger only records.
 */
export function createErpSyncLedger({ db, env, logger, publishNow, metrics }: ReconciliationModuleEnvironment): ReconciliationModule<ErpSyncContext> {
  const config = readErpSyncConfig(env);
  const store = new SyncTransactionStore(db.prisma);
  metrics.watchSyncBacklog(store);
  const connector = config.erp && new ErpConnector(
    store,
    new StagedTransactionsClient({ baseUrl: config.erp.baseUrl, auth: config.erp.auth, timeoutMs: config.timeoutMs, connections: config.concurrency }),
    { ...config, locationOrganizations: config.erp.locationOrganizations, logger, onFailed: (count) => {
      metrics.syncFailed(count);
      publishNow();
    } },
  );
  if (!connector) logger.warn('ERP_BASE_URL is not set: inventory transactions are recorded in the ERP sync ledger, and none is posted to the ERP');
  return {
    resolvers: syncResolvers,
    context: ({ caller, locations: grant }) => ({
      erpSync: {
        syncTransactionById: syncTransactionLoader(store, grant),
        store,
        caller,
        grant,
        erpCircuitOpen: () => connector?.circuitOpen ?? false,
        afterRedrive: () => {
          publishNow();
          connector?.wake();
        },
      },
    }),
    workers: connector ? [connector] : [],
    inventoryEvents: {
      contracts: [inventoryTransactionRecorded],
      apply: async (tx, events) => {
        await insertSyncTransactions(tx, events.flatMap((event) => planSyncTransactions(event.payload as InventoryTransaction)));
      },
      onCommitted: () => connector?.wake(),
    },
  };
}
