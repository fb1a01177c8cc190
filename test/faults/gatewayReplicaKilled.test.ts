import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChildService } from '../support/childProcesses.ts';
import { startFaultSystem, type FaultSystem } from '../support/faultSystem.ts';
import { resumableSubscriber, type ResumableSubscriber } from '../support/resumableSubscriber.ts';
import { redisNamespace } from '../support/services.ts';
import { assertGapFreeInOrder, changeKeys, recordedStockChanges } from '../support/stockChanges.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// EA items without lots in the demo seed; acme-wms calls SKU-0000N "ACME-0000N" and DC-01 "ATL1".
const SKUS = ['SKU-00001', 'SKU-00002', 'SKU-00006', 'SKU-00007'];
const acmeCode = (sku: string) => sku.replace('SKU', 'ACME');
const SUBSCRIBERS = 200;
const BATCHES = 20;
const EVENTS_PER_BATCH = 8;
const receipts = (count: number, offset = 0) => Array.from({ length: count }, (_, i) => acmeEvent({ item_code: acmeCode(SKUS[(offset + i) % SKUS.length]!), site: 'ATL1', qty: 1 }));

describe('fault: a gateway replica SIGKILLed with 200 subscribers connected', () => {
  const namespace = redisNamespace('fault-gateway');
  let system: FaultSystem;
  let subscribers: ResumableSubscriber[] = [];

  before(async () => {
    system = await startFaultSystem({ eventBus: namespace.eventBus });
  });

  after(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.dispose()));
    await system?.stop();
    await namespace.clear();
  });

  const receive = async (events: Record<string, unknown>[], through = 0) => {
    const { status, body } = await postEvents(system.inventories[through]!.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
  };

  it('has every subscriber reconnect to the other gateway with its cursor and miss nothing, nor get anything twice', async () => {
    // Given two gateways, and 200 subscribers on the first, each to two SKUs from the stream's start
    const [doomed, survivor] = [await system.startGateway(), await system.startGateway()];
    let alive: ChildService = doomed;
    const skusOf = (i: number) => [SKUS[i % SKUS.length]!, SKUS[(i + 1) % SKUS.length]!];
    subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => resumableSubscriber({ gatewayUrl: () => alive.url, apiKey: system.apiKey, skus: skusOf(i), after: '0-0' }));
    // Connected: each has received a first change of its SKUs through the doomed gateway
    await receive(receipts(SKUS.length));
    await Promise.all(subscribers.map((subscriber) => subscriber.until(2)));

    // When receipts keep coming, and the gateway is SIGKILLed halfway (its clients sent to the other)
    for (let batch = 0; batch < BATCHES; batch += 1) {
      if (batch === BATCHES / 2) {
        alive = survivor;
        await doomed.kill();
      }
      await receive(receipts(EVENTS_PER_BATCH, batch), batch % 2);
    }
    // And a last change of each SKU, as a marker that everything before it was due
    await receive(receipts(SKUS.length));

    // Then every subscriber resumed once, and received each change of its SKUs once, in sequence
    const recorded = await recordedStockChanges(system.database.db);
    for (const [i, subscriber] of subscribers.entries()) {
      const expected = recorded.filter((change) => skusOf(i).includes(change.sku));
      await subscriber.until(expected.length);
      assert.ok(subscriber.resumptions >= 1, `subscriber ${i} reconnected`);
      assert.deepEqual(changeKeys(subscriber.received), changeKeys(expected), `subscriber ${i}: every change once`);
      assertGapFreeInOrder(subscriber.received);
    }
  });
});
