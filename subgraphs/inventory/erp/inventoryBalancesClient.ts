import { setTimeout as delay } from 'node:timers/promises';
import { BalanceCollector, toErpBalance, type ErpBalance, type RejectedBalance } from './erpBalance.ts';
import { basicAuthorization, ErpRefusal, requestErp, TransientErpFailure } from '../../../platform/erp/erpHttp.ts';

/** Oracle Fusion SCM's on-hand balances collection (REST framework version 11.13.18.05). */
const INVENTORY_BALANCES_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryOnhandBalances';

export interface InventoryBalancesClientOptions {
  /** The Fusion pod, e.g. `https://example.fa.ocs.oraclecloud.com`; the resource path is appended. */
  baseUrl: string;
  /** ERP organization code -> Stockgraph location id. Balances of other organizations are rejected. */
  organizationLocations: Readonly<Record<string, string>>;
  /** Records asked for per page; the ERP may send fewer. */
  pageSize?: number;
  /** HTTP Basic credentials. */
  auth?: { username: string; password: string };
  /** Tries per page before giving up, the first included. */
  maxAttempts?: number;
  /** Wait before the first retry of a page, in milliseconds; doubled for each later retry. */
  backoffMs?: number;
  /** How long one request may take, body included, in milliseconds. */
  timeoutMs?: number;
}

export interface BalancePull {
  balances: ErpBalance[];
  /** Records that could not be used; `line` is the record's 1-based position in the whole pull. */
  rejected: RejectedBalance[];
  pages: number;
}

/** The ERP could not be read: retries were exhausted, or it refused the request outright. */
export class ErpUnavailableError extends Error {
  override readonly name = 'ErpUnavailableError';
}

/**
 * Reads every on-hand balance the ERP holds, page by page (`limit` / `offset`, until `hasMore`
 * is false). A page that fails (5xx, 429, timeout, connection error, malformed body) is retried
 * with exponential backoff; pages already read are not fetched again. Any other 4xx fails at once.
 * A record that cannot be used is rejected with its reason and never stops the pull.
 *
 * @throws ErpUnavailableError when a page cannot be read; the caller's abort reason when `signal` aborts.
 */
export async function pullInventoryBalances(options: InventoryBalancesClientOptions, signal?: AbortSignal): Promise<BalancePull> {
  const {
    baseUrl,
    organizationLocations,
    pageSize = 500,
    auth,
    maxAttempts = 3,
    backoffMs = 200, // 0.2 seconds
    timeoutMs = 10_000, // 10 seconds
  } = options;
  if (!(Number.isInteger(pageSize) && pageSize > 0)) throw new TypeError(`pageSize must be a positive whole number (got ${pageSize})`);
  if (!(Number.isInteger(maxAttempts) && maxAttempts > 0)) throw new TypeError(`maxAttempts must be a positive whole number (got ${maxAttempts})`);
  const asOf = new Date();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth) headers.authorization = basicAuthorization(auth);

  const collector = new BalanceCollector('record');
  let offset = 0;
  let pages = 0;
  for (;;) {
    const url = new URL(baseUrl.replace(/\/+$/, '') + INVENTORY_BALANCES_PATH);
    // onlyData drops the per-record links, which are most of a page's size.
    url.search = new URLSearchParams({ limit: String(pageSize), offset: String(offset), onlyData: 'true' }).toString();
    const page = await fetchPage(url, { headers, maxAttempts, backoffMs, timeoutMs, signal });
    pages++;
    page.items.forEach((record, index) => collector.add(offset + index + 1, toBalance(record, organizationLocations, asOf)));
    if (!page.hasMore) break;
    // The server may send fewer records than the limit asked for, so move on by what arrived.
    offset += page.items.length;
  }
  return { balances: collector.balances, rejected: collector.rejected, pages };
}

/**
 * One record of the collection, in Oracle's attribute names. Quantities are in the item's
 * primary unit of measure (`PrimaryUOMCode`), which is Stockgraph's unit for the item.
 */
function toBalance(record: unknown, organizationLocations: Readonly<Record<string, string>>, asOf: Date): ErpBalance | string {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'record is not an object';
  const fields = record as Record<string, unknown>;
  const organization = fields.OrganizationCode;
  if (organization === undefined || organization === null || organization === '') return 'OrganizationCode is missing';
  const locationId = typeof organization === 'string' && Object.hasOwn(organizationLocations, organization)
    ? organizationLocations[organization]
    : undefined;
  if (locationId === undefined) return `OrganizationCode ${JSON.stringify(organization)} is not mapped to a Stockgraph location`;
  return toErpBalance({
    sku: ['ItemNumber', fields.ItemNumber],
    locationId: ['OrganizationCode', locationId],
    subinventory: ['SubinventoryCode', fields.SubinventoryCode],
    lot: ['LotNumber', fields.LotNumber],
    onHand: ['PrimaryQuantity', fields.PrimaryQuantity],
  }, asOf);
}

interface Page {
  readonly items: readonly unknown[];
  readonly hasMore: boolean;
}

interface PageRequest {
  readonly headers: Record<string, string>;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

async function fetchPage(url: URL, { headers, maxAttempts, backoffMs, timeoutMs, signal }: PageRequest): Promise<Page> {
  const offset = url.searchParams.get('offset');
  let lastFailure: TransientErpFailure | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      await delay(backoffMs * 2 ** (attempt - 2), undefined, { signal }).catch((error: unknown) => {
        signal?.throwIfAborted();
        throw error;
      });
    }
    try {
      return parsePage(await requestErp(url, { headers, timeoutMs, signal }));
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof ErpRefusal) throw new ErpUnavailableError(`ERP refused the inventory balances page at offset ${offset}: ${error.status}`);
      if (!(error instanceof TransientErpFailure)) throw error;
      lastFailure = error;
    }
  }
  throw new ErpUnavailableError(
    `ERP inventory balances page at offset ${offset} failed ${maxAttempts} times; last: ${lastFailure?.message}`,
    { cause: lastFailure },
  );
}

function parsePage(body: string): Page {
  let page: unknown;
  try {
    page = JSON.parse(body);
  } catch {
    throw new TransientErpFailure('answered with a body that is not JSON');
  }
  const { items, hasMore } = (typeof page === 'object' && page !== null ? page : {}) as Record<string, unknown>;
  if (!Array.isArray(items) || typeof hasMore !== 'boolean') {
    throw new TransientErpFailure('answered with a page lacking an items array or a hasMore flag');
  }
  // Moving on by zero records would ask for the same page forever.
  if (hasMore && items.length === 0) throw new TransientErpFailure('answered hasMore with no items');
  return { items, hasMore };
}
