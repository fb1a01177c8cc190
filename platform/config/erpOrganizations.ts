import { z } from 'zod';
import { ConfigurationError } from './environment.ts';

/** ERP_ORGANIZATIONS as readEnvironment takes it: `ORG1=DC-01,ORG2=DC-02`, ERP organization code = Stockgraph location id. */
export const erpOrganizationPairs = z
  .string()
  .regex(/^[^=,\s]+=[^=,\s]+(,[^=,\s]+=[^=,\s]+)*$/, 'must look like ORG1=DC-01,ORG2=DC-02');

/** Which ERP organization each Stockgraph location is, both ways round. */
export interface ErpOrganizations {
  /** ERP organization code -> Stockgraph location id: where a balance the ERP reports belongs. */
  readonly organizationLocations: Readonly<Record<string, string>>;
  /** Stockgraph location id -> ERP organization code: where a transaction is posted. */
  readonly locationOrganizations: ReadonlyMap<string, string>;
}

/**
 * Reads the value of ERP_ORGANIZATIONS (as erpOrganizationPairs checked it): one location per
 * organization and one organization per location, or a ConfigurationError naming the variable.
 */
export function readErpOrganizations(pairs: string): ErpOrganizations {
  const organizationLocations: Record<string, string> = {};
  const locationOrganizations = new Map<string, string>();
  for (const pair of pairs.split(',')) {
    const [organization, locationId] = pair.split('=') as [string, string];
    if (Object.hasOwn(organizationLocations, organization)) throw new ConfigurationError('ERP_ORGANIZATIONS', `names organization ${organization} twice`);
    // A transaction at such a location could not say which organization it happened in.
    const other = locationOrganizations.get(locationId);
    if (other !== undefined) throw new ConfigurationError('ERP_ORGANIZATIONS', `maps location ${locationId} to two organizations, ${other} and ${organization}`);
    organizationLocations[organization] = locationId;
    locationOrganizations.set(locationId, organization);
  }
  return Object.freeze({ organizationLocations: Object.freeze(organizationLocations), locationOrganizations });
}
