import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { closeServer, listen, readBody, RequestBodyError } from '../../platform/http/serviceHttpServer.ts';
import { UnreachableCaseError } from '../../platform/lang/unreachableCaseError.ts';
import { BalanceBook, readBalanceAdjustment, readBalances, type BalanceAdjustment, type OnhandBalance } from './balanceBook.ts';
import { FaultBoard, readFault, type ActiveFault, type AnswerFault, type ErpFault, type ErpFaultTarget, type RequestArea } from './faults.ts';
import { collectionPage, matchesQuery, parseQuery, type QueryCondition } from './fusionCollection.ts';
import { balanceChanges, readStagedTransaction, type StagedTransactionRecord } from './stagedTransactions.ts';

export type { BalanceAdjustment, BalanceKey, OnhandBalance } from './balanceBook.ts';
export type { ActiveFault, ErpFault, ErpFaultTarget } from './faults.ts';
export type { SerialRange, StagedTransactionRecord } from './stagedTransactions.ts';

const RESOURCES = '/fscmRestApi/resources/11.13.18.05';
const BALANCES_PATH = `${RESOURCES}/inventoryOnhandBalances`;
const STAGED_TRANSACTIONS_PATH = `${RESOURCES}/inventoryStagedTransactions`;
const BALANCE_ATTRIBUTES = ['OrganizationCode', 'ItemNumber', 'SubinventoryCode', 'LotNumber'];
const FIRST_TRANSACTION_INTERFACE_ID = 300_100_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024; // 16 MiB

/** A record of the balances collection as given to setRecords, in Oracle's attribute names; served as it is. */
export type OnhandBalanceRecord = Readonly<Record<string, unknown>>;

/** An ERP request as it arrived (admin requests are not recorded). */
export interface SimulatedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body of a POST; undefined for a GET or a body that is not JSON. */
  readonly body?: unknown;
  /** `performance.now()` when the request arrived, in milliseconds. */
  readonly receivedAt: number;
}

/** Counts since the simulator started or was last reset. */
export interface ErpSimulatorStats {
  /** ERP requests received, faulted or not. */
  readonly requests: number;
  /** Staged transactions accepted, each reference once. */
  readonly transactionsAccepted: number;
  /** Posts of a reference already accepted, answered with the first record. */
  readonly duplicateReferences: number;
  /** Staged transactions refused with 400. */
  readonly refused: number;
  /** Requests a fault hit, wrongBalance's included. */
  readonly faultsApplied: number;
}

export interface ErpSimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** '127.0.0.1' by default. */
  readonly host?: string;
  /** The balances the ERP starts with. */
  readonly balances?: readonly OnhandBalance[];
  /** Records to serve as given instead of balances (see setRecords); not with `balances`. */
  readonly records?: readonly OnhandBalanceRecord[];
  /**
   * Whether `requests` keeps every ERP request, bodies included: true by default, for tests; the
   * CLI turns it off so that a long run does not grow without end (stats still count them).
   */
  readonly keepRequests?: boolean;
  /** When given, ERP requests need HTTP Basic credentials; the admin endpoint never does. */
  readonly username?: string;
  readonly password?: string;
}

/** Which requests one of the convenience faults hits: see ErpFault's `times`, `target` and `offset`. */
export interface FaultScope {
  readonly times?: number;
  readonly target?: ErpFaultTarget;
  readonly offset?: number;
}

