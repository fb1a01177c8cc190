import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { closeServer, listen, readBody } from '../../platform/http/serviceHttpServer.ts';

// Written from Oracle's documentation rather than from the client, so that the two can disagree.
const COLLECTION_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryOnhandBalances';
const STAGED_TRANSACTIONS_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryStagedTransactions';
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 500;
const MAX_SERIALS_PER_TRANSACTION = 50;
const REQUIRED_TRANSACTION_TEXT = ['SourceCode', 'TransactionReference', 'TransactionTypeName', 'OrganizationName', 'ItemNumber', 'SubinventoryCode', 'TransactionUnitOfMeasure', 'TransferSubinventory'];

/** One record in Oracle's attribute names (`ItemNumber`, `OrganizationCode`, ...); served as given. */
export type OnhandBalanceRecord = Readonly<Record<string, unknown>>;

/** A staged inventory transaction the ERP accepted, as posted, with the id it was given. */
export type StagedTransactionRecord = Readonly<Record<string, unknown>> & {
  readonly TransactionInterfaceId: number;
  readonly TransactionReference: string;
  readonly serials: readonly { readonly FmSerialNumber: string; readonly ToSerialNumber: string }[];
};

export interface SimulatedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body of a POST; undefined for a GET or a body that is not JSON. */
  readonly body?: unknown;
  /** `performance.now()` when the request arrived, in milliseconds. */
  readonly receivedAt: number;
}

/** Which requests a fault hits: the next `times` (default 1), only those for the page at `offset` if given. */
export interface FaultTarget {
  readonly times?: number;
  readonly offset?: number;
}

export interface ErpSimulator {
  readonly baseUrl: string;
  setRecords(records: readonly OnhandBalanceRecord[]): void;
  /** Answers the next `count` matching requests with `status` and an error body. */
  failNext(count: number, status: number, target?: Omit<FaultTarget, 'times'>): void;
  /** Handles the next matching requests, then holds their answers for `ms` milliseconds. */
  delayNext(ms: number, target?: FaultTarget): void;
  /** Answers the next matching requests with 200 and a body that is not JSON. */
  malformNext(target?: FaultTarget): void;
  /** Handles the next matching requests in full, then drops the connection instead of answering. */
  loseNextResponse(target?: FaultTarget): void;
  /** Every request received, faulted or not, in arrival order. */
  readonly requests: readonly SimulatedRequest[];
  /**
   * Staged transactions accepted, one per TransactionReference: a transaction posted again
   * under a reference already accepted is answered with the first one, and not recorded twice.
   */
  readonly stagedTransactions: readonly StagedTransactionRecord[];
  /** Resolves once the `count`th request has arrived (at once if it already has), with that request. */
  requestNumber(count: number): Promise<SimulatedRequest>;
  stop(): Promise<void>;
}

type Fault = { readonly offset?: number } & (
  | { readonly status: number }
  | { readonly delayMs: number }
  | { readonly malformed: true }
  | { readonly lost: true }
);

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An Oracle Fusion-style ERP serving the inventoryOnhandBalances collection from memory, with
 * the framework's paging (`limit` capped at 500, `offset`, `hasMore`, `count` of the page,
 * `totalResults` on request); accepting inventoryStagedTransactions posts (at most 50 serials
 * each, one per reference); optional HTTP Basic auth; and faults queued per request.
 */
