import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { seedDemoData } from '../../prisma/seed.ts';
import { signEventBatch, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';
import { describeMachine, freshDatabase, recordSection, startServices, type RunningServices } from '../harness.ts';

const SUBSCRIBERS = 1_000;
const SKU_COUNT = 5_000;
const SECRET = 'bench-secret';
const LATENCY_SECONDS = 20;
const LATENCY_EVENTS_PER_SECOND = 20;
const THROUGHPUT_EVENTS = 2_000;
const THROUGHPUT_BATCH = 200;

// SKU-n takes EA receipts without a lot for n % 10 in {1, 2, 5, 6, 7} (see bench/scenarios/eventIngestion.ts).
const RECEIVABLE = Array.from({ length: SKU_COUNT }, (_, i) => i + 1).filter((n) => [1, 2, 5, 6, 7].includes(n % 10));
const sku = (n: number) => `SKU-${String(n).padStart(5, '0')}`;
const acmeCode = (n: number) => `ACME-${String(n).padStart(5, '0')}`;

let eventNumber = 0;
/** A receipt of one unit of SKU-n at DC-01 (ATL1), numbered in the order made: the source's sequence. */
const receipt = (n: number) => {
  eventNumber += 1;
  return { event_id: `bench-${eventNumber}`, txn_type: 'RCV', seq: eventNumber, item_code: acmeCode(n), site: 'ATL1', qty: 1, uom: 'EA', ts: new Date().toISOString() };
};

interface Delivery {
  readonly eventId: string;
  readonly at: number;
}

/**
 * Stock changes delivered through the gateway over graphql-ws to 1,000 subscribers, each on a
 * connection of its own: latency from the warehouse event's POST (and from its acceptance) to
 * each subscriber, events delivered per second, and the gateway's memory per subscriber.
 */
export async function subscriptions(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  const services = await startServices(url, { WMS_SOURCE_SECRETS: `acme-wms=${SECRET}`, REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}:` });
  const sockets: WebSocket[] = [];
  try {
    const rssBefore = residentMemory(services.pids.gateway);
    // Fan-out: every subscriber watches the same 10 SKUs at DC-01, with a field from the orders subgraph.
    const watched = RECEIVABLE.slice(0, 10);
    const fanOut = await subscribeAll(services, sockets, {
      query: `subscription ($skus: [ID!]) { stockChanged(skus: $skus, locationIds: ["DC-01"]) { cause { id } cursor sequence sku after { available } item { openOrders { id } } } }`,
      variables: { skus: watched.map(sku) },
    });
    const rssWithSubscribers = residentMemory(services.pids.gateway);

    const sent = new Map<string, { posted: number; accepted: number }>();
    const post = async (events: Record<string, unknown>[]) => {
      const posted = performance.now();
      await postSigned(services, events);
      const accepted = performance.now();
      for (const event of events) sent.set(`acme-wms:${event.event_id as string}`, { posted, accepted });
    };

    // Latency: one event at a time, at a steady rate, each delivered to all 1,000 subscribers.
    const latencyStart = performance.now();
    let posted = 0;
    while (performance.now() - latencyStart < LATENCY_SECONDS * 1_000) {
      await post([receipt(watched[posted % watched.length]!)]);
      posted += 1;
      const due = latencyStart + (posted * 1_000) / LATENCY_EVENTS_PER_SECOND;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    await waitForDeliveries(fanOut, posted);
    const fromPost = latencies(fanOut, sent, 'posted');
    const fromAcceptance = latencies(fanOut, sent, 'accepted');

    // Throughput: a burst of events, spread over the watched SKUs, posted back to back.
    for (const deliveries of fanOut) deliveries.length = 0;
    const throughputStart = performance.now();
    for (let batch = 0; batch < THROUGHPUT_EVENTS / THROUGHPUT_BATCH; batch++) {
      await post(Array.from({ length: THROUGHPUT_BATCH }, (_, i) => receipt(watched[i % watched.length]!)));
    }
    const throughputEvents = THROUGHPUT_EVENTS;
    const postedFor = (performance.now() - throughputStart) / 1_000;
    await waitForDeliveries(fanOut, throughputEvents, 300_000);
    const lastDelivery = Math.max(...fanOut.map((deliveries) => deliveries.at(-1)!.at));
    const deliveredFor = (lastDelivery - throughputStart) / 1_000;

    const figures = `| measure | value |
|---|---:|
| subscribers (one WebSocket each) | ${SUBSCRIBERS.toLocaleString('en')} |
| latency, event accepted -> delivered: p50 / p95 / p99 ms | ${fromAcceptance.p50.toFixed(1)} / ${fromAcceptance.p95.toFixed(1)} / **${fromAcceptance.p99.toFixed(1)}** |
| latency, event POSTed -> delivered: p50 / p95 / p99 ms | ${fromPost.p50.toFixed(1)} / ${fromPost.p95.toFixed(1)} / ${fromPost.p99.toFixed(1)} |
| deliveries measured for latency | ${fromPost.count.toLocaleString('en')} (${posted} events x ${SUBSCRIBERS.toLocaleString('en')}) |
| events through, all subscribers receiving each | ${(throughputEvents / deliveredFor).toFixed(0)} events/s = ${((throughputEvents * SUBSCRIBERS) / deliveredFor / 1_000).toFixed(0)}k deliveries/s (${throughputEvents.toLocaleString('en')} events posted in ${postedFor.toFixed(1)} s, all delivered after ${deliveredFor.toFixed(1)} s) |
| gateway resident memory: before / with subscribers | ${mib(rssBefore)} / ${mib(rssWithSubscribers)} MiB |
| memory per subscriber | ${((rssWithSubscribers - rssBefore) / SUBSCRIBERS).toFixed(0)} KiB |`;
    recordSection('subscriptions', `
## Subscriptions: stock changes to 1,000 subscribers through the gateway

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs. ${SUBSCRIBERS.toLocaleString('en')} WebSocket clients in the benchmark
process (graphql-transport-ws spoken over plain \`ws\`, reading only the event id of each message, so
that the clients cost the shared 2 cores little), one connection each, all subscribed to \`stockChanged\` for the same 10 SKUs at DC-01 with a
field from the orders subgraph (\`item { openOrders { id } }\`), so every event reaches every
subscriber. Latency: ${LATENCY_EVENTS_PER_SECOND} signed warehouse receipts per second for ${LATENCY_SECONDS} s, one per POST; each delivery is
timed from the POST being answered (the event accepted and committed) and from it being sent.
Throughput: ${THROUGHPUT_EVENTS.toLocaleString('en')} receipts in batches of ${THROUGHPUT_BATCH} posted back to back, timed until the last subscriber has the last event.
Memory: the gateway's resident set before and after the subscribers connected.

${figures}

Target: p99 under 50 ms from acceptance to delivery with 1,000 subscribers: **${fromAcceptance.p99 < 50 ? 'met' : 'missed'}**.
`);
    console.log(figures);
  } finally {
    for (const socket of sockets) socket.terminate();
    await services.stop();
    await db.close();
  }
}

/**
 * Connects SUBSCRIBERS clients, each with one subscription; returns what each receives. The
 * clients speak graphql-transport-ws over plain `ws` and read only the event id from each
 * message: they share the machine with the services, so they must cost as little as possible.
 */
async function subscribeAll(
  services: RunningServices,
  sockets: WebSocket[],
  operation: { query: string; variables: Record<string, unknown> },
): Promise<Delivery[][]> {
  const url = `${services.gatewayUrl.replace('http', 'ws')}/graphql`;
  // A connection authenticates once, on connection_init, with what an HTTP request sends in its header.
  const connectionInit = JSON.stringify({ type: 'connection_init', payload: { authorization: services.clientHeaders.authorization } });
  const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: operation });
  const all: Delivery[][] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const deliveries: Delivery[] = [];
    const socket = new WebSocket(url, 'graphql-transport-ws');
    sockets.push(socket);
    socket.on('open', () => socket.send(connectionInit));
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      const cause = CAUSE_ID.exec(text);
      if (cause) deliveries.push({ eventId: cause[1]!, at: performance.now() });
      else if (text.includes('"connection_ack"')) socket.send(subscribe);
      else throw new Error(`unexpected message: ${text}`);
    });
    all.push(deliveries);
  }
  await warmUp(services, all);
  return all;
}

