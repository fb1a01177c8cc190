import { signEventBatch, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';

let nextId = 0;

/** An acme-wms event (flat snake_case format); SKU-00042 is "ACME-00042", DC-01 is "ATL1". */
export function acmeEvent(fields: Record<string, unknown>): Record<string, unknown> {
  nextId += 1;
  return {
    event_id: `acme-${process.pid}-${nextId}`,
    txn_type: 'RCV',
    seq: nextId,
    item_code: 'ACME-00001',
    site: 'ATL1',
    qty: 1,
    uom: 'EA',
    ts: new Date().toISOString(),
    ...fields,
  };
}

/** POSTs a signed batch to `${baseUrl}/events/${source}`, with `headers` besides its own. */
export async function postEvents(
  baseUrl: string,
  source: string,
  events: readonly unknown[],
  { secret = 'test-secret', timestamp = Math.floor(Date.now() / 1000), signature, headers: extraHeaders = {} }: { secret?: string; timestamp?: number; signature?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const body = JSON.stringify({ events });
  const headers: Record<string, string> = { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), ...extraHeaders };
  const signed = signature === undefined ? signEventBatch(secret, timestamp, body) : signature;
  if (signed !== null) headers[SIGNATURE_HEADER] = signed;
  const response = await fetch(`${baseUrl}/events/${source}`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.json(), headers: response.headers };
}
