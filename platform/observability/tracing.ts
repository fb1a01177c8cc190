import {
  context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Link, type Span, type SpanContext, type TextMapGetter, type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { readEnvironment, variable, type Environment } from '../config/environment.ts';

/** Stockgraph's own spans (@apollo/gateway names its tracer `@apollo/gateway`). */
export const tracer = trace.getTracer('stockgraph');

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to `<it>/v1/traces`. No export when unset. */
  readonly otlpEndpoint?: string;
  /** OTEL_SERVICE_NAME: the `service.name` of this process's spans; the service's own name by default. */
  readonly serviceName?: string;
}

/** Reads the standard OpenTelemetry variables Stockgraph honours (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME). */
export function readTracingConfig(env: Environment): TracingConfig {
  const values = readEnvironment({
    OTEL_EXPORTER_OTLP_ENDPOINT: variable.url(['http:', 'https:']).optional(),
    OTEL_SERVICE_NAME: variable.text('').optional(),
  }, env);
  return Object.freeze({ otlpEndpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: values.OTEL_SERVICE_NAME || undefined });
}

export interface Tracing {
  /** Sends the spans still buffered, then stops recording. */
  shutdown(): Promise<void>;
}

/**
 * Sets up tracing once per process. With an OTLP endpoint configured (or span processors given,
 * as tests do with an InMemorySpanExporter), a tracer provider is registered globally: our spans,
 * @apollo/gateway's `gateway.*` spans (it traces through @opentelemetry/api once a provider
 * exists) and W3C trace context on every subgraph fetch. Without either, nothing is registered:
 * @opentelemetry/api hands out non-recording spans, and a request costs a few no-op calls.
 */
export function startTracing(config: TracingConfig, { defaultServiceName, spanProcessors = [] }: { defaultServiceName: string; spanProcessors?: readonly SpanProcessor[] }): Tracing {
  const processors = [...spanProcessors];
  if (config.otlpEndpoint) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL('v1/traces', withTrailingSlash(config.otlpEndpoint)).href })));
  if (processors.length === 0) return { shutdown: async () => {} };
  const provider = new NodeTracerProvider({
    resource: new Resource({ [ATTR_SERVICE_NAME]: config.serviceName || defaultServiceName }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { shutdown: () => provider.shutdown() };
}

const withTrailingSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/**
 * Runs `work` in a new active span named `name`, ended when it settles; an error it throws is
 * recorded on the span and thrown again.
 */
export function inSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes; links?: Link[] }, work: (span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The span under way, when a trace is being recorded here; undefined outside one, and always when tracing is off. */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  get: (headers, key) => headers[key],
  keys: (headers) => Object.keys(headers),
};

/** The trace context an incoming request carries (W3C `traceparent`), for its server span to join; the current context when tracing is off. */
export function incomingTraceContext(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers, headerGetter);
}

/** Sets the W3C trace context headers of the active span (`traceparent`, `tracestate`) on an outgoing request's headers; none when tracing is off. */
export function injectTraceHeaders(headers: { set(name: string, value: string): unknown }): void {
  propagation.inject(context.active(), headers, headerSetter);
}

const headerSetter: TextMapSetter<{ set(name: string, value: string): unknown }> = { set: (headers, key, value) => void headers.set(key, value) };

/** The W3C trace context headers of the active span, as a record; empty when tracing is off. */
export function outgoingTraceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** `traceparent` of the active span, to store with work done later (an outbox record); null when tracing is off. */
export function currentTraceparent(): string | null {
  return outgoingTraceHeaders().traceparent ?? null;
}

// Parsing and validating traceparent is the library's (W3C Trace Context, level 1): used as a
// parser only, so that it works whether or not a tracer provider is registered.
const traceContextParser = new W3CTraceContextPropagator();

/** The span context a W3C `traceparent` names; null when it is malformed or names the invalid all-zero trace. */
export function spanContextOf(traceparent: string): SpanContext | null {
  const spanContext = trace.getSpanContext(traceContextParser.extract(ROOT_CONTEXT, { traceparent }, headerGetter));
  return spanContext && isSpanContextValid(spanContext) ? spanContext : null;
}

/** A link to the span a stored `traceparent` names (as currentTraceparent wrote it); null for anything else. */
export function linkTo(traceparent: string | null): Link | null {
  const spanContext = traceparent === null ? null : spanContextOf(traceparent);
  return spanContext ? { context: spanContext } : null;
}

export { SpanKind };
