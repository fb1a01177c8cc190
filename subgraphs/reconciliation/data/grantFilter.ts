import { Prisma } from '../../../platform/database/generated/client.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';

// What a caller granted only some locations (CallerIdentity.locations) sees and acts on in
// reconciliation: a row of one item x location (sync transaction, discrepancy, review task, alert,
// hold, and their events) when that location is granted; a run when every location it compared
// is (a run over every location, stored with none, compared others' stock too: the rule of
// grantsEveryLocation). Every statement that reads or locks those rows for a caller applies it, in
// the statement itself: a page is a full page of the caller's rows, and another location's row
// answers as an unknown id does. One rule, in the two forms the data layer writes: a Prisma
// `where` and an SQL condition.

/**
 * The Prisma condition on a row's `locationId`: the location the caller filters on, if any,
 * within the grant (a location outside it matches nothing); undefined for no condition.
 */
export function locationWithin(grant: LocationGrant, locationId?: string | null): { equals?: string; in?: string[] } | undefined {
  if (!locationId && grant === null) return undefined;
  return { ...(locationId ? { equals: locationId } : {}), ...(grant !== null ? { in: [...grant] } : {}) };
}

/** The columns a row's location is read from: a table's, under an alias or not, or an outbox record's payload. */
type LocationColumn = 'location_id' | 'd.location_id' | 'h.location_id' | "payload->>'locationId'";

/** locationWithin as an SQL condition on `column` (a constant of the caller's, never input). */
export function atGrantedLocation(grant: LocationGrant, column: LocationColumn): Prisma.Sql {
  return grant === null ? Prisma.sql`TRUE` : Prisma.sql`${Prisma.raw(column)} = ANY(${[...grant]}::text[])`;
}

/** The SQL condition on a reconciliation_run row: the caller sees it when it compared granted locations alone. */
export function runWithinGrant(grant: LocationGrant): Prisma.Sql {
  return grant === null ? Prisma.sql`TRUE` : Prisma.sql`(cardinality(location_ids) > 0 AND location_ids <@ ${[...grant]}::text[])`;
}
