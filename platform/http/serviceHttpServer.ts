import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { RequestObservation, RequestObserver } from '../observability/requestObserver.ts';
import { applyCors, type CorsPolicy } from './cors.ts';
import { newCorrelationId, presentedCorrelationId, REQUEST_ID_HEADER, runInRequestContext, type RequestContext } from '../observability/requestContext.ts';
import { incomingTraceContext, inSpan, outgoingTraceHeaders, SpanKind } from '../observability/tracing.ts';

/** A named dependency check for /readyz: resolves when the dependency is reachable. */
export type ReadinessCheck = readonly [name: string, check: () => Promise<void>];

/** An HTTP endpoint beside GraphQL (e.g. event ingestion); `path` is matched against the URL path. */
export interface HttpRoute {
  readonly method: string;
  readonly path: RegExp;
  handle(request: IncomingMessage, response: ServerResponse, match: RegExpMatchArray): Promise<void>;
}

/** A GraphQL request let through to Apollo Server: its context, and the request (which the gateway's edge may rewrite: a persisted query's id for its text). */
export interface Admission<Context> {
  readonly context: Context;
  readonly request: HTTPGraphQLRequest;
  /** The request's correlation id when admission knows better than its headers (a subgraph: the one the gateway signed). */
  readonly correlationId?: string;
  /** Who the request acts for, when admission verified it (RequestContext.caller). */
  readonly caller?: string;
}

/**
 * Decides whether a GraphQL request reaches Apollo Server. Throwing a GraphQLError refuses it:
 * the answer carries the error, with the status and headers of its `extensions.http`.
 */
export type Admit<Context> = (request: IncomingMessage, graphQLRequest: HTTPGraphQLRequest) => Promise<Admission<Context>>;

export interface ServiceHttpServerOptions<Context extends BaseContext> {
  /** How the service names itself on its spans (`stockgraph.service`). */
  readonly name: string;
  readonly apollo: ApolloServer<Context>;
  readonly admit: Admit<Context>;
  /** Which browser origins may call GraphQL; none when absent. */
  readonly cors?: CorsPolicy;
  /** The checks, or where to find them as they stand at each /readyz (a gateway's subgraphs change with its supergraph). */
  readonly readinessChecks: readonly ReadinessCheck[] | (() => readonly ReadinessCheck[]);
  readonly routes?: readonly HttpRoute[];
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes?: number;
  /** How long a readiness check may take before it counts as failed, in milliseconds. */
  readonly readinessTimeoutMs?: number;
  /** The bytes to send for a GraphQL answer as Apollo Server printed it; by default, its UTF-8. */
  readonly responseBody?: (printed: string) => Buffer;
  /** Counts, times and logs each request (see RequestObserver). */
  readonly observer?: RequestObserver;
}

/** A started service. */
export interface RunningService {
  /** Base URL the service listens on; GraphQL is at `${url}/graphql`. */
  readonly url: string;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

/**
 * The HTTP front of every Stockgraph service: GraphQL on /graphql (Apollo Server's integration
 * contract, `executeHTTPGraphQLRequest`), liveness on /healthz and dependency readiness on
 * /readyz. A plain Node server, so that the gateway can also upgrade it to WebSockets.
 * Each request is a server span (joining the caller's W3C trace context) and a request context
 * whose correlation id (presentedCorrelationId, else the trace id, else a new one) every log
 * line and outbox record written for it carries; the answer returns it in `x-request-id`, and
 * the span in `traceresponse` (W3C Trace Context level 2) when tracing is on.
 */
export function createServiceHttpServer<Context extends BaseContext>({
  name: serviceName,
  apollo,
  admit,
  cors,
  readinessChecks,
  routes = [],
  maxBodyBytes = 4 * 1024 * 1024, // 4 MiB
  readinessTimeoutMs = 2_000, // 2 seconds
  responseBody = (printed) => Buffer.from(printed),
  observer,
}: ServiceHttpServerOptions<Context>): Server {
  const serveGraphQL = async (request: IncomingMessage, response: ServerResponse, url: URL, requestContext: RequestContext, observation: RequestObservation | null) => {
    const body = request.method === 'POST' ? await readJsonBody(request, maxBodyBytes) : undefined;
    if (body instanceof RequestBodyError) {
      observation?.failedWith([{ extensions: { code: body.code } }]);
      return sendJson(response, body.status, { errors: [{ message: body.message, extensions: { code: body.code } }] });
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let admission: Admission<Context>;
    try {
      admission = await admit(request, { method: request.method ?? 'GET', headers, search: url.search, body });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      observation?.failedWith([error]);
      return sendRefusal(response, error);
    }
    requestContext.caller = admission.caller;
    if (admission.correlationId !== undefined && admission.correlationId !== requestContext.correlationId) {
      requestContext.correlationId = admission.correlationId;
      response.setHeader(REQUEST_ID_HEADER, admission.correlationId);
    }
    if (observation) {
      observation.caller = admission.caller ?? null;
      observation.correlationId = requestContext.correlationId;
      observer!.attach(admission.request, observation);
    }
    const result = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: admission.request, context: async () => admission.context });
    response.statusCode = result.status ?? 200;
    for (const [name, value] of result.headers) response.setHeader(name, value);
    // Sent as bytes: handed the text, Node measures its length in bytes and then encodes it
    // anyway, two passes over answers that reach a megabyte.
    if (result.body.kind === 'complete') return void response.end(responseBody(result.body.string));
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };

