import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { LeanWebSocket, type OnText } from '../leanWebSocket.ts';
import type { Database } from '../../platform/database/database.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { signEventBatch, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, postText, recordSection, startServices, type CpuPerUnit, type RunningServices } from '../harness.ts';

const SKU_COUNT = 5_000;
const SECRET = 'bench-secret';
const SOURCE = 'acme-wms';
/** Per environment variable, for short runs while developing; the defaults are what BENCHMARKS.md records. */
const settings = {
  /** Idle subscribers whose memory is measured. */
  idleSubscribers: Number(process.env.BENCH_IDLE_SUBSCRIBERS ?? 10_000),
  /** How long the spread load runs, in seconds. */
  spreadSeconds: Number(process.env.BENCH_SPREAD_SECONDS ?? 20),
  /** The share of the spread load's events that are of the hot SKUs. */
  hotShare: Number(process.env.BENCH_HOT_SHARE ?? 0.2),
};
const FAN_OUT_SUBSCRIBERS = 1_000;
const BURST_EVENTS = 2_000;
const BURST_BATCH = 200;
const FAN_OUT_LATENCY_SECONDS = 10;
const FAN_OUT_EVENTS_PER_SECOND = 20;
const SPREAD_SUBSCRIBERS = 1_000;
const SPREAD_EVENTS_PER_SECOND = 1_000;
const SPREAD_BATCH = 20;
const CART_SKUS = 10;
const HOT_SKUS = 10;
/** The share of carts that hold one of the hot SKUs. */
const HOT_CART_SHARE = 0.5;
const TARGETS = { burstMs: 3_000, deliveriesPerSecond: 500_000, spreadP99Ms: 50, idleKib: 50 };

// SKU-n takes EA receipts without a lot for n % 10 in {1, 2, 5, 6, 7} (see bench/scenarios/eventIngestion.ts).
const RECEIVABLE = Array.from({ length: SKU_COUNT }, (_, i) => i + 1).filter((n) => [1, 2, 5, 6, 7].includes(n % 10));
const HOT = RECEIVABLE.slice(0, HOT_SKUS);
const COLD = RECEIVABLE.slice(HOT_SKUS);
// A SKU that takes no receipt (lot-controlled), so that its subscribers stay idle.
const IDLE_SKU = 4_990;
const SITES = Object.entries(loadExampleMappings().find((mapping) => mapping.source === SOURCE)!.locationCodes);
const sku = (n: number) => `SKU-${String(n).padStart(5, '0')}`;
const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

const SELECTION = 'cause { id } cursor sequence sku locationId after { available } item { openOrders { id } }';

let eventNumber = 0;
/** A receipt of one unit of SKU-n at an acme site, numbered in the order made: the source's sequence. */
const receipt = (n: number, site = 'ATL1') => {
  eventNumber += 1;
  return { event_id: `bench-${eventNumber}`, txn_type: 'RCV', seq: eventNumber, item_code: `ACME-${String(n).padStart(5, '0')}`, site, qty: 1, uom: 'EA', ts: new Date().toISOString() };
};
/** The id a receipt's stock change carries as its cause. */
const causeId = (event: { event_id: string }) => `${SOURCE}:${event.event_id}`;

/**
 * Stock changes delivered through the gateway over graphql-ws, each subscriber on a connection of
 * its own: a burst to 1,000 subscribers that all watch the same SKUs (deliveries/s, time to deliver
 * it all), the latency of 20 events/s to those 1,000, the latency of 1,000 events/s over the
 * seeded catalogue to 1,000 subscribers each watching a cart of SKUs (some hot), and the gateway's
 * memory per idle subscriber.
 */
