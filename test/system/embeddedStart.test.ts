import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { useCleanup } from '../support/cleanup.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly gatewayUrl: string;
  readonly exampleRequestBody: string;
  /** The demo client's key, which the banner prints for the mutation examples. */
  readonly demoKey: string;
  /** The demo's WMS signing secret and ERP upload token, and the inventory service's URL, as printed for "Feeding it stock". */
  readonly feeds: { readonly wmsSecret: string; readonly erpImportToken: string; readonly inventoryUrl: string };
}

/** Runs `npm start`'s command with no DATABASE_URL / REDIS_URL, on free ports, until it prints its banner. */
async function startEmbedded(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/start.ts'], {
    env: { PATH: process.env.PATH, STOCKGRAPH_DATA_DIR: dataDir, CLIENTS_FILE: join(dataDir, 'clients.json'), GATEWAY_PORT: '0', INVENTORY_PORT: '0', ORDERS_PORT: '0', RECONCILIATION_PORT: '0', ERP_SIMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const banner = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(
        /GraphQL gateway\s+(http:\/\/\S+)\/graphql[\s\S]*?-d '(.+)'\n[\s\S]*export STOCKGRAPH_KEY=(\S+)\n[\s\S]*export WMS_SECRET=(\S+) ERP_IMPORT_TOKEN=(\S+)\n\s+curl -s (http:\/\/\S+)\/erp\/balances/,
      );
      if (match) resolve(match);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const [, gatewayUrl, exampleRequestBody, demoKey, wmsSecret, erpImportToken, inventoryUrl] = await banner;
  return {
    child, output: () => output, gatewayUrl: gatewayUrl!, exampleRequestBody: exampleRequestBody!, demoKey: demoKey!,
    feeds: { wmsSecret: wmsSecret!, erpImportToken: erpImportToken!, inventoryUrl: inventoryUrl! },
  };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('npm start on a bare machine', () => {
  const cleanup = useCleanup();

  it('brings up all four services embedded: the printed example query returns federated data, and stock changes reach subscribers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stockgraph-embedded-'));
    cleanup(() => rmSync(dataDir, { recursive: true, force: true }));

    // Given a first start: migrates, seeds the demo data and prints the example
    const first = await startEmbedded(dataDir);
    cleanup(() => first.child.exitCode === null && stop(first.child));
    assert.match(first.output(), /database migrated/);
    assert.match(first.output(), /demo data seeded/);

    // When the printed example request is sent to the printed URL
    const response = await fetch(`${first.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: first.exampleRequestBody,
    });
    const { data, errors } = (await response.json()) as { data: any; errors?: unknown };

    // Then it answers with data from inventory, orders and reconciliation
    assert.equal(errors, undefined);
    assert.equal(data.item.sku, 'SKU-00001');
    assert.ok(data.item.openOrders.length > 0, 'orders subgraph answered');
    const [level] = data.item.stockLevels;
    assert.ok(level.onHandWms > 0 && level.available >= 0, 'inventory subgraph answered');
    assert.equal(level.reconciliation.variance, level.onHandWms - level.onHandErp, 'reconciliation subgraph answered');
    assert.equal((await fetch(`${first.gatewayUrl}/readyz`)).status, 200);

    // And the demo's first reconciliation run has compared every position, and the demo orders'
    // transactions reached the simulated ERP through the sync ledger
    const demo = await fetch(`${first.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ reconciliationRuns(first: 1) { nodes { status positionsCompared matched } } syncTransactions(filter: { kind: [SHIP] }, first: 1) { nodes { status } } }' }),
    });
    const { reconciliationRuns, syncTransactions } = ((await demo.json()) as { data: any }).data;
    const [run] = reconciliationRuns.nodes;
    assert.equal(run.status, 'COMPLETED');
    assert.ok(run.positionsCompared === 60_000 && run.matched < run.positionsCompared, 'the demo data\'s disagreements were found');
    assert.equal(syncTransactions.nodes.length, 1, 'the demo orders\' shipments entered the sync ledger');
    const erp = first.output().match(/ERP \(simulated\)\s+(http:\/\/\S+)/)![1];
    const stats = (await (await fetch(`${erp}/admin/stats`)).json()) as { transactionsAccepted: number };
    assert.ok(stats.transactionsAccepted > 0, 'the sync connector posted to the simulated ERP');

    // And a reservation's stock change reaches a subscriber over the in-process bus
    const client = createClient({ url: `${first.gatewayUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    cleanup(() => client.dispose());
    const changes = client.iterate<{ stockChanged: { cause: { type: string; id: string }; item: { openOrders: unknown[] } } }>({
      query: 'subscription { stockChanged(skus: ["SKU-00001"], after: "0-0") { cause { type id } item { openOrders { id } } } }',
    });
    const reserve = (headers: Record<string, string>) => fetch(`${first.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        query: 'mutation { createReservation(input: { sku: "SKU-00001", quantity: 1, locationId: "DC-01", channel: "WEB", reference: "embedded-test", idempotencyKey: "embedded-test-1" }) { id } }',
      }),
    });
    const anonymous = await reserve({});
    assert.equal(anonymous.status, 401, 'anonymous callers may read the demo but never change it');
    assert.equal(((await anonymous.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'UNAUTHENTICATED');
    const reserved = await reserve({ authorization: `Bearer ${first.demoKey}` });
    const reservation = ((await reserved.json()) as { data: { createReservation: { id: string } } }).data.createReservation;
    // The stream holds the demo orders' changes of the SKU first, then the reservation's.
    let change = (await changes.next()).value;
    while (change?.data?.stockChanged.cause.type === 'ORDER') change = (await changes.next()).value;
    assert.deepEqual(change?.data?.stockChanged.cause, { type: 'RESERVATION', id: reservation.id });
    assert.ok(change?.data?.stockChanged.item.openOrders.length, 'the selection reached the orders subgraph');
    await changes.return?.();
    await client.dispose();

    // And the printed secrets feed stock in as the README shows: the shipped sample CSV, and a signed WMS event
    const { wmsSecret, erpImportToken, inventoryUrl } = first.feeds;
    const uploaded = await fetch(`${inventoryUrl}/erp/balances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${erpImportToken}`, 'content-type': 'text/csv' },
      body: readFileSync('examples/erp-balances.csv'),
    });
    const upload = (await uploaded.json()) as { received: number; updated: number; unchanged: number; rejected: { line: number; reason: string }[] };
    assert.equal(uploaded.status, 200);
    assert.deepEqual([upload.received, upload.updated + upload.unchanged, upload.rejected], [5, 4, [{ line: 6, reason: 'SKU SKU-99999 does not exist' }]]);
    const posted = await postEvents(inventoryUrl, 'acme-wms', [acmeEvent({ item_code: 'ACME-00001', qty: 2 })], { secret: wmsSecret });
    assert.deepEqual([posted.status, posted.body.applied], [200, 1]);
    assert.equal(await stop(first.child), 0, 'stops cleanly on SIGTERM');

    // And a second start on the same data folder keeps the data and seeds nothing
    const second = await startEmbedded(dataDir);
    cleanup(() => second.child.exitCode === null && stop(second.child));
    assert.doesNotMatch(second.output(), /database migrated|demo data seeded/);
    // With a new demo key: keys are kept as digests, so the one printed before is not printed again, and no longer works
    assert.notEqual(second.demoKey, first.demoKey);
    const withOldKey = await fetch(`${second.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${first.demoKey}` }, body: JSON.stringify({ query: '{ __typename }' }) });
    assert.equal(withOldKey.status, 401);
    assert.equal(await stop(second.child), 0);
  });
});
