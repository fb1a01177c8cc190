import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp/erpSimulator.ts';
import { useCleanup } from '../support/cleanup.ts';
import { graphql } from '../support/graphql.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

interface SyncFailed {
  cursor: string | null;
  attempts: number;
  lastError: string;
  syncTransaction: { id: string; kind: string; status: string; attempts: number; stockLevel: { sku: string; locationId: string; onHandWms: number } };
}

describe('syncFailed through the gateway: a warehouse receipt the ERP keeps refusing, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let erp: ErpSimulator;
  let running: TestSystem;

  before(async () => {
    erp = await startErpSimulator();
    running = await startTestSystem('sync-failed-gateway', {
      env: { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: 'ATL=DC-01,DFW=DC-02', ERP_SYNC_INTERVAL_MS: '20', ERP_SYNC_BACKOFF_MS: '20' },
    });
  });

  after(async () => {
    await running?.stop();
    await erp?.stop();
  });

  it('delivers syncFailed once the ERP has failed all 3 attempts at the transaction, with its stock level from inventory', { timeout: 60_000 }, async () => {
    const { system, clients } = running;
    // Given an ERP that answers 503 to every staged transaction, through its admin endpoint
    const fault = await fetch(`${erp.adminUrl}faults`, { method: 'POST', body: JSON.stringify({ kind: 'status', status: 503, probability: 1, target: 'transactions' }) });
    assert.equal(fault.status, 201);
    // And a subscriber to the failures at DC-01, from the start of the stream
    const client = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers() });
    cleanup(() => client.dispose());
    const failures = client.iterate<{ syncFailed: SyncFailed }>({
      query: `subscription { syncFailed(locationIds: ["DC-01"], after: "0-0") {
        cursor attempts lastError syncTransaction { id kind status attempts stockLevel { sku locationId onHandWms } } } }`,
    });

    const onHandWms = async () =>
      (await graphql(system.gateway.url, '{ stockLevel(sku: "SKU-00001", locationId: "DC-01") { onHandWms } }', {}, clients.headers())).data!.stockLevel.onHandWms as number;
    const onHandBefore = await onHandWms();

    // When the warehouse receives 3 units of SKU-00001 at DC-01 (ATL1)
    const receipt = acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00001', site: 'ATL1', qty: 3 });
    const posted = await postEvents(system.subgraphs.inventory.url, 'acme-wms', [receipt]);
    assert.equal(posted.body.applied, 1, JSON.stringify(posted.body));

    // Then the subscriber is told the receipt failed to sync, after its third attempt
    const { value, done } = await failures.next();
    assert.equal(done, false);
    assert.equal(value.errors, undefined, JSON.stringify(value.errors));
    const failure = value.data!.syncFailed;
    const transactionId = `WAREHOUSE_EVENT:acme-wms:${receipt.event_id}`;
    assert.ok(failure.cursor, 'delivered with its place in the stream');
    assert.deepEqual({ ...failure, cursor: undefined }, {
      cursor: undefined, attempts: 3, lastError: 'ERP answered 503 Service Unavailable',
      syncTransaction: { id: transactionId, kind: 'RECEIPT', status: 'SYNC_FAILED', attempts: 3, stockLevel: { sku: 'SKU-00001', locationId: 'DC-01', onHandWms: onHandBefore + 3 } },
    });
    // And the ERP was asked three times, under one reference, and took nothing
    assert.deepEqual(erp.requests.filter((request) => request.method === 'POST').map((request) => (request.body as { TransactionReference: string }).TransactionReference), [transactionId, transactionId, transactionId]);
    assert.equal(erp.stats().transactionsAccepted, 0);
  });
});