export interface ErpSimulator {
  readonly baseUrl: string;
  /** `${baseUrl}/admin/`, the same server's admin endpoint. */
  readonly adminUrl: string;
  /** Replaces the ERP's balances (and ends setRecords' records). A TypeError names every bad balance. */
  setBalances(balances: readonly OnhandBalance[]): void;
  /** The ERP's balances, in the order the collection lists them. */
  balances(): readonly OnhandBalance[];
  /** Changes one balance on purpose, opening it when missing; returns it as it now is. A TypeError names what is wrong. */
  adjustBalance(adjustment: BalanceAdjustment): OnhandBalance;
  /**
   * Serves exactly these records, in this order, in place of the balances, until setBalances or a
   * reset: for records Fusion would never send (a repeated key, a missing attribute, a quantity
   * that is text). Staged transactions still change the balances, which are not served meanwhile.
   */
  setRecords(records: readonly OnhandBalanceRecord[]): void;
  /** A TypeError names what is wrong with the fault. */
  injectFault(fault: ErpFault): ActiveFault;
  /** Removes every fault; an answer already held (latency, timeout) stays held. */
  clearFaults(): void;
  /** Answers the next `count` requests in scope with `status` and the text "Injected failure", without handling them. */
  failNext(count: number, status: number, scope?: Omit<FaultScope, 'times'>): void;
  /** Handles the next requests in scope, then holds their answers for `ms` milliseconds. */
  delayNext(ms: number, scope?: FaultScope): void;
  /** Handles the next requests in scope, then answers 200 with a body that is not JSON. */
  malformNext(scope?: FaultScope): void;
  /** Handles the next requests in scope in full, then drops the connection instead of answering. */
  loseNextResponse(scope?: FaultScope): void;
  /** Every ERP request received since the start or the last reset, faulted or not, in arrival order; none with `keepRequests: false`. */
  readonly requests: readonly SimulatedRequest[];
  /**
   * Staged transactions accepted, one per TransactionReference, in order: a transaction posted again
   * under a reference already accepted is answered with the first one, and not recorded twice.
   */
  readonly stagedTransactions: readonly StagedTransactionRecord[];
  /**
   * Resolves once the `count`th request since the start or the last reset has arrived, with that
   * request; at once if it already has, unless it was not kept (`keepRequests: false`): then a TypeError.
   */
  requestNumber(count: number): Promise<SimulatedRequest>;
  stats(): ErpSimulatorStats;
  /** Closes every connection, held answers' included. */
  stop(): Promise<void>;
}