export async function subscriptions(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  const services = await startServices(url, { WMS_SOURCE_SECRETS: `${SOURCE}=${SECRET}` });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const post = postSigned(services, agent);
  const clients = new SubscriberPool(services);
  try {
    // Memory: a warmed-up gateway, then many idle subscribers.
    const warm = await clients.open(1, () => ({ query: `subscription { stockChanged(skus: ["${sku(RECEIVABLE[0]!)}"]) { ${SELECTION} } }` }));
    await untilDelivered(post, warm, () => receipt(RECEIVABLE[0]!));
    await clients.close(warm);
    const memoryBefore = await collectedMemory(services);
    const idle = await clients.open(settings.idleSubscribers, () => ({ query: `subscription { stockChanged(skus: ["${sku(IDLE_SKU)}"]) { ${SELECTION} } }` }));
    const memoryIdle = await collectedMemory(services);
    await clients.close(idle);

    // Fan-out: every subscriber watches the same 10 SKUs at DC-01, with a field from the orders subgraph.
    const watched = RECEIVABLE.slice(0, 10);
    const fanOut = await clients.open(FAN_OUT_SUBSCRIBERS, () => ({
      query: `subscription ($skus: [ID!]) { stockChanged(skus: $skus, locationIds: ["DC-01"]) { ${SELECTION} } }`,
      variables: { skus: watched.map(sku) },
    }), { verifyFirst: true });
    await untilDelivered(post, fanOut, () => receipt(watched[0]!));

    // The burst: 2,000 receipts over the watched SKUs in batches of 200, posted back to back,
    // timed from the first POST; then the same burst found in the stream all at once: the gateway
    // paused (SIGSTOP) while it is posted and published, timed from its resumption.
    const burstDeliveries = BURST_EVENTS * FAN_OUT_SUBSCRIBERS;
    const burst = async ({ published }: { published: boolean }) => {
      for (const subscriber of fanOut) subscriber.reset();
      if (published) process.kill(services.pids.gateway, 'SIGSTOP');
      let cpuBefore = await cpuSnapshot(db, { ...services.pids, bench: process.pid });
      const postStart = performance.now();
      try {
        for (let batch = 0; batch < BURST_EVENTS / BURST_BATCH; batch++) {
          await post(Array.from({ length: BURST_BATCH }, (_, i) => receipt(watched[i % watched.length]!)));
        }
        if (published) await untilPublished(db);
      } finally {
        if (published) {
          cpuBefore = await cpuSnapshot(db, { ...services.pids, bench: process.pid });
          process.kill(services.pids.gateway, 'SIGCONT');
        }
      }
      const postedMs = performance.now() - postStart;
      const start = published ? performance.now() : postStart;
      await untilEach(fanOut, (subscriber) => subscriber.count >= BURST_EVENTS, 300_000, `all ${BURST_EVENTS} burst events`);
      const ms = Math.max(...fanOut.map((subscriber) => subscriber.lastAt)) - start;
      const cpu = cpuPerUnit(cpuBefore, await cpuSnapshot(db, { ...services.pids, bench: process.pid }), burstDeliveries, ms);
      // A marker after the burst: each subscriber has it next, so that no one had a delivery more.
      await untilMarked(post, fanOut, receipt(watched[0]!));
      const mismatched = fanOut.filter((subscriber) => subscriber.count !== BURST_EVENTS + 1).length;
      return { ms, postedMs, cpu, deliveriesPerSecond: burstDeliveries / (ms / 1_000), mismatched };
    };
    const endToEnd = await burst({ published: false });
    const atGateway = await burst({ published: true });
    const burstFailures = failuresOf(fanOut);

    // Fan-out latency: one event at a time to all 1,000, at a steady rate.
    for (const subscriber of fanOut) subscriber.reset({ record: true });
    const fanOutSent = await postAtRate(post, FAN_OUT_EVENTS_PER_SECOND, FAN_OUT_LATENCY_SECONDS, 1, () => receipt(watched[eventNumber % watched.length]!));
    await untilEach(fanOut, (subscriber) => subscriber.count >= fanOutSent.size, 60_000, 'the fan-out latency events');
    const fanOutLatency = latencies(fanOut, fanOutSent, () => true);
    const fanOutFailures = failuresOf(fanOut) - burstFailures;
    await clients.close(fanOut);

    // Spread: 1,000 events/s over the catalogue, at every site, to subscribers watching carts of
    // 10 SKUs (half of them with one hot SKU), every location.
    // Live subscribers are fed every batch read once the gateway counts them, and the stream is quiet until then.
    const carts = Array.from({ length: SPREAD_SUBSCRIBERS }, () => cart());
    const spread = await clients.open(SPREAD_SUBSCRIBERS, (index) => ({
      query: `subscription ($skus: [ID!]) { stockChanged(skus: $skus) { ${SELECTION} } }`,
      variables: { skus: carts[index]!.map(sku) },
    }), { record: true, verifyFirst: true });
    const hotEvents = new Set<string>();
    const skuOf = new Map<string, number>();
    const spreadCpuBefore = await cpuSnapshot(db, { ...services.pids, bench: process.pid });
    const spreadStart = performance.now();
    const spreadSent = await postAtRate(post, SPREAD_EVENTS_PER_SECOND, settings.spreadSeconds, SPREAD_BATCH, () => {
      const hot = Math.random() < settings.hotShare;
      const n = pick(hot ? HOT : COLD);
      const event = receipt(n, pick(SITES)[0]);
      skuOf.set(causeId(event), n);
      if (hot) hotEvents.add(causeId(event));
      return event;
    });
    // Each subscriber has every change of its cart's SKUs, and nothing else.
    const changesOf = new Map<number, number>();
    for (const n of skuOf.values()) changesOf.set(n, (changesOf.get(n) ?? 0) + 1);
    const expected = carts.map((skus) => skus.reduce((sum, n) => sum + (changesOf.get(n) ?? 0), 0));
    await untilEach(spread, (subscriber, index) => subscriber.count >= expected[index]!, 60_000, 'every change of its cart').catch(() => {});
    const spreadMs = performance.now() - spreadStart;
    const spreadCpu = cpuPerUnit(spreadCpuBefore, await cpuSnapshot(db, { ...services.pids, bench: process.pid }), spreadSent.size, spreadMs);
    const spreadMismatch = spread.filter((subscriber, index) => subscriber.count !== expected[index]).length;
    const hotLatency = latencies(spread, spreadSent, (eventId) => hotEvents.has(eventId));
    const randomLatency = latencies(spread, spreadSent, (eventId) => !hotEvents.has(eventId));
    const allLatency = latencies(spread, spreadSent, () => true);
    const spreadFailures = failuresOf(spread);
    await clients.close(spread);

    const idleKib = (memoryIdle.rssKib - memoryBefore.rssKib) / settings.idleSubscribers;
    const idleHeapKib = (memoryIdle.heapKib - memoryBefore.heapKib) / settings.idleSubscribers;
    const verdict = (met: boolean) => (met ? '**met**' : '**missed**');
    const figures = `| measure | value |
|---|---:|
| burst: ${BURST_EVENTS.toLocaleString('en')} events x ${FAN_OUT_SUBSCRIBERS.toLocaleString('en')} subscribers, all delivered after (from the first POST) | **${(endToEnd.ms / 1_000).toFixed(2)} s** (posted in ${(endToEnd.postedMs / 1_000).toFixed(2)} s) = **${(endToEnd.deliveriesPerSecond / 1_000).toFixed(0)}k deliveries/s** |
| burst: busy while delivering | ${busy(endToEnd.cpu, burstDeliveries, endToEnd.ms)} |
| published burst (the gateway paused meanwhile), all delivered after (from its resumption) | ${(atGateway.ms / 1_000).toFixed(2)} s = ${(atGateway.deliveriesPerSecond / 1_000).toFixed(0)}k deliveries/s; gateway CPU ${atGateway.cpu.processUs.gateway!.toFixed(2)} µs per delivery (posted and published in ${(atGateway.postedMs / 1_000).toFixed(2)} s while the gateway was paused: ingestion without the fan-out beside it) |
| published burst: busy while delivering | ${busy(atGateway.cpu, burstDeliveries, atGateway.ms)} |
| bursts: subscribers with a delivery missing or extra, failed results | ${endToEnd.mismatched + atGateway.mismatched}, ${burstFailures} |
| fan-out latency, ${FAN_OUT_EVENTS_PER_SECOND} events/s to all ${FAN_OUT_SUBSCRIBERS.toLocaleString('en')}, accepted -> delivered: p50 / p95 / p99 ms | ${fanOutLatency.p50.toFixed(1)} / ${fanOutLatency.p95.toFixed(1)} / ${fanOutLatency.p99.toFixed(1)} (${fanOutLatency.count.toLocaleString('en')} deliveries, ${fanOutFailures} failed) |
| fan-out latency in parts, p50 / p99 ms | ${parts(fanOutLatency)} |
| spread, ${SPREAD_EVENTS_PER_SECOND.toLocaleString('en')} events/s for ${settings.spreadSeconds} s, accepted -> delivered, all: p50 / p95 / p99 ms | ${allLatency.p50.toFixed(1)} / ${allLatency.p95.toFixed(1)} / **${allLatency.p99.toFixed(1)}** (${allLatency.count.toLocaleString('en')} deliveries of ${spreadSent.size.toLocaleString('en')} events) |
| spread latency in parts, p50 / p99 ms | ${parts(allLatency)} |
| spread: subscribers with a change of their cart missing or extra, failed results | ${spreadMismatch}, ${spreadFailures} |
| spread: busy | ${busy(spreadCpu, spreadSent.size, spreadMs)} |
| spread, random SKUs: p50 / p95 / p99 ms | ${randomLatency.p50.toFixed(1)} / ${randomLatency.p95.toFixed(1)} / ${randomLatency.p99.toFixed(1)} (${randomLatency.count.toLocaleString('en')} deliveries) |
| spread, hot SKUs: p50 / p95 / p99 ms | ${hotLatency.p50.toFixed(1)} / ${hotLatency.p95.toFixed(1)} / ${hotLatency.p99.toFixed(1)} (${hotLatency.count.toLocaleString('en')} deliveries) |
| idle: gateway resident memory before / with ${settings.idleSubscribers.toLocaleString('en')} idle subscribers | ${mib(memoryBefore.rssKib)} / ${mib(memoryIdle.rssKib)} MiB (heap used ${mib(memoryBefore.heapKib)} / ${mib(memoryIdle.heapKib)} MiB) |
| idle: memory per subscriber, resident (heap used) | **${idleKib.toFixed(1)} KiB** (${idleHeapKib.toFixed(1)} KiB) |`;
    recordSection('subscriptions', `
## Subscriptions: stock changes through the gateway, fanned out and spread

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs. The WebSocket clients run in the benchmark process,
one connection each, each subscription with an id of its own (a UUID, as graphql-ws's client
makes them), speaking graphql-transport-ws through a lean WebSocket client of the benchmark's own
(\`bench/leanWebSocket.ts\`: frames read straight from the socket; \`ws\`'s client costs more per message than
the gateway spends delivering it, on the same 2 cores); every result is checked to be a \`next\`
without \`errors\`, and the first subscriber of each group parses every result and checks it gap-free
and in order per SKU x location; a connection that ends counts as a failure. The selection is \`${SELECTION}\` (\`openOrders\` from the orders subgraph).
Every delivery is timed from the POST of its receipt being answered (the event accepted and committed).

- **Burst**: ${FAN_OUT_SUBSCRIBERS.toLocaleString('en')} subscribers of \`stockChanged\` for the same 10 SKUs at DC-01; ${BURST_EVENTS.toLocaleString('en')} receipts in batches
  of ${BURST_BATCH} posted back to back, timed from the first POST until the last subscriber has the last event; then one
  more as a marker, after which each subscriber must hold exactly ${(BURST_EVENTS + 1).toLocaleString('en')}. Then the same again with the
  gateway process paused (SIGSTOP) until the inventory's outbox is drained, so that it finds the whole burst in the
  stream at once, timed from its resumption (SIGCONT): the gateway's fan-out alone, whatever ingestion costs.
- **Fan-out latency**: the same subscribers, ${FAN_OUT_EVENTS_PER_SECOND} receipts/s for ${FAN_OUT_LATENCY_SECONDS} s, one per POST.
- **Spread**: ${SPREAD_SUBSCRIBERS.toLocaleString('en')} subscribers, each watching a cart of ${CART_SKUS} SKUs of the catalogue at every location (${pct(HOT_CART_SHARE)} of
  the carts hold one of ${HOT_SKUS} hot SKUs), subscribed live (in place once the gateway counts them); ${SPREAD_EVENTS_PER_SECOND.toLocaleString('en')} receipts/s in POSTs of
  ${SPREAD_BATCH} on a timetable, random SKU and site, ${pct(settings.hotShare)} of them of a hot SKU (\`BENCH_HOT_SHARE\`); latencies
  of hot and random SKUs apart.
- **Idle memory**: the gateway's resident set and heap used, each right after a full garbage collection (run through
  the inspector Node opens on SIGUSR1), after a warm-up subscription and then with ${settings.idleSubscribers.toLocaleString('en')} idle subscribers (of a
  SKU that takes no receipt).

${figures}

Targets (issue 21, item 4), on the burst from the first POST: delivered in under ${TARGETS.burstMs / 1_000} s: ${verdict(endToEnd.ms < TARGETS.burstMs)}; at least
${TARGETS.deliveriesPerSecond / 1_000}k deliveries/s: ${verdict(endToEnd.deliveriesPerSecond >= TARGETS.deliveriesPerSecond)} (the published burst: ${verdict(atGateway.ms < TARGETS.burstMs)}, ${verdict(atGateway.deliveriesPerSecond >= TARGETS.deliveriesPerSecond)}); p99 under ${TARGETS.spreadP99Ms} ms at ${SPREAD_EVENTS_PER_SECOND.toLocaleString('en')} events/s spread
over many SKUs: ${verdict(allLatency.p99 < TARGETS.spreadP99Ms)}; under ${TARGETS.idleKib} KiB per idle subscriber: ${verdict(idleKib < TARGETS.idleKib)}.
`);
    console.log(figures);
  } finally {
    clients.terminateAll();
    agent.destroy();
    await services.stop();
    await db.close();
  }
}

