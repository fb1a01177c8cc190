import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { spanContextOf } from './tracing.ts';

/**
 * What every log line, outbox record and answer of one unit of work shares: an HTTP request, or
 * a background job handling one event. Mutable only while the request is admitted, when the
 * subgraph learns the gateway's id from the signed identity.
 */
export interface RequestContext {
  correlationId: string;
  /** Who the request acts for once verified (a subgraph's signed identity), for audit lines; never a secret. */
  caller?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` with `context` as the current request context (for everything it awaits, too). */
export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The correlation id of the unit of work under way; undefined outside one (startup, idle loops). */
export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/** The current request context, to update once the request's id is known; undefined outside one. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export const newCorrelationId = (): string => randomUUID();

// An id we accept from a caller is echoed in headers and written to logs: letters, digits and
// `._:-` only, so that it can carry neither a header break nor a log injection.
const PRESENTED_ID = /^[\w.:-]{1,100}$/;

/**
 * The correlation id a request presents: the trace id of a valid W3C `traceparent`, else a
 * well-formed `x-request-id`, else a well-formed `x-correlation-id`; undefined when none is (a
 * malformed header is ignored, never echoed).
 */
export function presentedCorrelationId(headers: IncomingHttpHeaders): string | undefined {
  const { traceparent } = headers;
  const traced = typeof traceparent === 'string' ? spanContextOf(traceparent) : null;
  if (traced) return traced.traceId;
  for (const name of ['x-request-id', 'x-correlation-id'] as const) {
    const value = headers[name];
    if (typeof value === 'string' && PRESENTED_ID.test(value)) return value;
  }
  return undefined;
}

/**
 * Runs a background job's `work` on `events` as part of what caused them: in the context of
 * their correlation id when they share one (one request's events, or one event), so that its log
 * lines and the events it writes carry it; outside any request context otherwise.
 */
export function runForEvents<T>(events: readonly { readonly correlationId: string | null }[], work: () => T): T {
  const correlationId = events[0]?.correlationId;
  if (correlationId == null || events.some((event) => event.correlationId !== correlationId)) return storage.exit(work);
  return storage.run({ correlationId }, work);
}
