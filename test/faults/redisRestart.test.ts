import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STREAMS, wmsEventStream } from '../../platform/contracts/events.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { freePort, startRedisServer, type ChildService } from '../support/childProcesses.ts';
import { eventually } from '../support/eventually.ts';
import { startFaultSystem, type FaultSystem } from '../support/faultSystem.ts';
import { graphql } from '../support/graphql.ts';
import { resumableSubscriber, type ResumableSubscriber } from '../support/resumableSubscriber.ts';
import { onHandWmsTotal } from '../support/stock.ts';
import { assertGapFreeInOrder, changeKeys, recordedStockChanges } from '../support/stockChanges.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// EA items without lots in the demo seed; acme-wms calls SKU-0000N "ACME-0000N" and DC-01 "ATL1".
const SKUS = ['SKU-00001', 'SKU-00002', 'SKU-00006', 'SKU-00007'];
const acmeCode = (sku: string) => sku.replace('SKU', 'ACME');
const SUBSCRIBERS = 8;
const BATCHES = 30;
const EVENTS_PER_BATCH = 8;

describe('fault: Redis restarted (SIGKILL, empty on return) while events flow and subscribers listen', () => {
  let redisPort: number;
  let redisServer: ChildService;
  let system: FaultSystem;
  let producer: Redis;
  let subscribers: ResumableSubscriber[] = [];
  const keyPrefix = 'stockgraph-fault-redis:';

  before(async () => {
    redisPort = await freePort();
    redisServer = await startRedisServer(redisPort);
    system = await startFaultSystem({ eventBus: { kind: 'redis', url: redisServer.url, keyPrefix } });
    producer = connectRedis(redisServer.url, keyPrefix);
  });

  after(async () => {
    producer?.disconnect();
    await Promise.all(subscribers.map((subscriber) => subscriber.dispose()));
    await system?.stop();
    await redisServer?.kill();
  });

  // Known defect (FAULTS.md, with its likely cause): in about a third of the runs a few stock changes
  // recorded around the kill (outbox records the relay was publishing then) never reach the
  // subscribers, though their events are applied and the changes recorded in the outbox.
  const lostTail = 'DEFECT: a few stock changes relayed around the Redis kill never reach subscribers (see FAULTS.md)';
  it('loses no event, applies none twice, and keeps every subscriber going from its cursor; nothing is restarted but Redis', async () => {
    // Given a gateway with subscribers from the start of the stream, and the stock before
    const gateway = await system.startGateway();
    subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) =>
      resumableSubscriber({ gatewayUrl: () => gateway.url, apiKey: system.apiKey, skus: [SKUS[i % SKUS.length]!, SKUS[(i + 1) % SKUS.length]!], after: '0-0' }));
    const onHandBefore = await onHandWmsTotal(system.database.db, SKUS, 'DC-01');

    // When batches of receipts are posted to both replicas, and Redis is killed a third of the way
    // and started again (empty) two thirds of the way
    const accepted: { id: string; qty: number }[] = [];
    for (let batch = 0; batch < BATCHES; batch += 1) {
      if (batch === BATCHES / 3) await redisServer.kill();
      if (batch === (2 * BATCHES) / 3) redisServer = await startRedisServer(redisPort);
      const events = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => acmeEvent({ item_code: acmeCode(SKUS[(batch + i) % SKUS.length]!), site: 'ATL1', qty: 1 + (i % 3) }));
      const { status, body } = await postEvents(system.inventories[batch % 2]!.url, 'acme-wms', events);
      assert.equal(status, 200, `batch ${batch}: ${JSON.stringify(body)}`);
      accepted.push(...events.map((event) => ({ id: event.event_id as string, qty: event.qty as number })));
    }
    // And, once Redis is back, a high-volume feed XADDs events to the source's stream: the
    // stream consumer must have reconnected and created its group again.
    const streamed = Array.from({ length: 40 }, (_, i) => acmeEvent({ item_code: acmeCode(SKUS[i % SKUS.length]!), site: 'ATL1', qty: 1 }));
    for (const event of streamed) await producer.xadd(wmsEventStream('acme-wms'), '*', 'event', JSON.stringify(event));
    accepted.push(...streamed.map((event) => ({ id: event.event_id as string, qty: 1 })));

    // Then every accepted event is applied exactly once, and the totals are exact
    const applied = await eventually(
      () => system.database.db.query<{ event_id: string; times: number }>(`SELECT event_id, count(*)::int AS times FROM inventory_event WHERE source = 'acme-wms' AND event_id = ANY($1) GROUP BY event_id`, [accepted.map(({ id }) => id)]),
      (rows) => rows.length === accepted.length,
      { what: 'every accepted event applied' },
    );
    assert.ok(applied.every(({ times }) => times === 1));
    assert.equal(await onHandWmsTotal(system.database.db, SKUS, 'DC-01'), onHandBefore + accepted.reduce((sum, { qty }) => sum + qty, 0));

    // And every subscriber receives each change of its SKUs once, in sequence, up to a marker
    // change of each SKU posted last (so that nothing that was due can still be on its way)
    const markers = SKUS.map((sku) => acmeEvent({ item_code: acmeCode(sku), site: 'ATL1', qty: 1 }));
    assert.equal((await postEvents(system.inventories[0]!.url, 'acme-wms', markers)).status, 200);
    const recorded = await recordedStockChanges(system.database.db);
    for (const [i, subscriber] of subscribers.entries()) {
      const skus = [SKUS[i % SKUS.length]!, SKUS[(i + 1) % SKUS.length]!];
      const expected = recorded.filter((change) => skus.includes(change.sku));
      await subscriber.until(expected.length, 10_000).catch(async (error: Error) => {
        const got = new Set(subscriber.received.map(({ sku, sequence }) => `${sku}#${sequence}`));
        const inStream = new Set((await producer.xrange(STREAMS.stockChanges, '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]));
        const missing = expected.filter(({ sku, sequence }) => !got.has(`${sku}#${sequence}`))
          .map(({ sku, sequence, id }) => `${sku}#${sequence} (outbox ${id}, ${inStream.has(id) ? 'in' : 'not in'} the stream since the restart)`);
        throw new Error(`subscriber ${i} missed ${missing.join(', ')}`, { cause: error });
      });
      assert.deepEqual(changeKeys(subscriber.received), changeKeys(expected), `subscriber ${i}: every change once`);
      assertGapFreeInOrder(subscriber.received);
    }
    // And the gateway still answers queries, on the Redis connections it had before
    const { data, errors } = await graphql(gateway.url, `{ stockLevel(sku: "${SKUS[0]}", locationId: "DC-01") { onHandWms } }`, {}, { authorization: `Bearer ${system.apiKey}` });
    assert.equal(errors, undefined);
    assert.equal(typeof data.stockLevel.onHandWms, 'number');
  });
});
