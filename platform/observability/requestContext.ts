import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { outgoingTraceHeaders, spanContextOf } from './tracing.ts';

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

/** The header that carries a correlation id: on answers, and on calls between Stockgraph services (README: Correlation, tracing and audit). */
export const REQUEST_ID_HEADER = 'x-request-id';

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
 * Runs `work` done at once for several causes (a consumer's batch of events, a batch of
 * requests run together) as part of them: in the context of their correlation id when they share
 * one, so that its log lines and the events it writes carry it; outside any request context when
 * they differ, rather than under one cause's id for all.
 */
export function runOnBehalfOf<T>(causes: readonly { readonly correlationId: string | null }[], work: () => T): T {
  const correlationId = causes[0]?.correlationId;
  if (correlationId == null || causes.some((cause) => cause.correlationId !== correlationId)) return storage.exit(work);
  return storage.run({ correlationId }, work);
}

/**
 * The headers that carry the current correlation id and trace context to another Stockgraph
 * service called over HTTP (x-request-id, traceparent), so that its work is part of this one's.
 */
export function correlationHeaders(): Record<string, string> {
  const correlationId = currentCorrelationId();
  const headers = outgoingTraceHeaders();
  if (correlationId !== undefined) headers[REQUEST_ID_HEADER] = correlationId;
  return headers;
}
