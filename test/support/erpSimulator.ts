import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { closeServer, listen } from '../../platform/http/serviceHttpServer.ts';

// Written from Oracle's documentation rather than from the client, so that the two can disagree.
const COLLECTION_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryOnhandBalances';
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 500;

/** One record in Oracle's attribute names (`ItemNumber`, `OrganizationCode`, ...); served as given. */
export type OnhandBalanceRecord = Readonly<Record<string, unknown>>;

export interface SimulatedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
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
  /** Holds the next matching requests for `ms` milliseconds before answering them normally. */
  delayNext(ms: number, target?: FaultTarget): void;
  /** Answers the next matching requests with 200 and a body that is not JSON. */
  malformNext(target?: FaultTarget): void;
  /** Every request received, faulted or not, in arrival order. */
  readonly requests: readonly SimulatedRequest[];
  stop(): Promise<void>;
}

type Fault = { readonly offset?: number } & ({ readonly status: number } | { readonly delayMs: number } | { readonly malformed: true });

/**
 * An Oracle Fusion-style ERP serving the inventoryOnhandBalances collection from memory, with
 * the framework's paging (`limit` capped at 500, `offset`, `hasMore`, `count` of the page,
 * `totalResults` on request), optional HTTP Basic auth, and faults queued per request.
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

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    requests.push({ method: request.method ?? 'GET', path: url.pathname, query, receivedAt: performance.now() });

    const faultIndex = faults.findIndex((fault) => fault.offset === undefined || String(fault.offset) === (query.offset ?? '0'));
    const fault = faultIndex === -1 ? undefined : faults.splice(faultIndex, 1)[0];
    if (fault && 'delayMs' in fault) await delay(fault.delayMs, undefined, { signal: stopping.signal });
    if (fault && 'status' in fault) return sendError(response, fault.status, 'Injected failure');
    if (fault && 'malformed' in fault) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end('{"items": [{"ItemNumber": "SKU-');
    }

    if (url.pathname !== COLLECTION_PATH) return sendError(response, 404, 'Not found');
    if (request.method !== 'GET') return sendError(response, 405, 'Method not allowed');
    if (expectedAuthorization !== undefined && request.headers.authorization !== expectedAuthorization) {
      response.setHeader('www-authenticate', 'Basic realm="fscmRestApi"');
      return sendError(response, 401, 'Unauthorized');
    }

    const limit = wholeNumber(query.limit, DEFAULT_LIMIT);
    const offset = wholeNumber(query.offset, 0);
    if (limit === undefined || limit === 0 || offset === undefined) return sendError(response, 400, 'limit and offset must be whole numbers');
    const pageLimit = Math.min(limit, MAX_LIMIT);
    const items = records.slice(offset, offset + pageLimit);
    const page: Record<string, unknown> = { items, count: items.length, hasMore: offset + items.length < records.length, limit: pageLimit, offset };
    if (query.totalResults === 'true') page.totalResults = records.length;
    page.links = [{ rel: 'self', href: `${baseUrl}${url.pathname}${url.search}`, name: 'inventoryOnhandBalances', kind: 'collection' }];
    response.writeHead(200, { 'content-type': 'application/vnd.oracle.adf.resourcecollection+json' });
    response.end(JSON.stringify(page));
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
    setRecords: (next) => void (records = next),
    failNext: (count, status, target = {}) => queue({ status, ...target }, count),
    delayNext: (delayMs, { times, ...target } = {}) => queue({ delayMs, ...target }, times),
    malformNext: ({ times, ...target } = {}) => queue({ malformed: true, ...target }, times),
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

function sendError(response: ServerResponse, status: number, detail: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(detail);
}
