import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';

/**
 * A list's `locationId` condition: the location the caller filters on, within the locations it
 * is granted (both, when it gives both: a location outside the grant matches nothing). Every
 * list of the subgraph (discrepancies, tasks, alerts, holds, sync transactions) filters with it
 * in SQL, so that a partner's pages are full pages of its own locations.
 */
export function locationWithin(locationId: string | null | undefined, grant: LocationGrant): { equals?: string; in?: string[] } | undefined {
  if (!locationId && grant === null) return undefined;
  return { ...(locationId ? { equals: locationId } : {}), ...(grant !== null ? { in: [...grant] } : {}) };
}