/** Codes of the admin endpoint's JSON errors, `{ "error": { "code", "message" } }`. */
export enum ErpSimulatorAdminErrorCode {
  /** The body or a parameter is wrong; the message names every problem. */
  BAD_REQUEST = 'BAD_REQUEST',
  NOT_FOUND = 'NOT_FOUND',
  /** The path exists; the `allow` header lists its methods. */
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

interface AdminRoute {
  /** Whether the handler reads a JSON body. */
  readonly takesBody?: boolean;
  handle(body: unknown): Answer;
}

/**
 * An Oracle Fusion SCM ERP (REST framework 11.13.18.05) that keeps its own on-hand balances:
 * inventoryOnhandBalances lists them with the framework's paging and `q` filter, and every
 * inventoryStagedTransactions post it accepts (one per TransactionReference) changes them as the
 * ERP would. Faults are staged from code or from the admin endpoint under /admin/ on the same
 * port, which takes JSON and never takes faults itself. For tests, and for running Stockgraph
 * against something that behaves like its ERP, misbehaviour included.
 */
export async function startErpSimulator(options: ErpSimulatorOptions = {}): Promise<ErpSimulator> {
  const { port = 0, host = '127.0.0.1', keepRequests = true, username, password = '' } = options;
  if (options.balances && options.records) throw new TypeError('Give the ERP simulator balances or records, not both');
  const book = new BalanceBook();
  let records: readonly OnhandBalanceRecord[] | undefined = options.records;
  const faults = new FaultBoard();
  const requests: SimulatedRequest[] = [];
  const stagedTransactions: StagedTransactionRecord[] = [];
  const transactionByReference = new Map<string, StagedTransactionRecord>();
  const counts = { requests: 0, duplicateReferences: 0, refused: 0, faultsApplied: 0 };
  const waiters: { count: number; resolve: (request: SimulatedRequest) => void }[] = [];
  const stopping = new AbortController();
  const expectedAuthorization = username === undefined ? undefined : `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  const setBalances = (balances: unknown): readonly OnhandBalance[] | string => {
    const read = readBalances(balances);
    if (typeof read === 'string') return read;
    book.replace(read);
    records = undefined;
    return book.list();
  };
  const injectFault = (fault: unknown): ActiveFault | string => {
    const read = readFault(fault);
    return typeof read === 'string' ? read : faults.inject(read);
  };
  const adjustBalance = (adjustment: unknown): OnhandBalance | string => {
    const read = readBalanceAdjustment(adjustment);
    return typeof read === 'string' ? read : book.add(read, read.delta);
  };
  const stats = (): ErpSimulatorStats => ({
    requests: counts.requests,
    transactionsAccepted: stagedTransactions.length,
    duplicateReferences: counts.duplicateReferences,
    refused: counts.refused,
    faultsApplied: counts.faultsApplied,
  });
  const reset = () => {
    book.replace([]);
    records = undefined;
    faults.clear();
    requests.length = 0;
    stagedTransactions.length = 0;
    transactionByReference.clear();
    Object.assign(counts, { requests: 0, duplicateReferences: 0, refused: 0, faultsApplied: 0 });
  };
  if (options.balances) throwIfProblem(setBalances(options.balances));

  const serveErp = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const body = request.method === 'POST' ? await readBody(request, MAX_BODY_BYTES) : undefined;
    const query = Object.fromEntries(url.searchParams);
    const received: SimulatedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query,
      body: body instanceof Buffer ? parseJson(body) : undefined,
      receivedAt: performance.now(),
    };
    counts.requests++;
    if (keepRequests) requests.push(received);
    for (const waiter of waiters.filter((w) => w.count === counts.requests)) waiter.resolve(received);

    const fault = faults.answerFault(areaOf(url.pathname), query.offset ?? '0');
    if (fault) counts.faultsApplied++;
    const handle = () => body instanceof RequestBodyError ? textAnswer(body.status, body.message) : answerErp(request, url, received.body);
    await answerWithFault(response, fault, handle);
  };

  const answerWithFault = async (response: ServerResponse, fault: AnswerFault | undefined, handle: () => Answer) => {
    switch (fault?.kind) {
      case undefined: return send(response, handle());
      case 'down': return send(response, textAnswer(503, 'Injected outage: the ERP is down'));
      case 'status': return send(response, textAnswer(fault.status, 'Injected failure'));
      case 'rateLimit': {
        const headers = { 'retry-after': String(fault.retryAfterSeconds ?? 1) };
        return send(response, { ...textAnswer(429, 'Injected rate limit'), headers });
      }
      case 'malformed': {
        const { body } = handle();
        return send(response, { status: 200, contentType: 'application/json', body: body.slice(0, Math.floor(body.length / 2)) });
      }
      case 'drop': {
        handle();
        return void response.destroy();
      }
      case 'latency': {
        const answer = handle();
        await delay(fault.ms, undefined, { signal: stopping.signal });
        return send(response, answer);
      }
      case 'timeout': {
        handle();
        // Rejects when the simulator stops, and the connection is destroyed on the way out.
        return void await once(response, 'close', { signal: stopping.signal });
      }
      default: throw new UnreachableCaseError(fault);
    }
  };

  // A client pages through one query's balances page by page: the matches are kept while the
  // balances are the same array (the book lists a new one once one changes), instead of
  // filtering every balance again for every page.
  let lastBalanceMatches: { readonly balances: readonly object[]; readonly q: string | null; readonly matches: readonly object[] } | undefined;
  const matchingBalances: MatchingItems = (balances, conditions, q) => {
    if (lastBalanceMatches?.balances !== balances || lastBalanceMatches.q !== q) lastBalanceMatches = { balances, q, matches: matchingItems(balances, conditions) };
    return lastBalanceMatches.matches;
  };

  const answerErp = (request: IncomingMessage, url: URL, body: unknown): Answer => {
    const allowed = url.pathname === BALANCES_PATH ? ['GET'] : url.pathname === STAGED_TRANSACTIONS_PATH ? ['GET', 'POST'] : [];
    if (!allowed.length) return textAnswer(404, 'Not found');
    if (!allowed.includes(request.method ?? '')) return { ...textAnswer(405, 'Method not allowed'), headers: { allow: allowed.join(', ') } };
    if (expectedAuthorization !== undefined && request.headers.authorization !== expectedAuthorization) {
      return { ...textAnswer(401, 'Unauthorized'), headers: { 'www-authenticate': 'Basic realm="fscmRestApi"' } };
    }
    if (url.pathname === BALANCES_PATH) return collection(url, records ?? book.list(), BALANCE_ATTRIBUTES, 'inventoryOnhandBalances', matchingBalances);
    if (request.method === 'GET') return collection(url, stagedTransactions, ['TransactionReference'], 'inventoryStagedTransactions');
    return stageTransaction(body);
  };

  const collection = (url: URL, items: readonly object[], attributes: readonly string[], name: string, matching: MatchingItems = matchingItems): Answer => {
    const q = url.searchParams.get('q');
    const conditions = parseQuery(q, attributes);
    if (typeof conditions === 'string') return textAnswer(400, conditions);
    const page = collectionPage(matching(items, conditions, q), url.searchParams, { href: `${baseUrl}${url.pathname}${url.search}`, name });
    if (typeof page === 'string') return textAnswer(400, page);
    return { status: 200, contentType: 'application/vnd.oracle.adf.resourcecollection+json', body: JSON.stringify(page) };
  };

  const stageTransaction = (body: unknown): Answer => {
    const transaction = readStagedTransaction(body);
    if (typeof transaction === 'string') {
      counts.refused++;
      return textAnswer(400, transaction);
    }
    const earlier = transactionByReference.get(transaction.reference);
    if (earlier) {
      counts.duplicateReferences++;
      return created(earlier);
    }
    const changes = balanceChanges(transaction);
    const offBy = changes.length ? faults.balanceError() : 0;
    if (offBy) counts.faultsApplied++;
    changes.forEach(({ key, delta }, index) => book.add(key, index === 0 ? delta + offBy : delta, transaction.unitOfMeasure));
    const record = { ...(body as object), serials: transaction.serials, TransactionInterfaceId: FIRST_TRANSACTION_INTERFACE_ID + stagedTransactions.length } as StagedTransactionRecord;
    stagedTransactions.push(record);
    transactionByReference.set(transaction.reference, record);
    return created(record);
  };

  const adminRoutes: Readonly<Record<string, Readonly<Record<string, AdminRoute>>>> = {
    '/admin/': {
      GET: { handle: () => jsonAnswer(200, { endpoints: Object.entries(adminRoutes).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`)) }) },
    },
    '/admin/faults': {
      GET: { handle: () => jsonAnswer(200, { items: faults.list() }) },
      POST: { takesBody: true, handle: (body) => orBadRequest(injectFault(body), (fault) => jsonAnswer(201, fault)) },
      DELETE: { handle: () => jsonAnswer(200, { cleared: faults.clear() }) },
    },
    '/admin/balances': {
      GET: { handle: () => jsonAnswer(200, { items: book.list() }) },
      PUT: { takesBody: true, handle: (body) => orBadRequest(setBalances(body), (items) => jsonAnswer(200, { items })) },
    },
    '/admin/balances/adjust': {
      POST: { takesBody: true, handle: (body) => orBadRequest(adjustBalance(body), (balance) => jsonAnswer(200, balance)) },
    },
    '/admin/transactions': {
      GET: { handle: () => jsonAnswer(200, { items: stagedTransactions }) },
    },
    '/admin/stats': {
      GET: { handle: () => jsonAnswer(200, stats()) },
    },
    '/admin/reset': {
      POST: {
        handle: () => {
          reset();
          return jsonAnswer(200, stats());
        },
      },
    },
  };

  const serveAdmin = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const methods = adminRoutes[url.pathname];
    if (!methods) return send(response, adminError(404, ErpSimulatorAdminErrorCode.NOT_FOUND, `No admin endpoint at ${url.pathname}; GET /admin/ lists them`));
    const route = methods[request.method ?? ''];
    if (!route) {
      const answer = adminError(405, ErpSimulatorAdminErrorCode.METHOD_NOT_ALLOWED, `${url.pathname} takes ${Object.keys(methods).join(', ')}`);
      return send(response, { ...answer, headers: { allow: Object.keys(methods).join(', ') } });
    }
    if (!route.takesBody) return send(response, route.handle(undefined));
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body instanceof RequestBodyError) return send(response, adminError(413, ErpSimulatorAdminErrorCode.PAYLOAD_TOO_LARGE, body.message));
    const parsed = parseJson(body);
    if (parsed === undefined) return send(response, adminError(400, ErpSimulatorAdminErrorCode.BAD_REQUEST, 'The request body must be JSON'));
    send(response, route.handle(parsed));
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const serving = url.pathname === '/admin' || url.pathname.startsWith('/admin/') ? serveAdmin(request, response, url) : serveErp(request, response, url);
    // Reached when the simulator stops while it holds an answer, or the connection broke.
    serving.catch(() => response.destroy());
  });
  const baseUrl = await listen(server, port, host);

  const injectFaultOrThrow = (fault: ErpFault) => throwIfProblem(injectFault(fault));
  return {
    baseUrl,
    adminUrl: `${baseUrl}/admin/`,
    requests,
    stagedTransactions,
    setBalances: (balances) => void throwIfProblem(setBalances(balances)),
    balances: () => book.list(),
    adjustBalance: (adjustment) => throwIfProblem(adjustBalance(adjustment)),
    setRecords: (next) => void (records = next),
    injectFault: injectFaultOrThrow,
    clearFaults: () => void faults.clear(),
    failNext: (count, status, scope = {}) => void injectFaultOrThrow({ kind: 'status', status, times: count, ...scope }),
    delayNext: (ms, scope = {}) => void injectFaultOrThrow({ kind: 'latency', ms, ...scope }),
    malformNext: (scope = {}) => void injectFaultOrThrow({ kind: 'malformed', ...scope }),
    loseNextResponse: (scope = {}) => void injectFaultOrThrow({ kind: 'drop', ...scope }),
    requestNumber: (count) => new Promise((resolve, reject) => {
      if (counts.requests < count) waiters.push({ count, resolve });
      else if (keepRequests) resolve(requests[count - 1]!);
      else reject(new TypeError(`Request ${count} has arrived, and was not kept (keepRequests: false)`));
    }),
    stats,
    stop: async () => {
      stopping.abort();
      await closeServer(server);
    },
  };
}

