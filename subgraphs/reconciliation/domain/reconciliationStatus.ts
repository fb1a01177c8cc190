/** What became of a discrepancy; see DiscrepancyStatus in schema.graphql. */
export type DiscrepancyStatus = 'OPEN' | 'AUTO_CORRECTED' | 'RESOLVED';

/** Where a transaction is on its way to the ERP; see SyncStatus in schema.graphql. */
export type SyncStatus = 'PENDING_SYNC' | 'SYNCED' | 'SYNC_FAILED';