/** A cart: CART_SKUS distinct SKUs of the catalogue, one of them hot in HOT_CART_SHARE of carts. */
function cart(): number[] {
  const skus = new Set<number>(Math.random() < HOT_CART_SHARE ? [pick(HOT)] : []);
  while (skus.size < CART_SKUS) skus.add(pick(COLD));
  return [...skus];
}

type Operation = { query: string; variables?: Record<string, unknown> };

// What every result must start with: the gateway writes `next` messages with the id last, and
// SELECTION starts with the cause's id, which is read from there.
const NEXT = Buffer.from('{"type":"next","payload":{"data":{"stockChanged":{"cause":{"id":"');
const ERRORS = Buffer.from('"errors"');
const QUOTE = 0x22;
const DASH = 0x2d;
const CURSOR_AFTER_CAUSE = Buffer.from('"},"cursor":"');

/** One subscription on a connection of its own, counting and timing what it receives, reading no more of each result than it must. */
class BenchSubscriber {
  count = 0;
  lastAt = 0;
  failures = 0;
  /** The cause (the receipt's id) of the last result that arrived. */
  lastCauseId: string | null = null;
  /** Each delivery's cause, when it arrived and when its change was published to the stream (its cursor's time), when recording. */
  deliveries: { eventId: string; at: number; publishedAt: number }[] = [];
  private record: boolean;
  /** Every result parsed, when verifying: checked gap-free in order at the end. */
  private readonly parsed: { sku: string; locationId: string; sequence: number }[] | null;
  private webSocket: LeanWebSocket | null = null;

