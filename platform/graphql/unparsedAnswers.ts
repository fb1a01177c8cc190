import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { FormattedExecutionResult } from 'graphql';

// Passing a subgraph's answer on as the JSON text it came in, for the queries the gateway's fast
// path answers word for word (see withSingleFetchFastPath). For a 1,000-SKU availability answer
// (about 1 MB), parsing the text only to print it again cost the gateway as much CPU as the rest
// of its work together.

/**
 * A subgraph answer that holds data alone, kept as the text the subgraph sent: that text is also
 * what the gateway would print for it (Apollo Server prints `JSON.stringify` of the result and a
 * newline, and JSON.stringify of what JSON.parse read from it is the same text).
 */
export class UnparsedData {
  constructor(readonly answer: string) {}

  parse(): Record<string, unknown> {
    return (JSON.parse(this.answer) as { data: Record<string, unknown> }).data;
  }
}

type GatewayContext = Record<string, unknown>;

/** A subgraph data source that can also hand back an answer's data unparsed. */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // The fetches whose answer is wanted unparsed, by the context each was sent with: the context
  // is what process() hands on to parseBody.
  private readonly unparsedFetches = new WeakSet<object>();

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
    const text = await response.text();
    return holdsDataAlone(text) ? { data: new UnparsedData(text) } : JSON.parse(text);
  }
}

/**
 * Whether `answer` (GraphQL-over-HTTP JSON text) is an object of data alone, printed as Apollo
 * Server prints it. Apollo Server writes `errors` before `data` and `extensions` after it, so it
 * is when it starts with data, ends with the newline after the result, and the text
 * `"extensions":` appears nowhere in it (a field aliased `extensions` merely costs a parse).
 */
export function holdsDataAlone(answer: string): boolean {
  return answer.startsWith('{"data":{') && answer.endsWith('}\n') && !answer.includes('"extensions":');
}

/**
 * Apollo Server's `stringifyResult` (JSON.stringify, then a newline) that prints UnparsedData as
 * it came. Keeping the subgraph's text rather than building a new one matters: a megabyte string
 * goes straight to the old generation, and each one more per request brought the next full
 * garbage collection (20 ms, stopping every request) that much sooner.
 */
export function stringifyResult(result: FormattedExecutionResult): string {
  const { data } = result as { data?: unknown };
  if (!(data instanceof UnparsedData)) return `${JSON.stringify(result)}\n`;
  if (result.errors === undefined && result.extensions === undefined) return data.answer;
  return `${JSON.stringify({ ...result, data: data.parse() })}\n`;
}
