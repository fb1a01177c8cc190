import { seedDemoData } from '../../prisma/seed.ts';
import { signEventBatch, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import pg from 'pg';
import type { Database } from '../../platform/database/database.ts';
import { POSTGRES_ADMIN_URL, describeMachine, freshDatabase, measureLatencies, recordSection, startServices, type LatencyResult } from '../harness.ts';

const SOURCE = 'acme-wms';
const SECRET = 'bench-acme-wms-secret';
const SKU_COUNT = 5_000;
const BATCH_EVENTS = 500;
// The long run shows whether the rate holds as the outbox table fills.
const RUNS = [
  { posters: 1, seconds: 15 },
  { posters: 2, seconds: 15 },
  { posters: 4, seconds: 15 },
  { posters: 4, seconds: 45 },
];
const WARM_UP_POSTERS = 2;
const WARM_UP_SECONDS = 3;
const TARGET_EVENTS_PER_SECOND = 5_000;
const DRAIN_TIMEOUT_MS = 300_000;

// The seed counts SKU-n in EA when n % 5 < 3 and lot-controls it when n % 10 = 0: receipts
// without a lot, in EA, are valid for n % 10 in {1, 2, 5, 6, 7}.
const SKUS = Array.from({ length: SKU_COUNT }, (_, i) => i + 1)
  .filter((n) => [1, 2, 5, 6, 7].includes(n % 10))
  .map((n) => `ACME-${String(n).padStart(5, '0')}`);
const SITES = Object.keys(loadExampleMappings().find((mapping) => mapping.source === SOURCE)!.locationCodes);

interface Totals {
  events: number;
  quantity: number;
}

interface Check {
  readonly expected: number;
  readonly actual: number;
}

interface RunResult {
  readonly posters: number;
  readonly seconds: number;
  readonly outboxRowsBefore: number;
  readonly load: LatencyResult;
  readonly events: number;
  readonly acceptedPerSecond: number;
  readonly publishedSeconds: number;
  readonly publishedPerSecond: number;
  readonly drainSeconds: number;
  /** The ledger against what was posted, warm-up included. */
  readonly checks: { readonly onHandWms: Check; readonly inventoryEvents: Check; readonly outboxRows: Check };
}

let nextEvent = 0;
const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

/** A batch of receipts spread over the SKUs and sites, with unique event ids and increasing seq. */
function receiptBatch(): { events: Record<string, unknown>[]; quantity: number } {
  const ts = new Date().toISOString();
  const events = Array.from({ length: BATCH_EVENTS }, () => {
    nextEvent += 1;
    return { event_id: `bench-${nextEvent}`, txn_type: 'RCV', seq: nextEvent, item_code: pick(SKUS), site: pick(SITES), qty: 1 + Math.floor(Math.random() * 48), uom: 'EA', ts };
  });
  return { events, quantity: events.reduce((sum, event) => sum + event.qty, 0) };
}

/** Posts one signed batch; fails unless every event of it was APPLIED, and counts it only then. */
const postBatch = (baseUrl: string, totals: Totals) => async () => {
  const { events, quantity } = receiptBatch();
  const body = JSON.stringify({ events });
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${baseUrl}/events/${SOURCE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signEventBatch(SECRET, timestamp, body) },
    body,
  });
  const answer = (await response.json()) as { applied?: number };
  if (response.status !== 200 || answer.applied !== BATCH_EVENTS) throw new Error(`batch refused or partly applied: HTTP ${response.status} ${JSON.stringify(answer).slice(0, 200)}`);
  totals.events += BATCH_EVENTS;
  totals.quantity += quantity;
};

