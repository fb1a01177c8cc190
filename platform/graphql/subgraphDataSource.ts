import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { Pool } from 'undici';
import { CACHEABLE_HEADER, INVALIDATES_HEADER } from './entityCacheHints.ts';
import type { SubgraphAnswerCache } from './subgraphAnswerCache.ts';
import { failedFetchAnswer, SubgraphStatusError } from './subgraphFailures.ts';
import { holdsDataAlone, UnparsedData } from './unparsedAnswers.ts';

// @apollo/gateway's bound for a request's context.
type AnyContext = Record<string, any>;
/** The fetches of a request's operation: the only ones the gateway sends (it runs no subgraph health checks and loads no schema from subgraphs). */
type OperationFetch<Context extends AnyContext> = Extract<GraphQLDataSourceProcessOptions<Context>, { incomingRequestContext: unknown }>;

/** How a subgraph fetch ended: answered with data alone, answered with GraphQL errors, or no usable answer (network, HTTP status, body). */
export type FetchOutcome = 'ok' | 'errors' | 'failed';

export interface SubgraphDataSourceOptions<Context extends AnyContext> {
  /** The subgraph's GraphQL endpoint. */
  readonly url: string;
  /** How long the subgraph may take to start answering a fetch, and then between the parts of its answer, in milliseconds. */
  readonly timeoutMs: number;
  /** What a fetch made for a request with `context` carries besides its content type: the caller's identity, the trace context. */
  readonly headers: (context: Context) => Record<string, string>;
  /**
   * Everything in `context` that the subgraph's answer to a query depends on (the caller's scopes
   * and locations). Queries in flight with the same text and variables, fetched for requests whose
   * `sharedBy` is the same, share one fetch and its answer. Without it no fetch is shared.
   */
  readonly sharedBy?: (context: Context) => string;
  /** Called as a fetch is sent; the function it returns, as its answer has come (or not). */
  readonly fetchStarted?: () => (outcome: FetchOutcome) => void;
  /** Called for each request served by a fetch already in flight for another. */
  readonly fetchShared?: () => void;
  /**
   * Where query answers the subgraph marks cacheable are kept, by the same key as fetches are
   * shared (so `sharedBy` is required for it), and where a mutation's answer drops what it
   * changed before it is handed on. Shared by the data sources of every subgraph.
   */
  readonly answerCache?: SubgraphAnswerCache;
  /** Whether a query fetched for `context` is looked up in `answerCache` and kept there; every query is, without it. */
  readonly usesAnswerCache?: (context: Context) => boolean;
}

/** A subgraph's answer as it came: each request that shares it reads its own copy of the data from `body`. */
interface SubgraphAnswer {
  readonly status: number;
  readonly json: boolean;
  readonly body: Buffer;
  /** The entity cache's headers (see entityCacheHints.ts), as the subgraph sent them. */
  readonly cacheable?: string | string[];
  readonly invalidates?: string | string[];
}

/**
 * The gateway's fetches to one subgraph, for @apollo/gateway's query plans (process) and the
 * single-fetch fast path (processUnparsed), over kept-alive connections of an undici pool.
 *
 * Written against the GraphQLDataSource interface rather than on RemoteGraphQLDataSource: that one
 * builds a node-fetch Request and Headers for every fetch and sends it through a WHATWG fetch,
 * whose streams, body copies and abort signals were the largest part of the gateway's CPU, profiled on a query
 * across three subgraphs (see BENCHMARKS.md, gateways). What it did that we need, we do: the
 * request body, a non-2xx answer as an error with its status and body, JSON parsing.
 *
 * Identical queries in flight share a fetch (see `sharedBy`); mutations never do. A failed fetch
 * comes back as the subgraph errors it stands for (failedFetchAnswer).
 */
export class SubgraphDataSource<Context extends AnyContext = AnyContext> implements GraphQLDataSource<Context> {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly inFlight = new Map<string, Promise<SubgraphAnswer>>();