  constructor(options: { record?: boolean; verify?: boolean }) {
    this.record = options.record ?? false;
    this.parsed = options.verify ? [] : null;
  }

  /** Connects, authenticates and subscribes; resolves once the subscription is sent. */
  async subscribe(url: string, authorization: string, operation: Operation): Promise<void> {
    let acknowledged: () => void;
    const connected = new Promise<void>((resolve) => (acknowledged = resolve));
    let receive: OnText = (data, start, end) => {
      if (!data.toString('latin1', start, end).includes('"connection_ack"')) throw new Error(`expected connection_ack, got ${data.toString('utf8', start, end)}`);
      receive = (...range) => this.receive(...range);
      acknowledged();
    };
    this.webSocket = await LeanWebSocket.connect(url, 'graphql-transport-ws', (...range) => receive(...range));
    this.webSocket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    await connected;
    this.webSocket.sendText(JSON.stringify({ id: randomUUID(), type: 'subscribe', payload: operation }));
  }

  terminate(): void {
    this.webSocket?.terminate();
  }

  /** Forgets what arrived so far; records each delivery's cause from now on when `record`. */
  reset({ record = false } = {}): void {
    this.count = 0;
    this.deliveries = [];
    this.record = record;
  }

  /** Whether every result parsed so far arrived gap-free and in order per SKU x location, and the connection is still open. */
  healthy(): boolean {
    if (this.webSocket?.ended) return false;
    if (!this.parsed) return true;
    const last = new Map<string, number>();
    for (const change of this.parsed) {
      const key = `${change.sku}@${change.locationId}`;
      if (last.has(key) && change.sequence !== last.get(key)! + 1) return false;
      last.set(key, change.sequence);
    }
    return true;
  }

