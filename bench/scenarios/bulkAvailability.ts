import { cpus } from 'node:os';
import { seedDemoData } from '../../prisma/seed.ts';
import { describeMachine, freshDatabase, latencyTable, measureLatencies, recordSection, startServices, type LatencyResult } from '../harness.ts';

const SKU_COUNT = 50_000;
const LOCATION_COUNT = 12;
const SKUS_PER_REQUEST = 1_000;
/** A mid-size request too: the planner once read a few hundred SKUs far slower than 1,000. */
const SMALLER_REQUEST_SKUS = 500;
const DURATION_SECONDS = 20;
const WARM_UP_SECONDS = 3;
const TARGET_P95_MS = 100;

const AVAILABILITY_QUERY = `query ($skus: [ID!]!) {
  availability(skus: $skus) {
    asOf
    items { sku available inboundInTransit earliestPromiseDate locations { locationId available inboundInTransit stale } }
  }
}`;

interface AvailabilityAnswer {
  data?: { availability: { items: { sku: string; locations: unknown[] }[] } };
  errors?: unknown;
}

/** `count` distinct SKUs drawn at random from the seeded ones: a new set each call, so no cache helps. */
function randomSkus(count = SKUS_PER_REQUEST): string[] {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(1 + Math.floor(Math.random() * SKU_COUNT));
  return [...picked].map((n) => `SKU-${String(n).padStart(5, '0')}`);
}

function post(url: string, skus: string[]): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: AVAILABILITY_QUERY, variables: { skus } }),
  });
}

/** One request as the load sends it; reads the whole answer but does not parse it, to keep the driver's CPU off the services' cores. */
const availabilityRequest = (url: string, skuCount = SKUS_PER_REQUEST) => async () => {
  const response = await post(url, randomSkus(skuCount));
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error(`availability failed with HTTP ${response.status}: ${text.slice(0, 200)}`);
};

/** Fails unless the answer holds every requested SKU, in order, each at every location; returns its size in bytes. */
async function checkCompleteAnswer(url: string): Promise<number> {
  const skus = randomSkus();
  const text = await (await post(url, skus)).text();
  const answer = JSON.parse(text) as AvailabilityAnswer;
  const items = answer.data?.availability.items;
  if (answer.errors || !items) throw new Error(`${url}: availability failed: ${JSON.stringify(answer.errors)}`);
  const incomplete = items.length !== skus.length || items.some((item, i) => item.sku !== skus[i] || item.locations.length !== LOCATION_COUNT);
  if (incomplete) throw new Error(`${url}: expected ${skus.length} items with ${LOCATION_COUNT} locations each, got ${items.length} items`);
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
    const gateway = `${services.gatewayUrl}/graphql`;
    const inventory = `${services.subgraphUrls.inventory}/graphql`;
    const answerBytes = await checkCompleteAnswer(gateway);
    await checkCompleteAnswer(inventory);
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