async function unpublishedCount(db: Database): Promise<number> {
  const [row] = await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM event_outbox_pending WHERE producer = 'inventory'`;
  return row!.n;
}

/** Resolves when the relay has published every outbox row, polling every 20 ms. */
async function waitUntilPublished(db: Database): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while ((await unpublishedCount(db)) > 0) {
    if (Date.now() > deadline) throw new Error(`outbox rows still unpublished after ${DRAIN_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Published outbox rows leave dead tuples and stale statistics behind, which only (auto)vacuum clears.
async function autovacuumSetting(): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return (await client.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum;
  } finally {
    await client.end();
  }
}

async function ledgerTotals(db: Database): Promise<{ onHandWms: number; events: number; outbox: number }> {
  const [row] = await db.prisma.$queryRaw<{ onHandWms: number; events: number; outbox: number }[]>`
    SELECT (SELECT sum(on_hand_wms)::int FROM stock_position) AS "onHandWms",
           (SELECT count(*)::int FROM inventory_event WHERE source = ${SOURCE}) AS events,
           (SELECT count(*)::int FROM event_outbox WHERE type = 'inventory.stockLevel.changed') AS outbox`;
  return row!;
}

/**
 * Warehouse event ingestion end to end: signed batches of acme-wms receipts from 1, 2 and 4
 * concurrent posters (and 4 for longer), until the outbox relay has published every resulting stock change to
 * Redis; then checks that the ledger moved by exactly what was posted.
 */
export async function eventIngestion(command: string): Promise<void> {
  const runs: RunResult[] = [];
  for (const { posters, seconds } of RUNS) {
    runs.push(await ingestionRun(posters, seconds));
    console.log(ingestionTable(runs.slice(-1)));
  }
  const correct = runs.every((run) => Object.values(run.checks).every((check) => check.expected === check.actual));
  const missed = runs.filter((run) => run.acceptedPerSecond < TARGET_EVENTS_PER_SECOND || run.publishedPerSecond < TARGET_EVENTS_PER_SECOND);
  const autovacuum = await autovacuumSetting();
  const check = ({ expected, actual }: Check) => (expected === actual ? `${actual}` : `**${actual}, expected ${expected}**`);

  recordSection('event-ingestion', `
## Warehouse event ingestion, end to end

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15
(autovacuum ${autovacuum}) and Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en-US')} SKUs x 12 DCs; each row starts from a fresh database and fresh
services, warmed up by ${WARM_UP_POSTERS} posters for ${WARM_UP_SECONDS} s. Each poster sends signed \`POST /events/${SOURCE}\` batches of
${BATCH_EVENTS} receipts (random SKU among the ${SKUS.length.toLocaleString('en-US')} EA non-lot ones, random site among the ${SITES.length}, 1-48 units,
unique event ids, increasing seq) to the inventory subgraph, the next as soon as the previous is answered, for
the seconds given; a batch counts only when answered 200 with all ${BATCH_EVENTS} events APPLIED. *Published* is measured
from the first POST until no outbox record is left in \`event_outbox_pending\` (the relay has written every
stock change to the Redis stream).

${ingestionTable(runs)}

Target ${TARGET_EVENTS_PER_SECOND.toLocaleString('en-US')} events/s sustained, accepted and published: **${missed.length === 0 ? 'met in every row' : `missed by ${missed.map((run) => `${run.posters} poster(s) for ${run.seconds} s`).join(', ')}`}**.

The ledger after each row against what was posted (warm-up included), **${correct ? 'all match' : 'MISMATCH'}**:

| posters | s | events posted | inventory_event rows | stock changes in event_outbox, all published | units received | sum of on_hand_wms increase |
|---:|---:|---:|---:|---:|---:|---:|
${runs.map((run) => `| ${run.posters} | ${run.seconds} | ${run.checks.inventoryEvents.expected} | ${check(run.checks.inventoryEvents)} | ${check(run.checks.outboxRows)} | ${run.checks.onHandWms.expected} | ${check(run.checks.onHandWms)} |`).join('\n')}
`);
  if (!correct) throw new Error('event ingestion: the ledger does not match what was posted (see BENCHMARKS.md)');
  if (runs.some((run) => run.load.failures > 0)) throw new Error('event ingestion: batches were refused or partly applied (see BENCHMARKS.md)');
}

async function ingestionRun(posters: number, seconds: number): Promise<RunResult> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  const services = await startServices(url, { WMS_SOURCE_SECRETS: `${SOURCE}=${SECRET}` });
  try {
    const inventory = services.subgraphUrls.inventory;
    const before = await ledgerTotals(db);
    const posted: Totals = { events: 0, quantity: 0 };
    await measureLatencies('warm-up', WARM_UP_POSTERS, WARM_UP_SECONDS, postBatch(inventory, posted));
    await waitUntilPublished(db);

    const { outbox: outboxRowsBefore } = await ledgerTotals(db);
    const eventsBefore = posted.events;
    const started = performance.now();
    const load = await measureLatencies(`${posters} poster${posters === 1 ? '' : 's'}`, posters, seconds, postBatch(inventory, posted));
    const answered = performance.now();
    await waitUntilPublished(db);
    const published = performance.now();
    const after = await ledgerTotals(db);
    const events = posted.events - eventsBefore;
    return {
      posters,
      seconds,
      outboxRowsBefore,
      load,
      events,
      acceptedPerSecond: load.requestsPerSecond * BATCH_EVENTS,
      publishedSeconds: (published - started) / 1_000,
      publishedPerSecond: events / ((published - started) / 1_000),
      drainSeconds: (published - answered) / 1_000,
      checks: {
        onHandWms: { expected: posted.quantity, actual: after.onHandWms - before.onHandWms },
        inventoryEvents: { expected: posted.events, actual: after.events - before.events },
        outboxRows: { expected: posted.events, actual: after.outbox - before.outbox },
      },
    };
  } finally {
    await services.stop();
    await db.close();
  }
}

function ingestionTable(runs: readonly RunResult[]): string {
  const rows = runs.map((run) =>
    `| ${run.posters} | ${run.seconds} | ${run.outboxRowsBefore} | ${run.load.requests} | ${run.events} | ${run.acceptedPerSecond.toFixed(0)} | ${run.load.p50Ms.toFixed(0)} | ${run.load.p95Ms.toFixed(0)} | ${run.load.p99Ms.toFixed(0)} | ${run.load.failures} | ${run.publishedSeconds.toFixed(1)} | ${run.drainSeconds.toFixed(1)} | ${run.publishedPerSecond.toFixed(0)} | ${run.load.stolenPercent?.toFixed(1) ?? 'n/a'} |`);
  return [
    '| posters | s | outbox rows before | batches | events | accepted events/s | batch p50 ms | batch p95 ms | batch p99 ms | failed batches | all published after s | of which drain after last answer s | published events/s | CPU stolen % |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
