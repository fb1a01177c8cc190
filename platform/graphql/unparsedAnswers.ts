import type { FormattedExecutionResult } from 'graphql';

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
