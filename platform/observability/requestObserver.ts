import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { Counter, Histogram } from 'prom-client';
import type { Logger } from '../logger.ts';
import { BoundedLabel } from './boundedLabel.ts';
import { METRICS_PATH } from './metricsRoute.ts';
import type { ObservabilitySettings } from '../config/observabilityConfig.ts';
import type { ServiceMetrics } from './serviceMetrics.ts';

/** The client label of a request whose caller was never established (refused at the edge, unsigned). */
const ANONYMOUS_CLIENT = 'anonymous';
/** The operation label of a request that never reached a parsed, validated operation. */
const NO_OPERATION = 'none';
/** The operation label of a valid operation without a name. */
const UNNAMED_OPERATION = 'unnamed';

// Probes and scrapes come every few seconds from machines, not callers: counting or logging them
// would drown the requests worth seeing.
const UNOBSERVED_PATHS = new Set(['/healthz', '/readyz', METRICS_PATH]);

const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// How long an operation name may be in the access log: enough for any real one.
const LOGGED_NAME_LENGTH = 100;

/** One HTTP request as it is served: filled in by the HTTP server and Apollo Server's plugin, reported once when the response ends. */
export class RequestObservation {
  /** Who the request came from, once the service established it: the principal's name at the gateway, the verified caller in a subgraph; never a credential. */
  caller: string | null = null;
  /** The request's correlation id (see requestContext.ts). */
  correlationId: string | null = null;
  operationName: string | null = null;
  operationType: string | null = null;
  readonly errorCodes: string[] = [];
  private readonly startedAt = process.hrtime.bigint();

  constructor(
    readonly method: string,
    readonly path: string,
    private readonly report: (observation: RequestObservation, status: number, durationSeconds: number) => void,
  ) {}

  /** Records the `extensions.code` of each error the request is answered with. */
  failedWith(errors: readonly Pick<GraphQLFormattedError, 'extensions'>[]): void {
    for (const error of errors) {
      const code = error.extensions?.code;
      this.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
    }
  }

  /** Reports the request: called once, when its response has ended. */
  finish(status: number): void {
    this.report(this, status, Number(process.hrtime.bigint() - this.startedAt) / 1e9);
  }
}

/**
 * Observes every HTTP request of one service: request counts, a latency histogram and error
 * codes in its metrics, and one access-log line (unless ACCESS_LOG=off). The HTTP server starts
 * the observation (so that a request refused at the edge, 401, 403, 429, is seen too) and
 * `plugin` adds what only Apollo Server knows: the operation and its errors.
 *
 * Label values a caller chooses are bounded (BoundedLabel): the operation name is taken only once
 * Apollo Server has parsed and validated the document (so a random name in a broken request costs
 * nothing), and operation, client, path and code each keep at most a few dozen values before
 * `other`. A request whose caller was never established counts as `anonymous`.
 */
export class RequestObserver {
  private readonly observations = new WeakMap<object, RequestObservation>();
  private readonly labels = { path: new BoundedLabel(20), operation: new BoundedLabel(50), client: new BoundedLabel(50), code: new BoundedLabel(50) };
  private readonly requests: Counter<'path' | 'operation' | 'operation_type' | 'client' | 'status'>;
  private readonly duration: Histogram<'path' | 'operation' | 'operation_type' | 'client' | 'status'>;
  private readonly errors: Counter<'operation' | 'code'>;
  private readonly accessLog: Logger | null;

  constructor(readonly metrics: ServiceMetrics, readonly settings: ObservabilitySettings, logger: Logger) {
    const labelNames = ['path', 'operation', 'operation_type', 'client', 'status'] as const;
    const registers = [metrics.registry];
    this.requests = new Counter({ name: 'stockgraph_http_requests_total', help: 'HTTP requests answered, by path, GraphQL operation, client and HTTP status', labelNames, registers });
    this.duration = new Histogram({
      name: 'stockgraph_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its response, in seconds',
      labelNames,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.errors = new Counter({ name: 'stockgraph_graphql_errors_total', help: 'Errors answered to GraphQL requests, by operation and extensions.code', labelNames: ['operation', 'code'], registers });
    this.accessLog = settings.accessLog ? logger : null;
  }

  /** Starts observing a request; null for the paths of probes and scrapes, which are not observed. */
  start(request: IncomingMessage, path: string): RequestObservation | null {
    if (UNOBSERVED_PATHS.has(path)) return null;
    return new RequestObservation(request.method ?? 'GET', path, (observation, status, seconds) => this.report(observation, status, seconds));
  }

  /**
   * Ties the request handed to Apollo Server to its observation, so that `plugin` completes it.
   * By the request rather than the context: Apollo Server runs each operation on a copy of the context.
   */
  attach(graphQLRequest: HTTPGraphQLRequest, observation: RequestObservation): void {
    this.observations.set(graphQLRequest, observation);
  }

  /** Adds the operation and the error codes to the observation of the request run in the context attached to it. */
  readonly plugin: ApolloServerPlugin<BaseContext> = {
    requestDidStart: async ({ request }) => {
      const observation = request.http && this.observations.get(request.http);
      if (!observation) return; // run in process (executeOperation), not over HTTP
      return {
        didResolveOperation: async ({ operationName, operation }) => {
          observation.operationName = operationName ?? UNNAMED_OPERATION;
          observation.operationType = operation?.operation ?? null;
        },
        willSendResponse: async ({ response }) => {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          if (errors) observation.failedWith(errors);
        },
      };
    },
  };

  private report(observation: RequestObservation, status: number, durationSeconds: number): void {
    const operation = this.labels.operation.valueOf(observation.operationName ?? NO_OPERATION);
    const labels = {
      path: this.labels.path.valueOf(observation.path),
      operation,
      operation_type: observation.operationType ?? NO_OPERATION,
      client: this.labels.client.valueOf(observation.caller ?? ANONYMOUS_CLIENT),
      status: String(status),
    };
    this.requests.inc(labels);
    this.duration.observe(labels, durationSeconds);
    for (const code of observation.errorCodes) this.errors.inc({ operation, code: this.labels.code.valueOf(code) });
    // Names, codes and numbers only: never a header, a credential or the variables.
    this.accessLog?.info(
      {
        method: observation.method,
        path: observation.path,
        operation: observation.operationName?.slice(0, LOGGED_NAME_LENGTH) ?? null,
        operationType: observation.operationType,
        client: observation.caller ?? ANONYMOUS_CLIENT,
        status,
        durationMs: Math.round(durationSeconds * 1e4) / 10,
        correlationId: observation.correlationId,
        errorCodes: observation.errorCodes,
      },
      'request',
    );
  }
}
