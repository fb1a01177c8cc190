import { grantsEveryLocation, grantsLocation, type LocationGrant } from '../../../platform/lang/locationGrant.ts';

/**
 * What a caller granted some locations sees of reconciliation: a record (discrepancy, task,
 * alert, hold, sync transaction) of a granted location, and a run over granted locations only (a
 * run over every location, stored with none, compares other partners' stock too).
 */
export const seesRecord = (grant: LocationGrant, record: { readonly locationId: string }): boolean => grantsLocation(grant, record.locationId);

export const seesRun = (grant: LocationGrant, run: { readonly locationIds: readonly string[] }): boolean => grantsEveryLocation(grant, run.locationIds);
