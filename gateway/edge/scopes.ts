/**
 * The scopes a client, a JWT or ANONYMOUS_SCOPES may grant. Each subgraph's SDL names the one
 * a field needs with Federation's `@requiresScopes`; the gateway enforces them (see
 * operationAccess.ts). A scope outside this list is refused wherever it is configured.
 */
export const GRANTABLE_SCOPES = Object.freeze({
  'inventory:read': 'items, locations, stock levels, availability, reservations and transfers; stock-change and reservation-change subscriptions',
  'reservations:write': 'create, extend, confirm and release reservations',
  'transfers:write': 'create and receive transfers',
  'planning:write': 'set and clear safety stock, per stock level and in bulk',
  'events:write': 'see and replay dead-lettered warehouse events',
  'orders:read': 'orders, their confirmations and status-change subscriptions',
  'orders:write': 'place, release and cancel orders; request and inspect returns',
  'reconciliation:read': 'ERP sync transactions, reconciliation runs, discrepancies, tasks, alerts and holds; their subscriptions',
  'reconciliation:admin': 'start runs, decide and assign tasks, acknowledge and resolve alerts, release holds, redrive sync transactions',
} as const);

export type GrantableScope = keyof typeof GRANTABLE_SCOPES;
export const GRANTABLE_SCOPE_NAMES = Object.freeze(Object.keys(GRANTABLE_SCOPES)) as readonly GrantableScope[];

/** Scopes that only read: the ones ANONYMOUS_SCOPES may grant (anonymous callers never mutate). */
export const READ_SCOPES: readonly GrantableScope[] = ['inventory:read', 'orders:read', 'reconciliation:read'];

/**
 * Held by the gateway alone, for the lookups that resolve subscription events
 * (`stockChanges(ids)` and its kind): events are filtered by subscriber before they are looked up,
 * so these fields would let a client read around that filter. Never grantable.
 */
export const GATEWAY_EVENTS_SCOPE = 'gateway:events';