export async function startErpSimulator(
  options: { records?: readonly OnhandBalanceRecord[]; username?: string; password?: string } = {},
): Promise<ErpSimulator> {
  let records = options.records ?? [];
  const requests: SimulatedRequest[] = [];
  const faults: Fault[] = [];
  const stopping = new AbortController();
  const expectedAuthorization = options.username === undefined
    ? undefined
    : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;

  const stagedTransactions: StagedTransactionRecord[] = [];
  const waiters: { count: number; resolve: (request: SimulatedRequest) => void }[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const body = request.method === 'POST' ? await readBody(request, 16 * 1024 * 1024) : undefined; // 16 MiB
    const text = body instanceof Buffer ? body.toString('utf8') : undefined;
    const received: SimulatedRequest = { method: request.method ?? 'GET', path: url.pathname, query, body: parseJson(text), receivedAt: performance.now() };
    requests.push(received);
    for (const waiter of waiters.filter((w) => w.count === requests.length)) waiter.resolve(received);

    const faultIndex = faults.findIndex((fault) => fault.offset === undefined || String(fault.offset) === (query.offset ?? '0'));
    const fault = faultIndex === -1 ? undefined : faults.splice(faultIndex, 1)[0];
    if (fault && 'status' in fault) return send(response, textAnswer(fault.status, 'Injected failure'));
    if (fault && 'malformed' in fault) return send(response, { status: 200, contentType: 'application/json', body: '{"items": [{"ItemNumber": "SKU-' });
    // Handled before any delay or loss: a slow or lost answer does not undo what the ERP did.
    const answer = answerRequest(request, url, received.body);
    if (fault && 'lost' in fault) return void response.destroy();
    if (fault && 'delayMs' in fault) await delay(fault.delayMs, undefined, { signal: stopping.signal });
    send(response, answer);
  };

  const answerRequest = (request: IncomingMessage, url: URL, body: unknown): Answer => {
    if (url.pathname !== COLLECTION_PATH && url.pathname !== STAGED_TRANSACTIONS_PATH) return textAnswer(404, 'Not found');
    const allowed = url.pathname === COLLECTION_PATH ? 'GET' : 'POST';
    if (request.method !== allowed) return textAnswer(405, 'Method not allowed');
    if (expectedAuthorization !== undefined && request.headers.authorization !== expectedAuthorization) {
      return { ...textAnswer(401, 'Unauthorized'), headers: { 'www-authenticate': 'Basic realm="fscmRestApi"' } };
    }
    return url.pathname === COLLECTION_PATH ? onhandPage(url) : stageTransaction(body);
  };

  const onhandPage = (url: URL): Answer => {
    const query = Object.fromEntries(url.searchParams);
    const limit = wholeNumber(query.limit, DEFAULT_LIMIT);
    const offset = wholeNumber(query.offset, 0);
    if (limit === undefined || limit === 0 || offset === undefined) return textAnswer(400, 'limit and offset must be whole numbers');
    const pageLimit = Math.min(limit, MAX_LIMIT);
    const items = records.slice(offset, offset + pageLimit);
    const page: Record<string, unknown> = { items, count: items.length, hasMore: offset + items.length < records.length, limit: pageLimit, offset };
    if (query.totalResults === 'true') page.totalResults = records.length;
    page.links = [{ rel: 'self', href: `${baseUrl}${url.pathname}${url.search}`, name: 'inventoryOnhandBalances', kind: 'collection' }];
    return { status: 200, contentType: 'application/vnd.oracle.adf.resourcecollection+json', body: JSON.stringify(page) };
  };

  const stageTransaction = (body: unknown): Answer => {
    const problem = transactionProblem(body);
    if (problem) return textAnswer(400, problem);
    const transaction = body as Record<string, unknown>;
    const earlier = stagedTransactions.find((t) => t.TransactionReference === transaction.TransactionReference);
    const created = earlier ?? ({ ...transaction, TransactionInterfaceId: 300_100_000 + stagedTransactions.length } as StagedTransactionRecord);
    if (!earlier) stagedTransactions.push(created);
    return { status: 201, contentType: 'application/vnd.oracle.adf.resourceitem+json', body: JSON.stringify(created) };
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  const baseUrl = await listen(server, 0, '127.0.0.1');

  const queue = (fault: Fault, times = 1) => {
    for (let i = 0; i < times; i++) faults.push(fault);
  };
  return {
    baseUrl,
    requests,
    stagedTransactions,
    requestNumber: (count) => new Promise((resolve) => {
      if (requests.length >= count) resolve(requests[count - 1]!);
      else waiters.push({ count, resolve });
    }),
    setRecords: (next) => void (records = next),
    failNext: (count, status, target = {}) => queue({ status, ...target }, count),
    delayNext: (delayMs, { times, ...target } = {}) => queue({ delayMs, ...target }, times),
    malformNext: ({ times, ...target } = {}) => queue({ malformed: true, ...target }, times),
    loseNextResponse: ({ times, ...target } = {}) => queue({ lost: true, ...target }, times),
    stop: async () => {
      stopping.abort();
      await closeServer(server);
    },
  };
}

function wholeNumber(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined) return fallback;
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Why the ERP would refuse this staged transaction, or undefined when it takes it. */
function transactionProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body must be a JSON object';
  const fields = body as Record<string, unknown>;
  const missing = REQUIRED_TRANSACTION_TEXT.filter((name) => typeof fields[name] !== 'string' || fields[name] === '');
  if (missing.length) return `Missing attributes: ${missing.join(', ')}`;
  const { serials, TransactionQuantity: quantity } = fields;
  if (!Array.isArray(serials) || serials.some((s) => typeof s?.FmSerialNumber !== 'string' || s.FmSerialNumber !== s.ToSerialNumber)) {
    return 'serials must be ranges of one serial each (FmSerialNumber = ToSerialNumber)';
  }
  if (serials.length > MAX_SERIALS_PER_TRANSACTION) return `A transaction takes at most ${MAX_SERIALS_PER_TRANSACTION} serials; got ${serials.length}`;
  if (typeof quantity !== 'number' || Math.abs(quantity) !== serials.length) return `TransactionQuantity ${String(quantity)} does not match the ${serials.length} serials`;
  return undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const textAnswer = (status: number, detail: string): Answer => ({ status, contentType: 'text/plain; charset=utf-8', body: detail });

function send(response: ServerResponse, { status, contentType, body, headers = {} }: Answer): void {
  response.writeHead(status, { 'content-type': contentType, ...headers });
  response.end(body);
}