  private receive(data: Buffer, start: number, end: number): void {
    const at = performance.now();
    if (end - start < NEXT.length || data.compare(NEXT, 0, NEXT.length, start, start + NEXT.length) !== 0 || data.subarray(start, end).includes(ERRORS)) {
      this.failures += 1;
      return;
    }
    this.count += 1;
    this.lastAt = at;
    const idStart = start + NEXT.length;
    const idEnd = data.indexOf(QUOTE, idStart);
    this.lastCauseId = data.toString('latin1', idStart, idEnd);
    if (this.record) {
      // A cursor is a Redis stream id, `<milliseconds>-<n>`: when the relay appended the change, by the machine's clock.
      const cursorStart = idEnd + CURSOR_AFTER_CAUSE.length;
      const publishedAt = Number(data.toString('latin1', cursorStart, data.indexOf(DASH, cursorStart))) - performance.timeOrigin;
      this.deliveries.push({ eventId: this.lastCauseId, at, publishedAt });
    }
    this.parsed?.push(JSON.parse(data.toString('utf8', start, end)).payload.data.stockChanged);
  }
}

/** The benchmark's subscribers: opened in waves (the gateway's listen backlog is finite), each in place once the gateway counts it. */
class SubscriberPool {
  private readonly open_ = new Set<BenchSubscriber>();
  private readonly url: string;