  constructor(readonly serviceName: string, private readonly options: SubgraphDataSourceOptions<Context>) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    this.path = `${url.pathname}${url.search}`;
  }

  process(options: GraphQLDataSourceProcessOptions<Context>): Promise<GatewayGraphQLResponse> {
    if (!('incomingRequestContext' in options)) throw new TypeError(`SubgraphDataSource fetches a request's operations only, not a "${options.kind}"`);
    return this.fetch(options, false);
  }

  /**
   * As process(), except that an answer holding data alone (no errors, no extensions) comes back
   * with its data as UnparsedData; any other answer is parsed as usual.
   */
  processUnparsed(options: OperationFetch<Context>): Promise<GatewayGraphQLResponse> {
    return this.fetch(options, true);
  }

  /** Closes the connections once the fetches under way have been answered. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private async fetch(options: OperationFetch<Context>, unparsed: boolean): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName, extensions: request.extensions });
    let answer: SubgraphAnswer;
    try {
      answer = await this.answer(body, options);
      if (answer.status < 200 || answer.status >= 300) throw new SubgraphStatusError(answer.status, answer.json ? parseJson(answer.body) : answer.body.toString('utf8'));
    } catch (error) {
      const failed = failedFetchAnswer(error, this.serviceName, request);
      if (!failed) throw error;
      return failed;
    }
    if (!answer.json) throw new Error(`The ${this.serviceName} subgraph answered ${answer.status} without JSON`);
    // UnparsedData stands in for the data: the fast path and the AnswerPrinter know it.
    if (unparsed && holdsDataAlone(answer.body)) return { data: new UnparsedData(answer.body) as unknown as Record<string, unknown> };
    return parseJson(answer.body) as GatewayGraphQLResponse;
  }

  private answer(body: string, options: OperationFetch<Context>): Promise<SubgraphAnswer> {
    const { sharedBy, fetchShared, usesAnswerCache } = this.options;
    if (!isQuery(options.request.query)) return this.options.answerCache ? this.mutationExchange(body, options, this.options.answerCache) : this.exchange(body, options);
    if (!sharedBy) return this.exchange(body, options);
    const answerCache = usesAnswerCache?.(options.context) === false ? undefined : this.options.answerCache;
    const key = `${sharedBy(options.context)}\n${body}`;
    // One cache for every subgraph: the same query text may go to two of them.
    const cacheKey = `${this.serviceName}\n${key}`;
    const kept = answerCache?.lookup(this.serviceName, cacheKey);
    if (kept) return Promise.resolve(kept);
    const inFlight = this.inFlight.get(key);
    if (inFlight) {
      fetchShared?.();
      return inFlight;
    }
    const answered = (answerCache ? this.keptExchange(cacheKey, body, options, answerCache) : this.exchange(body, options)).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, answered);
    return answered;
  }

  /** A query's fetch whose answer `cache` keeps when the subgraph marked it cacheable and it holds data alone (no errors, no extensions). */
  private async keptExchange(key: string, body: string, options: OperationFetch<Context>, cache: SubgraphAnswerCache): Promise<SubgraphAnswer> {
    const fetch = cache.begin();
    let answer: SubgraphAnswer;
    try {
      answer = await this.exchange(body, options);
    } catch (error) {
      cache.abandon(fetch);
      throw error;
    }
    if (answer.status === 200 && answer.json && answer.cacheable !== undefined && holdsDataAlone(answer.body)) {
      cache.keep(fetch, key, { status: answer.status, json: true, body: answer.body }, answer.cacheable);
    } else {
      cache.abandon(fetch);
    }
    return answer;
  }

  /**
   * A mutation's fetch: what it changed is dropped from `cache` before its answer is handed on,
   * so that the client reads its own writes through this gateway at once; everything when the
   * fetch failed (it may have changed stock all the same) or the subgraph does not say.
   */
  private async mutationExchange(body: string, options: OperationFetch<Context>, cache: SubgraphAnswerCache): Promise<SubgraphAnswer> {
    let answer: SubgraphAnswer;
    try {
      answer = await this.exchange(body, options);
    } catch (error) {
      cache.flush();
      throw error;
    }
    await cache.afterMutation(answer.invalidates);
    return answer;
  }

  private async exchange(body: string, { request, context }: OperationFetch<Context>): Promise<SubgraphAnswer> {
    const ended = this.options.fetchStarted?.();
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...this.options.headers(context) };
      // Set only by @apollo/gateway for usage reporting (the subgraph's trace is asked for).
      if (request.http) for (const [name, value] of request.http.headers) headers[name] = value;
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body });
      const contentType = response.headers['content-type'];
      const answer: SubgraphAnswer = {
        status: response.statusCode,
        json: typeof contentType === 'string' && (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json')),
        body: Buffer.from(await response.body.arrayBuffer()),
        cacheable: response.headers[CACHEABLE_HEADER],
        invalidates: response.headers[INVALIDATES_HEADER],
      };
      ended?.(outcomeOf(answer));
      return answer;
    } catch (error) {
      ended?.('failed');
      throw error;
    }
  }
}

// A query as the query planner prints a fetch: the operation first, named or not; a shorthand one.
const QUERY_OPERATION = /^(?:query\b|\{)/;

/**
 * Whether a fetch's text is a query (the fetch's document is not handed to data sources unless
 * the planner is told to keep it). Anything else, or anything it cannot tell, is taken for a
 * mutation: never shared.
 */
const isQuery = (text: string | undefined): boolean => text !== undefined && QUERY_OPERATION.test(text);

const parseJson = (body: Buffer): unknown => JSON.parse(body.toString('utf8'));

function outcomeOf(answer: SubgraphAnswer): FetchOutcome {
  if (answer.status < 200 || answer.status >= 300 || !answer.json) return 'failed';
  if (holdsDataAlone(answer.body)) return 'ok';
  const { errors } = parseJson(answer.body) as { errors?: unknown[] };
  return errors?.length ? 'errors' : 'ok';
}