  const serveReadiness = async (response: ServerResponse) => {
    const checks = typeof readinessChecks === 'function' ? readinessChecks() : readinessChecks;
    const results = await Promise.all(
      checks.map(async ([name, check]) => [name, await settle(check, readinessTimeoutMs)] as const),
    );
    const ready = results.every(([, outcome]) => outcome === 'ok');
    sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const observation = observer?.start(request, url.pathname) ?? null;
    if (observation) response.once('close', () => observation.finish(response.statusCode));
    const handle = async (requestContext: RequestContext) => {
      if (observation) observation.correlationId = requestContext.correlationId;
      if (url.pathname === GRAPHQL_PATH) {
        if (cors && applyCors(cors, request, response) === 'answered') return;
        return serveGraphQL(request, response, url, requestContext, observation);
      }
      if (url.pathname === '/healthz' && request.method === 'GET') return sendJson(response, 200, { status: 'ok' });
      if (url.pathname === '/readyz' && request.method === 'GET') return serveReadiness(response);
      const allowed: string[] = [];
      for (const route of routes) {
        const match = url.pathname.match(route.path);
        if (match && request.method === route.method) return route.handle(request, response, match);
        if (match) allowed.push(route.method);
      }
      if (allowed.length > 0) {
        response.setHeader('allow', allowed.join(', '));
        return sendJson(response, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${url.pathname} takes ${allowed.join(' or ')}, not ${request.method}` } });
      }
      sendJson(response, 404, { error: { code: 'NOT_FOUND', message: `Nothing is served at ${url.pathname}` } });
    };
    const attributes = { 'http.request.method': request.method ?? 'GET', 'url.path': url.pathname, 'stockgraph.service': serviceName };
    inSpan(`${request.method} ${url.pathname}`, { kind: SpanKind.SERVER, attributes }, (span) => {
      const { traceId } = span.spanContext();
      const requestContext: RequestContext = { correlationId: presentedCorrelationId(request.headers) ?? (span.isRecording() ? traceId : newCorrelationId()) };
      response.setHeader(REQUEST_ID_HEADER, requestContext.correlationId);
      const { traceparent } = outgoingTraceHeaders();
      if (traceparent) response.setHeader('traceresponse', traceparent);
      return runInRequestContext(requestContext, async () => {
        await handle(requestContext);
        span.setAttribute('http.response.status_code', response.statusCode);
      });
    }, incomingTraceContext(request.headers)).catch(() => {
      // Apollo already turns resolver failures into GraphQL errors; reaching here means the
      // connection itself broke, so there may be nobody left to answer.
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
      else response.destroy();
    });
  });
  // Keep idle connections open longer than callers keep them in their pools (the gateway's
  // agent, load balancers: typically up to 60 s). With Node's 5 s default, a caller may send a
  // request on a connection the server is closing, and get "socket hang up".
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** Starts listening and returns the base URL actually bound (port 0 picks a free port). */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${address.port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export class RequestBodyError {
  constructor(readonly status: number, readonly code: string, readonly message: string) {}
}

/**
 * The raw request body, or a RequestBodyError when it exceeds `maxBodyBytes`. An oversize
 * body is still drained (not stored), so that the client reads the 413 instead of a reset.
 */
export async function readBody(request: IncomingMessage, maxBodyBytes: number): Promise<Buffer | RequestBodyError> {
  const tooLarge = new RequestBodyError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBodyBytes} bytes`);
  if (Number(request.headers['content-length'] ?? 0) > maxBodyBytes) {
    request.resume();
    return tooLarge;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBodyBytes) chunks.push(chunk);
  }
  return size > maxBodyBytes ? tooLarge : Buffer.concat(chunks);
}

async function readJsonBody(request: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  const body = await readBody(request, maxBodyBytes);
  if (body instanceof RequestBodyError || body.length === 0) return body instanceof RequestBodyError ? body : undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return new RequestBodyError(400, 'BAD_REQUEST', 'Request body is not valid JSON');
  }
}

async function settle(check: () => Promise<void>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok'), timeout]);
  } catch (error) {
    return (error as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** A GraphQL answer carrying only `error`, with the status and headers its `extensions.http` asks for. */
function sendRefusal(response: ServerResponse, error: GraphQLError): void {
  const { http, ...extensions } = error.extensions as { http?: { status?: number; headers?: Iterable<[string, string]> } };
  for (const [name, value] of http?.headers ?? []) response.setHeader(name, value);
  sendJson(response, http?.status ?? 400, { errors: [{ message: error.message, extensions }] });
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
