import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { startErpSimulator, type ErpSimulator, type StagedTransactionRecord } from '../../simulators/erp/erpSimulator.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { graphql } from '../support/graphql.ts';
import { givenStock } from '../support/stock.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

type Raw = Record<string, unknown>;

interface Buckets {
  onHandWms: number;
  onHandNonNettable: number;
  damaged: number;
  available: number;
}

interface PublishedChange {
  cause: { type: string; id: string };
  before: Buckets;
  after: Buckets;
}

const BUCKETS = 'onHandWms onHandNonNettable damaged available';

// acme-wms names SKU-n ACME-n, DC-01 ATL1 and DC-12 MDT1, STOCK MAIN and DAMAGED DMG; northwind-3pl
// names DC-01 NW-ATLANTA and STOCK PICKFACE. The ERP knows DC-01 as ATL.
describe('damaged stock from the warehouse feed, through the gateway and the ERP sync ledger, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let erp: ErpSimulator;
  let running: TestSystem;
  let nextSku = 0;

  before(async () => {
    erp = await startErpSimulator();
    running = await startTestSystem('damaged-stock', {
      env: {
        WMS_SOURCE_SECRETS: 'acme-wms=acme-secret,northwind-3pl=northwind-secret',
        ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: 'ATL=DC-01,ORD=DC-02', ERP_SYNC_INTERVAL_MS: '20', ERP_SYNC_BACKOFF_MS: '20',
      },
    });
  });

  after(async () => {
    await running?.stop();
    await erp?.stop();
  });

  /** A new EA item with `onHand` units in STOCK at each location given. */
  const givenSku = async (onHandByLocation: Record<string, number>, options?: Parameters<typeof givenStock>[3]) => {
    const sku = `SKU-9${String(++nextSku).padStart(4, '0')}`;
    await givenStock(running.database.db, sku, onHandByLocation, options);
    return sku;
  };
  const acme = (sku: string, fields: Raw) => acmeEvent({ item_code: sku.replace('SKU-', 'ACME-'), uom: 'EA', ...fields });
  let nextNorthwind = 0;
  const northwind = (sku: string, movement: Raw) => {
    nextNorthwind += 1;
    return {
      header: { messageId: `nw-${process.pid}-${nextNorthwind}`, sequenceNo: String(nextNorthwind), timestamp: Date.now() },
      movement: { warehouse: 'NW-ATLANTA', product: { sku }, ...movement },
    };
  };
  /** Posts signed events of one source; returns each one's status, with its dead-letter code when it has one. */
  const warehouse = async (source: 'acme-wms' | 'northwind-3pl', ...events: Raw[]): Promise<string[]> => {
    const { status, body } = await postEvents(running.system.subgraphs.inventory.url, source, events, { secret: source === 'acme-wms' ? 'acme-secret' : 'northwind-secret' });
    assert.equal(status, 200, JSON.stringify(body));
    return body.results.map((result: { status: string; code?: string }) => (result.code ? `${result.status} ${result.code}` : result.status));
  };
  const gateway = (query: string, variables: Record<string, unknown> = {}) => graphql(running.system.gateway.url, query, variables, running.clients.headers());
  const level = async (sku: string, locationId = 'DC-01'): Promise<Buckets> => {
    const { data, errors } = await gateway(`query ($sku: ID!, $locationId: ID!) { stockLevel(sku: $sku, locationId: $locationId) { ${BUCKETS} } }`, { sku, locationId });
    assert.equal(errors, undefined, JSON.stringify(errors));
    return data.stockLevel;
  };
  const transfer = async (sku: string, quantity: number, from: string, to: string, serials?: string[]) => {
    const { data, errors } = await gateway(`mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { id status } }`, {
      input: { idempotencyKey: `damaged-${sku}-${from}-${to}-${quantity}`, sku, quantity, from: { locationId: 'DC-01', subinventory: from }, to: { locationId: 'DC-01', subinventory: to }, serials },
    });
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.equal(data.createTransfer.status, 'COMPLETED');
    return data.createTransfer.id as string;
  };

  /** The stock changes of `sku` as the gateway's stockChanged subscription delivers them, from the start of the stream. */
  function publishedChanges(sku: string) {
    const client = createClient({
      url: `${running.system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: running.clients.headers(),
    });
    cleanup(() => client.dispose());
    const changes = client.iterate<{ stockChanged: PublishedChange }>({
      query: `subscription ($skus: [ID!]) { stockChanged(skus: $skus, after: "0-0") { cause { type id } before { ${BUCKETS} } after { ${BUCKETS} } } }`,
      variables: { skus: [sku] },
    });
    return async (count: number): Promise<PublishedChange[]> => {
      const received: PublishedChange[] = [];
      while (received.length < count) {
        const { value, done } = await changes.next();
        assert.equal(done, false);
        assert.equal(value.errors, undefined, JSON.stringify(value.errors));
        received.push(value.data!.stockChanged);
      }
      return received;
    };
  }

  /**
   * What the ERP accepted under each of `references`, once it has accepted all of them (in whatever
   * order the connector posted them): type, subinventories, quantity and serials.
   */
  const postedToErp = async (...references: string[]) => {
    const posted = await eventually(
      () => Promise.resolve(new Map(erp.stagedTransactions.map((record) => [record.TransactionReference, record]))),
      (byReference) => references.every((reference) => byReference.has(reference)),
      { what: `the ERP accepting ${references.join(', ')}` },
    );
    return references.map((reference) => {
      const record: StagedTransactionRecord = posted.get(reference)!;
      return {
        reference, type: record.TransactionTypeName, subinventory: record.SubinventoryCode, to: record.TransferSubinventory ?? null,
        quantity: record.TransactionQuantity, serials: record.serials.map((range) => range.FmSerialNumber),
      };
    });
  };
  const erpBalance = (sku: string, subinventory: string) =>
    erp.balances().find((balance) => balance.ItemNumber === sku && balance.SubinventoryCode === subinventory)?.PrimaryQuantity;
  /** The cause id of a warehouse event's stock change; its transaction is `WAREHOUSE_EVENT:` and this. */
  const eventRef = (source: string, event: Raw) => `${source}:${String(event.event_id ?? (event.header as Raw).messageId)}`;
  const transactionOf = (source: string, event: Raw) => `WAREHOUSE_EVENT:${eventRef(source, event)}`;

  it('moves units found damaged in stock to DAMAGED from either WMS format, publishes damaged before and after, and books a subinventory transfer in the ERP', { timeout: 30_000 }, async () => {
    // Given 10 units in STOCK, and a subscriber to their stock changes
    const sku = await givenSku({ 'DC-01': 10 });
    const changes = publishedChanges(sku);

    // When acme-wms finds 3 damaged on the shelf (reason DMG) and northwind-3pl 2 more (reason breakage)
    const fromAcme = acme(sku, { txn_type: 'ADJ', subinv: 'MAIN', reason_code: 'DMG', qty: -3 });
    const fromNorthwind = northwind(sku, { kind: 'stock-adjustment', adjustmentReason: 'breakage', bin: { zone: 'PICKFACE' }, quantity: { value: -2, unit: 'EACH' } });
    assert.deepEqual(await warehouse('acme-wms', fromAcme), ['APPLIED']);
    assert.deepEqual(await warehouse('northwind-3pl', fromNorthwind), ['APPLIED']);

    // Then 5 are damaged and no longer promised, and none counts as other non-nettable stock
    assert.deepEqual(await level(sku), { onHandWms: 5, onHandNonNettable: 0, damaged: 5, available: 5 });
    // And each change is published with damaged before and after
    assert.deepEqual(await changes(2), [
      { cause: { type: 'WAREHOUSE_EVENT', id: eventRef('acme-wms', fromAcme) }, before: { onHandWms: 10, onHandNonNettable: 0, damaged: 0, available: 10 }, after: { onHandWms: 7, onHandNonNettable: 0, damaged: 3, available: 7 } },
      { cause: { type: 'WAREHOUSE_EVENT', id: eventRef('northwind-3pl', fromNorthwind) }, before: { onHandWms: 7, onHandNonNettable: 0, damaged: 3, available: 7 }, after: { onHandWms: 5, onHandNonNettable: 0, damaged: 5, available: 5 } },
    ]);
    // And the ERP is told of each as one subinventory transfer from STOCK into DAMAGED, which moves its own balances so
    const [acmeTransaction, northwindTransaction] = [transactionOf('acme-wms', fromAcme), transactionOf('northwind-3pl', fromNorthwind)];
    assert.deepEqual(await postedToErp(acmeTransaction, northwindTransaction), [
      { reference: acmeTransaction, type: 'Subinventory Transfer', subinventory: 'STOCK', to: 'DAMAGED', quantity: -3, serials: [] },
      { reference: northwindTransaction, type: 'Subinventory Transfer', subinventory: 'STOCK', to: 'DAMAGED', quantity: -2, serials: [] },
    ]);
    assert.deepEqual([erpBalance(sku, 'STOCK'), erpBalance(sku, 'DAMAGED')], [-5, 5]);
  });

  it('writes damaged units off, and dead-letters a write-off or move of more than its subinventory holds, changing nothing', { timeout: 30_000 }, async () => {
    // Given 4 of 10 units found damaged
    const sku = await givenSku({ 'DC-01': 10 });
    const changes = publishedChanges(sku);
    const damage = acme(sku, { txn_type: 'ADJ', reason_code: 'DMG', qty: -4 });
    assert.deepEqual(await warehouse('acme-wms', damage), ['APPLIED']);

    // When 3 of them are written off, then 2 more than DAMAGED still holds, then 7 found damaged of the 6 left
    // in STOCK, and 2 found sellable of the 1 left in DAMAGED
    const writeOff = acme(sku, { txn_type: 'ADJ', subinv: 'DMG', qty: -3 });
    assert.deepEqual(await warehouse('acme-wms', writeOff), ['APPLIED']);
    assert.deepEqual(await warehouse('acme-wms',
      acme(sku, { txn_type: 'ADJ', subinv: 'DMG', qty: -2 }),
      acme(sku, { txn_type: 'ADJ', reason_code: 'DMG', qty: -7 }),
      acme(sku, { txn_type: 'ADJ', reason_code: 'DMG', qty: 2 }),
    ), ['DEAD_LETTERED NEGATIVE_STOCK', 'DEAD_LETTERED NEGATIVE_STOCK', 'DEAD_LETTERED NEGATIVE_STOCK']);

    // Then the write-off took 3 out of damaged, and the refused events nothing
    assert.deepEqual(await level(sku), { onHandWms: 6, onHandNonNettable: 0, damaged: 1, available: 6 });
    // And nothing was published for them: after the write-off comes a receipt sent after them
    const marker = acme(sku, { txn_type: 'RCV', qty: 1 });
    assert.deepEqual(await warehouse('acme-wms', marker), ['APPLIED']);
    assert.deepEqual((await changes(3)).map(({ cause, after }) => [cause.id, after.damaged, after.onHandWms]), [
      [eventRef('acme-wms', damage), 4, 6], [eventRef('acme-wms', writeOff), 1, 6], [eventRef('acme-wms', marker), 1, 7],
    ]);
    // And the ERP books the write-off as an issue from DAMAGED
    assert.deepEqual(await postedToErp(transactionOf('acme-wms', writeOff)), [
      { reference: transactionOf('acme-wms', writeOff), type: 'Miscellaneous Issue', subinventory: 'DAMAGED', to: null, quantity: -3, serials: [] },
    ]);
  });

  it('dead-letters a damage adjustment at a location without DAMAGED, changing nothing', async () => {
    // Given DC-12 (MDT1) without a DAMAGED subinventory, and 5 units in its STOCK
    await running.database.db.query(`DELETE FROM stock_position WHERE location_id = 'DC-12' AND subinventory = 'DAMAGED'`);
    await running.database.db.query(`DELETE FROM subinventory WHERE location_id = 'DC-12' AND code = 'DAMAGED'`);
    const sku = await givenSku({ 'DC-12': 5 });

    // When damage is found there
    const outcome = await warehouse('acme-wms', acme(sku, { txn_type: 'ADJ', site: 'MDT1', reason_code: 'DMG', qty: -1 }));

    // Then it is dead-lettered and the stock stays as it was
    assert.deepEqual(outcome, ['DEAD_LETTERED UNKNOWN_SUBINVENTORY']);
    assert.deepEqual(await level(sku, 'DC-12'), { onHandWms: 5, onHandNonNettable: 0, damaged: 0, available: 5 });
  });

  it('counts units into damaged by transfer, restock and count, and out of it by transfer, each change published with it', { timeout: 30_000 }, async () => {
    // Given 10 units in STOCK
    const sku = await givenSku({ 'DC-01': 10 });
    const changes = publishedChanges(sku);

    // When 3 are moved to DAMAGED and 1 back, 2 returns received of which 1 is scrapped, DAMAGED is counted at 1,
    // and the warehouse ships that one away to another site
    await transfer(sku, 3, 'STOCK', 'DAMAGED');
    await transfer(sku, 1, 'DAMAGED', 'STOCK');
    assert.deepEqual(await warehouse('acme-wms',
      acme(sku, { txn_type: 'RTN', qty: 2, order_no: 'WEB-DMG-1' }),
      acme(sku, { txn_type: 'RST', subinv: 'DMG', qty: 1, order_no: 'WEB-DMG-1' }),
      acme(sku, { txn_type: 'CNT', subinv: 'DMG', qty: 1 }),
      acme(sku, { txn_type: 'XFO', subinv: 'DMG', qty: 1 }),
    ), ['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);

    // Then damaged followed each, and what stays in QA is the other non-nettable stock
    assert.deepEqual((await changes(6)).map(({ cause, before, after }) => [cause.type, before.damaged, after.damaged, after.onHandWms, after.onHandNonNettable]), [
      ['TRANSFER', 0, 3, 7, 0],
      ['TRANSFER', 3, 2, 8, 0],
      ['WAREHOUSE_EVENT', 2, 2, 8, 2],
      ['WAREHOUSE_EVENT', 2, 3, 8, 1],
      ['WAREHOUSE_EVENT', 3, 1, 8, 1],
      ['WAREHOUSE_EVENT', 1, 0, 8, 1],
    ]);
    assert.deepEqual(await level(sku), { onHandWms: 8, onHandNonNettable: 1, damaged: 0, available: 8 });
  });

  it("takes the serials of every warehouse movement to the ERP in the movement's staged transaction, and none of a count's", { timeout: 30_000 }, async () => {
    // Given a serial-controlled item with nothing in stock
    const sku = await givenSku({ 'DC-01': 0 }, { serialControlled: true });

    // When the warehouse receives 4 serials, ships 2, finds 1 damaged, counts STOCK (finding S-9 it had not
    // recorded), ships S-4 to another site, receives S-7 from one, takes S-1 back as a return and restocks it
    const movements = [
      acme(sku, { txn_type: 'RCV', qty: 4, serial_nos: ['S-1', 'S-2', 'S-3', 'S-4'] }),
      acme(sku, { txn_type: 'SHP', qty: 2, serial_nos: ['S-2', 'S-1'] }),
      acme(sku, { txn_type: 'ADJ', reason_code: 'DMG', qty: -1, serial_nos: ['S-3'] }),
      acme(sku, { txn_type: 'CNT', qty: 2, serial_nos: ['S-4', 'S-9'] }),
      acme(sku, { txn_type: 'XFO', qty: 1, serial_nos: ['S-4'] }),
      acme(sku, { txn_type: 'XFI', qty: 1, serial_nos: ['S-7'] }),
      acme(sku, { txn_type: 'RTN', qty: 1, serial_nos: ['S-1'], order_no: 'WEB-SN-1' }),
      acme(sku, { txn_type: 'RST', subinv: 'MAIN', qty: 1, serial_nos: ['S-1'], order_no: 'WEB-SN-1' }),
    ];
    assert.deepEqual(await warehouse('acme-wms', ...movements), movements.map(() => 'APPLIED'));

    // Then the ERP accepted each movement's transaction, carrying the serials it moved
    const reference = (index: number) => transactionOf('acme-wms', movements[index]!);
    assert.deepEqual(await postedToErp(...movements.map((_, index) => reference(index))), [
      { reference: reference(0), type: 'Miscellaneous Receipt', subinventory: 'STOCK', to: null, quantity: 4, serials: ['S-1', 'S-2', 'S-3', 'S-4'] },
      { reference: reference(1), type: 'Sales Order Issue', subinventory: 'STOCK', to: null, quantity: -2, serials: ['S-2', 'S-1'] },
      { reference: reference(2), type: 'Subinventory Transfer', subinventory: 'STOCK', to: 'DAMAGED', quantity: -1, serials: ['S-3'] },
      { reference: reference(3), type: 'Cycle Count Adjustment', subinventory: 'STOCK', to: null, quantity: 1, serials: [] },
      { reference: reference(4), type: 'Intransit Shipment', subinventory: 'STOCK', to: null, quantity: -1, serials: ['S-4'] },
      { reference: reference(5), type: 'Intransit Receipt', subinventory: 'STOCK', to: null, quantity: 1, serials: ['S-7'] },
      { reference: reference(6), type: 'RMA Receipt', subinventory: 'QA', to: null, quantity: 1, serials: ['S-1'] },
      { reference: reference(7), type: 'Subinventory Transfer', subinventory: 'QA', to: 'STOCK', quantity: -1, serials: ['S-1'] },
    ]);
    // And the sync ledger shows every one SYNCED with its serials
    const { data, errors } = await gateway(`query ($sku: ID!) { syncTransactions(filter: { sku: $sku }, first: 20) { nodes { id status serials } } }`, { sku });
    assert.equal(errors, undefined, JSON.stringify(errors));
    const synced = new Map((data.syncTransactions.nodes as { id: string; status: string; serials: string[] }[]).map((row) => [row.id, row]));
    assert.deepEqual(movements.map((_, index) => [synced.get(reference(index))?.status, synced.get(reference(index))?.serials.length]), [
      ['SYNCED', 4], ['SYNCED', 2], ['SYNCED', 1], ['SYNCED', 0], ['SYNCED', 1], ['SYNCED', 1], ['SYNCED', 1], ['SYNCED', 1],
    ]);

    // And the damaged serial is in DAMAGED: a transfer back to STOCK may name it, and takes it to the ERP too
    const id = await transfer(sku, 1, 'DAMAGED', 'STOCK', ['S-3']);
    assert.deepEqual(await postedToErp(`TRANSFER:${id}:SHIP`), [
      { reference: `TRANSFER:${id}:SHIP`, type: 'Subinventory Transfer', subinventory: 'DAMAGED', to: 'STOCK', quantity: -1, serials: ['S-3'] },
    ]);
  });
});
