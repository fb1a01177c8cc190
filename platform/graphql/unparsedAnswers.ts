import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { FormattedExecutionResult } from 'graphql';
import { failedFetchAnswer } from './subgraphFailures.ts';

// Passing a subgraph's answer on as the bytes it came in, for the queries the gateway's fast path
// answers word for word (see withSingleFetchFastPath). A 1,000-SKU availability answer is about
// 1 MB: parsing it only to print it again cost the gateway as much CPU as the rest of its work,
// and even kept as text, a megabyte string per answer goes straight to the old generation and
// brought a full garbage collection (20 ms or more, stopping every request) every few answers.

/**
 * A subgraph answer that holds data alone, as the bytes the subgraph sent: they are also what the
 * gateway would print for it (Apollo Server prints `JSON.stringify` of the result and a newline,
 * and JSON.stringify of what JSON.parse read from it is the same text).
 */
export class UnparsedData {
  constructor(readonly answer: Buffer) {}

  parse(): Record<string, unknown> {
    return (JSON.parse(this.answer.toString('utf8')) as { data: Record<string, unknown> }).data;
  }
}

type GatewayContext = Record<string, unknown>;

/** How a subgraph fetch ended: answered with data alone, answered with GraphQL errors, or no usable answer (network, HTTP status, body). */
export type FetchOutcome = 'ok' | 'errors' | 'failed';

/**
 * A subgraph data source that can also hand back an answer's data unparsed, turns a failed fetch
 * into the subgraph errors it stands for (see failedFetchAnswer), and reports each fetch it makes
 * (the gateway's query plans and its single-fetch fast path both come through process()) to
 * `fetchStarted`, when given.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // The fetches whose answer is wanted unparsed, by the context each was sent with: the context
  // is what process() hands on to parseBody.
  private readonly unparsedFetches = new WeakSet<object>();
  private readonly fetchStarted: (() => (outcome: FetchOutcome) => void) | undefined;

  /** `fetchStarted` is called as a fetch starts; the function it returns, as the fetch ends. */
  constructor(
    readonly serviceName: string,
    { fetchStarted, ...config }: ConstructorParameters<typeof RemoteGraphQLDataSource<GatewayContext>>[0] & { fetchStarted?: () => (outcome: FetchOutcome) => void } = {},
  ) {
    super(config);
    this.fetchStarted = fetchStarted;
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const ended = this.fetchStarted?.();
    try {
      const response = await super.process(options);
      ended?.(response.errors?.length ? 'errors' : 'ok');
      return response;
    } catch (error) {
      ended?.('failed');
      const answer = failedFetchAnswer(error, this.serviceName, options.request);
      if (!answer) throw error;
      return answer;
    }
  }

  /**
   * As process(), except that an answer holding data alone (no errors, no extensions) comes back
   * with its data as UnparsedData; any other answer is parsed as usual.
   */
  processUnparsed(options: Extract<GraphQLDataSourceProcessOptions<GatewayContext>, { incomingRequestContext: unknown }>) {
    const context: GatewayContext = Object.create(options.context);
    this.unparsedFetches.add(context);
    return this.process({ ...options, context });
  }

  override async parseBody(...[response, request, context]: Parameters<RemoteGraphQLDataSource<GatewayContext>['parseBody']>): Promise<object | string> {
    const isJson = response.headers.get('content-type')?.startsWith('application/json');
    if (!context || !isJson || !this.unparsedFetches.has(context)) return super.parseBody(response, request, context);
    const answer = Buffer.from(await response.arrayBuffer());
    return holdsDataAlone(answer) ? { data: new UnparsedData(answer) } : JSON.parse(answer.toString('utf8'));
  }
}

const DATA_ALONE_START = Buffer.from('{"data":{');
const DATA_ALONE_END = Buffer.from('}\n');
const EXTENSIONS_KEY = Buffer.from('"extensions":');

/**
 * Whether `answer` (GraphQL-over-HTTP JSON) is an object of data alone, printed as Apollo Server
 * prints it. Apollo Server writes `errors` before `data` and `extensions` after it, so it is when
 * it starts with data, ends with the newline after the result, and `"extensions":` appears nowhere
 * in it (inside a string its quotes would be escaped; a field aliased `extensions` merely costs a
 * parse).
 */
export function holdsDataAlone(answer: Buffer): boolean {
  return (
    answer.subarray(0, DATA_ALONE_START.length).equals(DATA_ALONE_START) &&
    answer.subarray(answer.length - DATA_ALONE_END.length).equals(DATA_ALONE_END) &&
    !answer.includes(EXTENSIONS_KEY)
  );
}

// No JSON text starts with a NUL, so a printed answer cannot be mistaken for a placeholder.
const PLACEHOLDER_PREFIX = '\u0000unparsed answer ';

/**
 * Prints results for Apollo Server (`stringifyResult`) and turns what it printed into the bytes to
 * send (`responseBody`, for the HTTP server), so that UnparsedData goes out as the bytes it came
 * in: Apollo Server only carries text from one to the other, so it carries a short placeholder
 * for them. Every placeholder printed is sent, and taken back, by the HTTP server the same
 * request; a result printed with anything beside its data (errors, extensions) is printed whole.
 */
export class AnswerPrinter {
  private readonly held = new Map<string, Buffer>();
  private printed = 0;

  readonly stringifyResult = (result: FormattedExecutionResult): string => {
    const { data } = result as { data?: unknown };
    if (!(data instanceof UnparsedData)) return `${JSON.stringify(result)}\n`;
    if (result.errors !== undefined || result.extensions !== undefined) return `${JSON.stringify({ ...result, data: data.parse() })}\n`;
    const placeholder = `${PLACEHOLDER_PREFIX}${++this.printed}`;
    this.held.set(placeholder, data.answer);
    return placeholder;
  };

  readonly responseBody = (printed: string): Buffer => {
    const answer = printed.startsWith(PLACEHOLDER_PREFIX) ? this.held.get(printed) : undefined;
    if (!answer) return Buffer.from(printed);
    this.held.delete(printed);
    return answer;
  };
}