/** The items a `q` (parsed into `conditions`) asks for. */
type MatchingItems = (items: readonly object[], conditions: readonly QueryCondition[], q: string | null) => readonly object[];

function matchingItems(items: readonly object[], conditions: readonly QueryCondition[]): readonly object[] {
  return items.filter((item) => matchesQuery(item, conditions));
}

function areaOf(path: string): RequestArea {
  if (path === BALANCES_PATH) return 'balances';
  return path === STAGED_TRANSACTIONS_PATH ? 'transactions' : 'other';
}

/** The value, or a TypeError carrying the problem: how the programmatic handle reports what the admin endpoint answers 400. */
function throwIfProblem<T>(result: T | string): T {
  if (typeof result === 'string') throw new TypeError(result);
  return result;
}

function orBadRequest<T>(result: T | string, answer: (value: T) => Answer): Answer {
  return typeof result === 'string' ? adminError(400, ErpSimulatorAdminErrorCode.BAD_REQUEST, result) : answer(result);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const textAnswer = (status: number, detail: string): Answer => ({ status, contentType: 'text/plain; charset=utf-8', body: detail });
const created = (record: StagedTransactionRecord): Answer =>
  ({ status: 201, contentType: 'application/vnd.oracle.adf.resourceitem+json', body: JSON.stringify(record) });
const jsonAnswer = (status: number, body: unknown): Answer => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) });
const adminError = (status: number, code: ErpSimulatorAdminErrorCode, message: string) => jsonAnswer(status, { error: { code, message } });

function send(response: ServerResponse, { status, contentType, body, headers = {} }: Answer): void {
  response.writeHead(status, { 'content-type': contentType, ...headers });
  response.end(body);
}
