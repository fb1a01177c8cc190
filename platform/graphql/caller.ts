import type { IncomingMessage } from 'node:http';

/**
 * The header in which the gateway names the caller of an operation to a subgraph (its
 * principal's id, never a secret), so that what a subgraph records (an order's timeline) says
 * who acted. Only the gateway may set it: a subgraph trusts whoever reaches it.
 */
export const CALLER_HEADER = 'x-stockgraph-caller';

/** Who the gateway says is calling; `anonymous` when it says nothing. */
export function callerOf(request: IncomingMessage): string {
  const caller = request.headers[CALLER_HEADER];
  return typeof caller === 'string' && caller.trim() !== '' ? caller.trim().slice(0, 200) : 'anonymous';
}