// The selection asks for `cause { id }` first, so that a delivery's event id is found without parsing it.
const CAUSE_ID = /^\{"id":"1","type":"next","payload":\{"data":\{"stockChanged":\{"cause":\{"id":"([^"]+)"/;

/** Subscriptions have no acknowledgement: post a probe change until every subscriber has seen one. */
async function warmUp(services: RunningServices, all: Delivery[][]): Promise<void> {
  for (let probe = 0; all.some((deliveries) => deliveries.length === 0); probe++) {
    if (probe > 100) throw new Error('subscribers received nothing after 100 probes');
    await postSigned(services, [receipt(RECEIVABLE[0]!)]);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Let the last probes land before forgetting them.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const deliveries of all) deliveries.length = 0;
}

/** Posts `events` as one batch signed the way acme-wms signs it; fails unless the inventory answers 200. */
async function postSigned(services: RunningServices, events: Record<string, unknown>[]): Promise<void> {
  const body = JSON.stringify({ events });
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${services.subgraphUrls.inventory}/events/acme-wms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signEventBatch(SECRET, timestamp, body) },
    body,
  });
  if (response.status !== 200) throw new Error(`POST /events answered ${response.status}: ${await response.text()}`);
}

async function waitForDeliveries(all: Delivery[][], count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (all.some((deliveries) => deliveries.length < count)) {
    if (Date.now() > deadline) throw new Error(`not every subscriber received ${count} events within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function latencies(all: Delivery[][], sent: ReadonlyMap<string, { posted: number; accepted: number }>, from: 'posted' | 'accepted') {
  const values = all.flatMap((deliveries) => deliveries.map((delivery) => delivery.at - sent.get(delivery.eventId)![from])).sort((a, b) => a - b);
  const percentile = (p: number) => values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;
  return { count: values.length, p50: percentile(50), p95: percentile(95), p99: percentile(99) };
}

/** Resident memory of a process, in KiB. */
function residentMemory(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

const mib = (kib: number) => (kib / 1024).toFixed(0);