  constructor(private readonly services: RunningServices) {
    this.url = `${services.gatewayUrl.replace('http', 'ws')}/graphql`;
  }

  /** Opens `count` subscriptions, the nth with `operation(n)`; resolves once the gateway serves them all. */
  async open(count: number, operation: (index: number) => Operation, { record = false, verifyFirst = false } = {}): Promise<BenchSubscriber[]> {
    const before = await activeSubscriptions(this.services);
    const opened: BenchSubscriber[] = [];
    const subscribing = new Set<Promise<void>>();
    for (let index = 0; index < count; index++) {
      if (subscribing.size >= 200) await Promise.race(subscribing);
      const subscriber = new BenchSubscriber({ record, verify: verifyFirst && index === 0 });
      opened.push(subscriber);
      this.open_.add(subscriber);
      const subscribed = subscriber.subscribe(this.url, this.services.clientHeaders.authorization!, operation(index)).finally(() => subscribing.delete(subscribed));
      subscribing.add(subscribed);
    }
    await Promise.all(subscribing);
    const deadline = Date.now() + 120_000;
    while ((await activeSubscriptions(this.services)) < before + count) {
      if (Date.now() > deadline) throw new Error(`the gateway serves ${await activeSubscriptions(this.services)} subscriptions, not ${before + count}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return opened;
  }

  /** Closes the subscribers' connections; resolves once the gateway no longer serves them. */
  async close(subscribers: readonly BenchSubscriber[]): Promise<void> {
    const before = await activeSubscriptions(this.services);
    for (const subscriber of subscribers) {
      subscriber.terminate();
      this.open_.delete(subscriber);
    }
    while ((await activeSubscriptions(this.services)) > before - subscribers.length) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  terminateAll(): void {
    for (const subscriber of this.open_) subscriber.terminate();
  }
}

/** A metric of the gateway's /metrics, summed over its series. */
async function gatewayMetric(services: RunningServices, name: string): Promise<number> {
  const text = await (await fetch(`${services.gatewayUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
}

const activeSubscriptions = (services: RunningServices) => gatewayMetric(services, 'stockgraph_active_subscriptions');

/**
 * The gateway's resident set and heap used right after a full garbage collection, which it is
 * made to run through the inspector Node opens on SIGUSR1 (127.0.0.1:9229): what it holds, not
 * what it has yet to collect. The inspector must be the gateway's: it is asked its pid.
 */
async function collectedMemory(services: RunningServices): Promise<{ rssKib: number; heapKib: number }> {
  const { gateway: pid } = services.pids;
  process.kill(pid, 'SIGUSR1');
  let target: { webSocketDebuggerUrl: string } | undefined;
  for (let attempt = 0; !target; attempt++) {
    if (attempt > 50) throw new Error(`the gateway (pid ${pid}) opened no inspector at 127.0.0.1:9229`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    [target] = (await fetch('http://127.0.0.1:9229/json/list').then((response) => response.json()).catch(() => [])) as { webSocketDebuggerUrl: string }[];
  }
  const inspector = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => (inspector.once('open', resolve), inspector.once('error', reject)));
  let lastId = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve) => {
      const id = ++lastId;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString());
        if (message.id !== id) return;
        inspector.off('message', onMessage);
        resolve(message.result);
      };
      inspector.on('message', onMessage);
      inspector.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression: string) => (await call('Runtime.evaluate', { expression, returnByValue: true })).result.value as string;
  try {
    const inspected = Number(await evaluate('String(process.pid)'));
    if (inspected !== pid) throw new Error(`the inspector at 127.0.0.1:9229 is pid ${inspected}'s, not the gateway's (${pid})`);
    await call('HeapProfiler.collectGarbage');
    const usage = JSON.parse(await evaluate('JSON.stringify(process.memoryUsage())')) as { rss: number; heapUsed: number };
    return { rssKib: usage.rss / 1024, heapKib: usage.heapUsed / 1024 };
  } finally {
    inspector.close();
  }
}

type Post = (events: ReturnType<typeof receipt>[]) => Promise<void>;

/** Posts events as one batch signed the way acme-wms signs it; fails unless the inventory answers 200. */
function postSigned(services: RunningServices, agent: http.Agent): Post {
  return async (events) => {
    const body = JSON.stringify({ events });
    const timestamp = Math.floor(Date.now() / 1000);
    const { status, text } = await postText(agent, `${services.subgraphUrls.inventory}/events/${SOURCE}`, body, {
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signEventBatch(SECRET, timestamp, body),
    });
    if (status !== 200) throw new Error(`POST /events answered ${status}: ${text}`);
  };
}

/**
 * Posts `batch` events at a time, `perSecond` events a second for `seconds`, each POST at its
 * time whether or not the one before has been answered; returns when each event was accepted
 * (its POST answered), by its cause id.
 */
async function postAtRate(post: Post, perSecond: number, seconds: number, batch: number, event: () => ReturnType<typeof receipt>): Promise<Map<string, number>> {
  const accepted = new Map<string, number>();
  const posts: Promise<void>[] = [];
  const start = performance.now();
  for (let sent = 0; sent < perSecond * seconds; sent += batch) {
    const due = start + (sent * 1_000) / perSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const events = Array.from({ length: batch }, event);
    posts.push(post(events).then(() => {
      const at = performance.now();
      for (const posted of events) accepted.set(causeId(posted), at);
    }));
  }
  await Promise.all(posts);
  return accepted;
}

/**
 * Posts one event after another until every subscriber has received one, then one more as a
 * marker, and waits until it is every subscriber's last: no probe is still on its way.
 */
async function untilDelivered(post: Post, subscribers: readonly BenchSubscriber[], event: () => ReturnType<typeof receipt>): Promise<void> {
  const counts = subscribers.map((subscriber) => subscriber.count);
  for (let probe = 0; subscribers.some((subscriber, index) => subscriber.count === counts[index]); probe++) {
    if (probe > 100) throw new Error('subscribers received nothing after 100 probes');
    await post([event()]);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await untilMarked(post, subscribers, event());
}

/** Posts `marker` and waits until it is every subscriber's last result. */
async function untilMarked(post: Post, subscribers: readonly BenchSubscriber[], marker: ReturnType<typeof receipt>): Promise<void> {
  await post([marker]);
  await untilEach(subscribers, (subscriber) => subscriber.lastCauseId === causeId(marker), 60_000, 'the marker');
}

/** Resolves once every outbox record is published (none is left in event_outbox_pending). */
async function untilPublished(db: Database): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await db.query<{ pending: number }>('SELECT count(*)::int AS pending FROM event_outbox_pending'))[0]!.pending > 0) {
    if (Date.now() > deadline) throw new Error('the outbox was not drained within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once `done` holds for every subscriber; fails after `timeoutMs`. */
async function untilEach(subscribers: readonly BenchSubscriber[], done: (subscriber: BenchSubscriber, index: number) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!subscribers.every(done)) {
    if (Date.now() > deadline) throw new Error(`not every subscriber received ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The deliveries of the events `counts` picks, timed from their acceptance (their POST answered),
 * and in two parts: accepted -> published to the stream (the inventory's relay), published ->
 * delivered (the gateway, and the client reading it).
 */
function latencies(subscribers: readonly BenchSubscriber[], accepted: ReadonlyMap<string, number>, counts: (eventId: string) => boolean) {
  const deliveries = subscribers.flatMap((subscriber) => subscriber.deliveries.filter(({ eventId }) => accepted.has(eventId) && counts(eventId)));
  const distribution = (values: number[]) => {
    values.sort((a, b) => a - b);
    const percentile = (p: number) => values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)] ?? NaN;
    return { p50: percentile(50), p95: percentile(95), p99: percentile(99) };
  };
  return {
    count: deliveries.length,
    ...distribution(deliveries.map(({ eventId, at }) => at - accepted.get(eventId)!)),
    published: distribution(deliveries.map(({ eventId, publishedAt }) => publishedAt - accepted.get(eventId)!)),
    delivered: distribution(deliveries.map(({ at, publishedAt }) => at - publishedAt)),
  };
}

const parts = (latency: ReturnType<typeof latencies>) =>
  `accepted -> published ${latency.published.p50.toFixed(1)} / ${latency.published.p99.toFixed(1)}, published -> delivered ${latency.delivered.p50.toFixed(1)} / ${latency.delivered.p99.toFixed(1)}`;

/** Results that were not a `next` without errors, and subscribers whose connection ended or (verified) whose results came out of order. */
function failuresOf(subscribers: readonly BenchSubscriber[]): number {
  return subscribers.reduce((failures, subscriber) => failures + subscriber.failures + (subscriber.healthy() ? 0 : 1), 0);
}

/**
 * How busy each of this run's processes was (of one core), the machine (of all cores), and what of
 * that was none of the run's processes or PostgreSQL backends: other work on a shared machine.
 */
function busy(cpu: CpuPerUnit, units: number, elapsedMs: number): string {
  const postgres = (cpu.postgresUs * units) / 1_000 / elapsedMs;
  const ours = Object.values(cpu.processBusy).reduce((sum, share) => sum + share, 0) + postgres;
  const processes = Object.entries(cpu.processBusy).map(([name, share]) => `${name === 'bench' ? 'bench clients' : name} ${pct(share)}`);
  return `${[...processes, `PostgreSQL ${pct(postgres)}`].join(', ')} of a core; machine ${pct(cpu.machineBusy)} of all cores, others ${pct(Math.max(0, cpu.machineBusy - ours / cpus().length))}`;
}

const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
const mib = (kib: number) => (kib / 1024).toFixed(0);
