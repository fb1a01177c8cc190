import type { z } from 'zod';
import {
  holdResponse, inspectionResponse, MAX_ORDER_STOCK_BATCH, ORDER_STOCK_API, releaseResponse,
  type HoldRequestItem, type HoldResult, type InspectionRequestItem, type InspectionResult, type ReleaseResponse,
} from '../../../platform/contracts/orderStockApi.ts';
import { correlationHeaders } from '../../../platform/observability/requestContext.ts';

export interface OrderStockClientOptions {
  /** Inventory's base URL (its internal API is served beside its GraphQL endpoint). */
  readonly baseUrl: string;
  /** The shared INTERNAL_API_TOKEN; null when none is configured, and then every call fails. */
  readonly token: string | null;
  /** How long one call may take, in milliseconds. */
  readonly timeoutMs: number;
}

/**
 * Inventory could not answer: not reached, too slow, an error, or an answer that breaks the
 * contract. Whether the request took effect is unknown: send it again (inventory answers a
 * repeat as it answered the first).
 */
export class InventoryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InventoryUnavailableError';
  }
}

/** The orders service's side of the internal order-stock API (platform/contracts/orderStockApi.ts). */
export class OrderStockClient {
  constructor(private readonly options: OrderStockClientOptions) {}

  hold(holds: readonly HoldRequestItem[]): Promise<HoldResult[]> {
    return this.inBatches(ORDER_STOCK_API.holds, 'holds', holds, holdResponse);
  }

  release(orderIds: readonly string[]): Promise<ReleaseResponse['results']> {
    return this.inBatches(ORDER_STOCK_API.releases, 'releases', orderIds.map((orderId) => ({ orderId })), releaseResponse);
  }

  inspect(inspections: readonly InspectionRequestItem[]): Promise<InspectionResult[]> {
    return this.inBatches(ORDER_STOCK_API.inspections, 'inspections', inspections, inspectionResponse);
  }

  /** Posts the items in requests of at most MAX_ORDER_STOCK_BATCH; one result per item, in order. */
  private async inBatches<Item, Result>(
    path: string,
    field: string,
    items: readonly Item[],
    response: z.ZodType<{ results: Result[] }>,
  ): Promise<Result[]> {
    const results: Result[] = [];
    for (let start = 0; start < items.length; start += MAX_ORDER_STOCK_BATCH) {
      const batch = items.slice(start, start + MAX_ORDER_STOCK_BATCH);
      const answer = response.safeParse(await this.post(path, { [field]: batch }));
      if (!answer.success || answer.data.results.length !== batch.length) {
        throw new InventoryUnavailableError(`inventory answered ${path} with a body that breaks the contract`);
      }
      results.push(...answer.data.results);
    }
    return results;
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const { baseUrl, token, timeoutMs } = this.options;
    if (token === null) throw new InventoryUnavailableError('no INTERNAL_API_TOKEN is configured, so inventory cannot be asked');
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...correlationHeaders() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new InventoryUnavailableError(`inventory at ${baseUrl} did not answer ${path}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new InventoryUnavailableError(`inventory answered ${path} with ${response.status}: ${text.slice(0, 500)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new InventoryUnavailableError(`inventory answered ${path} with a body that is not JSON`);
    }
  }
}
