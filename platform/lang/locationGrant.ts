/**
 * The locations a caller may see and act on, as the gateway verified them (a client's
 * `locations`, a JWT's locations claim; CallerIdentity.locations): null for every location, a
 * list for a partner granted only those. Pure, for every layer, the domain's included: each
 * subgraph states its own rules (what an order or a transfer touches) with these, and the
 * gateway's subscriptions filter events with them.
 */
export type LocationGrant = readonly string[] | null;

/** Whether the grant covers `locationId`. */
export function grantsLocation(grant: LocationGrant, locationId: string): boolean {
  return grant === null || grant.includes(locationId);
}

/**
 * Whether something that touches `locationIds` (an order's lines, a transfer's two ends, an
 * event's locations) is the caller's to see: every one of them granted. Something that touches no
 * location belongs to no partner: only a caller granted every location sees it.
 */
export function grantsEveryLocation(grant: LocationGrant, locationIds: readonly string[]): boolean {
  if (grant === null) return true;
  return locationIds.length > 0 && locationIds.every((locationId) => grant.includes(locationId));
}

/** Those of `locationIds` outside the grant, each once, in the order given: what a FORBIDDEN refusal names. */
export function ungrantedLocations(grant: LocationGrant, locationIds: readonly (string | null | undefined)[]): string[] {
  if (grant === null) return [];
  return [...new Set(locationIds.filter((locationId): locationId is string => typeof locationId === 'string' && !grant.includes(locationId)))];
}

/**
 * The locations a request may consider: those it asks for (every location when it names none)
 * that the grant covers, in the order asked; null for every location.
 */
export function locationsWithinGrant(grant: LocationGrant, requested: readonly string[] | null | undefined): readonly string[] | null {
  if (!requested) return grant;
  return grant === null ? requested : requested.filter((locationId) => grant.includes(locationId));
}

/** The message of a refusal to act on `locationIds` (FORBIDDEN, with the ids in `extensions.locationIds`). */
export function locationsNotGrantedMessage(locationIds: readonly string[]): string {
  return `This caller is not granted location${locationIds.length === 1 ? '' : 's'} ${locationIds.join(', ')}`;
}
