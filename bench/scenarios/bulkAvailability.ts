import { cpus } from 'node:os';
import { seedDemoData } from '../../prisma/seed.ts';
import {
  describeMachine, freshDatabase, gatewayTarget, latencyTable, measureLatencies, recordSection, startServices, subgraphTarget, type GraphqlTarget, type LatencyResult,
} from '../harness.ts';

const SKU_COUNT = 50_000;
const LOCATION_COUNT = 12;
const SKUS_PER_REQUEST = 1_000;
/** A mid-size request too: the planner once read a few hundred SKUs far slower than 1,000. */
const SMALLER_REQUEST_SKUS = 500;
const DURATION_SECONDS = 20;
const WARM_UP_SECONDS = 3;
const TARGET_P95_MS = 100;

export const AVAILABILITY_QUERY = `query Availability($skus: [ID!]!) {
  availability(skus: $skus) {
    asOf
    items { sku available inboundInTransit earliestPromiseDate locations { locationId available inboundInTransit stale } }
  }
}`;

interface AvailabilityAnswer {
  data?: { availability: { items: { sku: string; locations: unknown[] }[] } };
  errors?: unknown;
}

/**
 * `count` distinct SKUs drawn at random from the first `catalogueSize` seeded ones: a new set
 * each call, so no cache helps. With `hot`, that share of the draws goes to the first `hot.skus`
 * SKUs, as on a sale day.
 */
export function randomSkus(count: number, { catalogueSize = SKU_COUNT, hot }: { catalogueSize?: number; hot?: { skus: number; share: number } } = {}): string[] {
  const picked = new Set<number>();
  while (picked.size < count) {
    const drawnFrom = hot && Math.random() < hot.share ? hot.skus : catalogueSize;
    picked.add(1 + Math.floor(Math.random() * drawnFrom));
  }
  return [...picked].map((n) => `SKU-${String(n).padStart(5, '0')}`);
}

/** The request for `skus` with the query as text. */
export const availabilityAsText = (skus: readonly string[]): string => JSON.stringify({ query: AVAILABILITY_QUERY, variables: { skus } });

function post(target: GraphqlTarget, body: string): Promise<Response> {
  return fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers() }, body });
}

/** One request as the load sends it; reads the whole answer but does not parse it, to keep the driver's CPU off the services' cores. */
const availabilityRequest = (target: GraphqlTarget, skuCount = SKUS_PER_REQUEST) => async () => {
  const response = await post(target, availabilityAsText(randomSkus(skuCount)));
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error(`availability failed with HTTP ${response.status}: ${text.slice(0, 200)}`);
};

/**
 * Fails unless the answer to `body(skus)` at `target` holds every SKU of `skus`, in order, each
 * at every location; returns its size in bytes.
 */
export async function checkCompleteAnswer(target: GraphqlTarget, skus: readonly string[], body = availabilityAsText): Promise<number> {
  const text = await (await post(target, body(skus))).text();
  const answer = JSON.parse(text) as AvailabilityAnswer;
  const items = answer.data?.availability.items;
  if (answer.errors || !items) throw new Error(`${target.url}: availability failed: ${JSON.stringify(answer.errors)}`);
  const incomplete = items.length !== skus.length || items.some((item, i) => item.sku !== skus[i] || item.locations.length !== LOCATION_COUNT);
  if (incomplete) throw new Error(`${target.url}: expected ${skus.length} items with ${LOCATION_COUNT} locations each, got ${items.length} items`);
  return Buffer.byteLength(text);
}

/**
 * Bulk availability as a storefront or feed asks it: 1,000 random SKUs at all 12 locations per
 * request, through the gateway and straight to the inventory subgraph (the gateway's share).
 */
export async function bulkAvailability(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  await db.close();
  const services = await startServices(url);
  try {
    const gateway = gatewayTarget(services);
    const inventory = subgraphTarget(services, 'inventory');
    const answerBytes = await checkCompleteAnswer(gateway, randomSkus(SKUS_PER_REQUEST));
    await checkCompleteAnswer(inventory, randomSkus(SKUS_PER_REQUEST));
    await measureLatencies('warm-up', 4, WARM_UP_SECONDS, availabilityRequest(gateway));
    await measureLatencies('warm-up', 4, WARM_UP_SECONDS, availabilityRequest(inventory));

    const results: LatencyResult[] = [];
    for (const [name, target] of [['gateway', gateway], ['inventory subgraph directly', inventory]] as const) {
      for (const concurrency of [4, 1]) {
        const result = await measureLatencies(`${name}, concurrency ${concurrency}`, concurrency, DURATION_SECONDS, availabilityRequest(target));
        console.log(latencyTable([result]));
        results.push(result);
      }
    }
    const [viaGateway4, viaGateway1, direct4, direct1] = results as [LatencyResult, LatencyResult, LatencyResult, LatencyResult];
    const smaller = await measureLatencies(`gateway, ${SMALLER_REQUEST_SKUS} SKUs, concurrency 1`, 1, DURATION_SECONDS, availabilityRequest(gateway, SMALLER_REQUEST_SKUS));
    console.log(latencyTable([smaller]));
    results.push(smaller);
    const met = viaGateway1.p95Ms < TARGET_P95_MS;

    recordSection('bulk-availability', `
## Bulk availability: 1,000 SKUs x 12 locations per request

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en-US')} SKUs x ${LOCATION_COUNT} DCs. Each request asks
\`availability\` for ${SKUS_PER_REQUEST.toLocaleString('en-US')} distinct SKUs drawn at random (a new set every request, so no cache
helps) at all ${LOCATION_COUNT} locations; an answer is ${(answerBytes / 1024).toFixed(0)} KiB of JSON. Closed loop (each caller sends its next
request when the previous one is answered), ${DURATION_SECONDS} s per row after a ${WARM_UP_SECONDS} s warm-up, driver in the benchmark
process; one answer was checked complete (every SKU, in order, at all ${LOCATION_COUNT} locations) before measuring. CPU stolen
is the share of the machine's CPU time its hypervisor gave to other guests during the row: the host is shared.

${latencyTable(results)}

Target p95 < ${TARGET_P95_MS} ms through the gateway, for a request on its own (concurrency 1): **${met ? 'met' : 'missed'}**. At
concurrency 4 the ${cpus().length} cores are the limit: requests wait for one another, and the row shows throughput. Gateway share: p50 ${viaGateway1.p50Ms.toFixed(1)} ms via the
gateway vs ${direct1.p50Ms.toFixed(1)} ms direct at concurrency 1 (**${(viaGateway1.p50Ms / direct1.p50Ms).toFixed(2)}x**); the subgraph alone serves
**${(direct4.requestsPerSecond / viaGateway4.requestsPerSecond).toFixed(2)}x** the requests/s at concurrency 4. Half as many SKUs
take ${(smaller.p50Ms / viaGateway1.p50Ms * 100).toFixed(0)}% of the time (p50 ${smaller.p50Ms.toFixed(1)} ms against ${viaGateway1.p50Ms.toFixed(1)} ms).

\`\`\`graphql
${AVAILABILITY_QUERY}
\`\`\`
`);
  } finally {
    await services.stop();
  }
}
