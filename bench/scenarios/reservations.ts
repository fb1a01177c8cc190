import { execFile } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Database } from '../../platform/database/database.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import {
  countOversoldLevels, cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, gatewayTarget, latencyTable, LEVEL_AVAILABLE_SQL, measureLatencies, postJson,
  promiseFiguresSummed, recordSection, startServices, subgraphTarget, type GraphqlTarget, type LatencyResult,
} from '../harness.ts';

/** What a row's CPU comes to per request, for the service it measures. */
interface CpuPerRequest {
  readonly serviceUs: number;
  readonly postgresUs: number;
  /** Share of one core the service process used. */
  readonly serviceBusy: number;
  /** Share of all cores the machine used. */
  readonly machineBusy: number;
}

const CLIENTS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Each row is measured this many times, the four rows taking turns, so that the machine's other work weighs on them alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SKU_COUNT = 5_000;
/** Issue 21's targets: reservations per second spread over the catalogue and on one hot SKU, and the gateway's share of the subgraph's rate. */
const TARGET_SPREAD_PER_SECOND = 3_000;
const TARGET_HOT_PER_SECOND = 2_000;
const TARGET_GATEWAY_SHARE = 0.8;
/** The sell-out round: a second hot SKU left with this many units available, asked for by every client until it has none. */
const SELL_OUT_SKU = 'SKU-00002';
const SELL_OUT_UNITS = 2_000;
const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id quantity } }`;

/**
 * createReservation under 50 concurrent clients, on one hot SKU and spread over 5,000 SKUs, each
 * straight to the inventory subgraph and through the gateway; beside it, in the same run,
 * pgbench's ceiling for one hot row with the same number of clients. Then a sell-out: every
 * client asks for a second hot SKU until none of it is left, half of them through the gateway.
 * Afterwards the books are checked: every reservation answered is in the database, the reserved
 * buckets add up, the sell-out reserved exactly what was available, and no level is oversold.
 */
export async function reservations(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  // Enough stock that no run sells out: the point is the rate, and that nothing oversells.
  await db.query(`UPDATE stock_position SET on_hand_wms = 10000000 WHERE location_id = $1 AND subinventory = 'STOCK'`, [DEMO_LOCATION_ID]);
  await db.query(`UPDATE stock_level SET figures_valid_until = NULL WHERE location_id = $1`, [DEMO_LOCATION_ID]);
  const services = await startServices(url);
  let answered = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const reserve = (target: GraphqlTarget, sku: () => string) => async () => {
    const body = (await postJson(agent, target.url, JSON.stringify({
      query: CREATE,
      variables: { input: reservationInput(sku()) },
    }), target.headers())) as { data?: { createReservation?: { id: string } }; errors?: unknown };
    if (!body.data?.createReservation) throw new Error(JSON.stringify(body.errors));
    answered += 1;
  };
  const trivialQuery = (target: GraphqlTarget) => async () => {
    const body = (await postJson(agent, target.url, JSON.stringify({ query: '{ __typename }' }), target.headers())) as { data?: unknown };
    if (!body.data) throw new Error(JSON.stringify(body));
  };
  const withCpu = async (label: string, service: 'inventory' | 'gateway', request: () => Promise<void>) => {
    const before = await cpuSnapshot(db, services.pids);
    const result = await measureLatencies(label, CLIENTS, SECONDS, request);
    const cpu = cpuPerUnit(before, await cpuSnapshot(db, services.pids), result.requests, (result.requests / result.requestsPerSecond) * 1_000);
    return { result, cpu: { serviceUs: cpu.processUs[service]!, postgresUs: cpu.postgresUs, serviceBusy: cpu.processBusy[service]!, machineBusy: cpu.machineBusy } };
  };
  const anySku = () => `SKU-${String(1 + Math.floor(Math.random() * SKU_COUNT)).padStart(5, '0')}`;
  try {
    await promiseFiguresSummed(db);
    const inventory = subgraphTarget(services, 'inventory');
    const gateway = gatewayTarget(services);
    // Both ways in, so that the gateway's first row does not pay for its warming up (JIT, caches, connections).
    await measureLatencies('warm-up', CLIENTS, 3, reserve(inventory, anySku));
    await measureLatencies('warm-up through the gateway', CLIENTS, 3, reserve(gateway, anySku));
    const trivial = await withCpu('inventory subgraph, `{ __typename }` (no reservation)', 'inventory', trivialQuery(inventory));
    const spreadLabel = `spread over ${SKU_COUNT.toLocaleString('en')} SKUs`;
    const plans = [
      { label: 'inventory subgraph, one hot SKU', service: 'inventory', request: reserve(inventory, () => DEMO_SKU) },
      { label: 'gateway, one hot SKU', service: 'gateway', request: reserve(gateway, () => DEMO_SKU) },
      { label: `inventory subgraph, ${spreadLabel}`, service: 'inventory', request: reserve(inventory, anySku) },
      { label: `gateway, ${spreadLabel}`, service: 'gateway', request: reserve(gateway, anySku) },
    ] as const;
    const measured: MeasuredRow[][] = plans.map(() => []);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [index, plan] of plans.entries()) measured[index]!.push(await withCpu(plan.label, plan.service, plan.request));
    }
    const [hot, hotViaGateway, spread, spreadViaGateway] = measured.map(mergeRounds) as [MeasuredRow, MeasuredRow, MeasuredRow, MeasuredRow];
    const ceiling = await pgbenchHotRow(url);
    const sellOut = await sellOutRound(db, agent, [inventory, gateway]);
    answered += sellOut.reserved;

    const [books] = await db.query<{ reservations: number; reservedUnits: number; reservedBuckets: number }>(`
      SELECT (SELECT count(*)::int FROM reservation) AS reservations,
             (SELECT coalesce(sum(quantity), 0)::int FROM reservation_line) AS "reservedUnits",
             (SELECT coalesce(sum(reserved), 0)::int FROM stock_position) AS "reservedBuckets"`);
    const oversold = await countOversoldLevels(db);
    const rows = [hot, spread, hotViaGateway, spreadViaGateway].map((row) => row.result);
    const rate = (row: { result: LatencyResult }) => row.result.requestsPerSecond;
    const verdict = (met: boolean) => (met ? 'met' : 'missed');
    const share = (viaGateway: { result: LatencyResult }, direct: { result: LatencyResult }) => rate(viaGateway) / rate(direct);
    const percent = (fraction: number) => `${(fraction * 100).toFixed(0)}%`;
    const figures = `${latencyTable(rows)}

Rates are over all ${ROUNDS} rounds of a row (the requests answered in them over their time); percentiles are the slowest
round's. Requests/s of each round, in the order measured: ${plans.map((plan, index) => `${plan.label} ${measured[index]!.map((row) => rate(row).toFixed(0)).join(' / ')}`).join('; ')}.

Where the CPU goes (user + system time over each row, per request answered; PostgreSQL is the
backends of the benchmark database; the machine figure counts every process on it, other
users' included):

${cpuTable([trivial, hot, spread, hotViaGateway, spreadViaGateway])}

${ceilings(trivial.cpu, hot.cpu, spread.cpu)}

pgbench, the same ${CLIENTS} clients on one hot row (\`UPDATE ... SET available = available - 1 WHERE available >= 1\`,
prepared, ${SECONDS} s): **${ceiling.toFixed(0)} tps**. createReservation on one hot SKU reaches
**${percent(rate(hot) / ceiling)}** of it (${rate(hot).toFixed(0)}/s).

Targets (issue 21):

| target | measured | result |
|---|---:|---|
| spread over ${SKU_COUNT.toLocaleString('en')} SKUs, subgraph: at least ${TARGET_SPREAD_PER_SECOND.toLocaleString('en')}/s | ${rate(spread).toFixed(0)}/s | **${verdict(rate(spread) >= TARGET_SPREAD_PER_SECOND)}** |
| one hot SKU, subgraph: at least ${TARGET_HOT_PER_SECOND.toLocaleString('en')}/s | ${rate(hot).toFixed(0)}/s | **${verdict(rate(hot) >= TARGET_HOT_PER_SECOND)}** |
| through the gateway, spread: at least ${percent(TARGET_GATEWAY_SHARE)} of the subgraph's rate | ${percent(share(spreadViaGateway, spread))} | **${verdict(share(spreadViaGateway, spread) >= TARGET_GATEWAY_SHARE)}** |
| through the gateway, hot: at least ${percent(TARGET_GATEWAY_SHARE)} of the subgraph's rate | ${percent(share(hotViaGateway, hot))} | **${verdict(share(hotViaGateway, hot) >= TARGET_GATEWAY_SHARE)}** |
| zero oversold | ${oversold} levels oversold; the sell-out reserved ${sellOut.reserved.toLocaleString('en')} of ${SELL_OUT_UNITS.toLocaleString('en')} units | **${verdict(oversold === 0 && sellOut.reserved === SELL_OUT_UNITS && sellOut.availableAfter === 0)}** |

The sell-out: ${SELL_OUT_SKU} at ${DEMO_LOCATION_ID} left with ${SELL_OUT_UNITS.toLocaleString('en')} units available, ${CLIENTS} clients (half straight to the subgraph,
half through the gateway) each reserving 1 unit until refused: ${sellOut.reserved.toLocaleString('en')} reservations made,
${sellOut.refused.toLocaleString('en')} refused with INSUFFICIENT_STOCK, in ${sellOut.seconds.toFixed(1)} s; available afterwards: **${sellOut.availableAfter}**.

The books afterwards: ${answered.toLocaleString('en')} reservations answered, ${books!.reservations.toLocaleString('en')} in the database
(warm-up and sell-out included), ${books!.reservedUnits.toLocaleString('en')} units on their lines and ${books!.reservedBuckets.toLocaleString('en')} in the reserved buckets;
stock levels promising more than they hold: **${oversold}**.`;
    recordSection('reservations', `
## Reservations under concurrency

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs. ${CLIENTS} closed-loop clients in the benchmark
process (node:http, kept-alive connections) each send \`createReservation\` (1 unit at ${DEMO_LOCATION_ID}, a fresh idempotency key every time) and the next
as soon as it is answered, ${ROUNDS} rounds (\`BENCH_ROUNDS\`) of ${SECONDS} s per row (\`BENCH_SECONDS\`), the rows taking turns, after a warm-up of 3 s straight to the subgraph and 3 s through the gateway, which starts once inventory has summed the seeded levels' promise figures; a request counts only when it returns a reservation.

${figures}
`);
    console.log(figures);
  } finally {
    agent.destroy();
    await services.stop();
    await db.close();
  }
}

interface MeasuredRow {
  readonly result: LatencyResult;
  readonly cpu: CpuPerRequest;
}

/** The rounds of one row as one: requests and time summed, CPU per request weighted by requests, busy shares by time, the slowest round's percentiles. */
function mergeRounds(rounds: readonly MeasuredRow[]): MeasuredRow {
  const requests = rounds.reduce((sum, { result }) => sum + result.requests, 0);
  const seconds = rounds.reduce((sum, { result }) => sum + result.requests / result.requestsPerSecond, 0);
  const byRequests = (of: (row: MeasuredRow) => number) => rounds.reduce((sum, row) => sum + of(row) * row.result.requests, 0) / requests;
  const byTime = (of: (row: MeasuredRow) => number) => rounds.reduce((sum, row) => sum + (of(row) * row.result.requests) / row.result.requestsPerSecond, 0) / seconds;
  const slowest = rounds.reduce((worst, row) => (row.result.p99Ms > worst.result.p99Ms ? row : worst));
  const stolen = rounds.map(({ result }) => result.stolenPercent);
  return {
    result: {
      ...slowest.result,
      requests,
      requestsPerSecond: requests / seconds,
      failures: rounds.reduce((sum, { result }) => sum + result.failures, 0),
      stolenPercent: stolen.every((share) => share !== null) ? byTime((row) => row.result.stolenPercent!) : null,
    },
    cpu: {
      serviceUs: byRequests((row) => row.cpu.serviceUs),
      postgresUs: byRequests((row) => row.cpu.postgresUs),
      serviceBusy: byTime((row) => row.cpu.serviceBusy),
      machineBusy: byTime((row) => row.cpu.machineBusy),
    },
  };
}

interface SellOut {
  readonly reserved: number;
  readonly refused: number;
  readonly seconds: number;
  /** What the level can promise once every client was refused. */
  readonly availableAfter: number;
}

/** createReservation's input: 1 unit of `sku` at DEMO_LOCATION_ID, under a fresh idempotency key. */
const reservationInput = (sku: string) => ({ sku, quantity: 1, locationId: DEMO_LOCATION_ID, channel: 'WEB', reference: 'bench', idempotencyKey: crypto.randomUUID() });

// One level's available to promise (see LEVEL_AVAILABLE_SQL).
const AVAILABLE = `SELECT available::int FROM (${LEVEL_AVAILABLE_SQL}) AS level WHERE level.sku = $1 AND level.location_id = $2`;

/**
 * Leaves SELL_OUT_SKU at DEMO_LOCATION_ID with SELL_OUT_UNITS available (its STOCK on hand moved
 * by the difference), then has every client reserve 1 unit of it, over `targets` in turn, until it
 * is refused INSUFFICIENT_STOCK. Any other answer fails the run.
 */
async function sellOutRound(db: Database, agent: http.Agent, targets: readonly GraphqlTarget[]): Promise<SellOut> {
  await db.query(`
    WITH level AS (${AVAILABLE})
    UPDATE stock_position p SET on_hand_wms = p.on_hand_wms + $3 - level.available FROM level
     WHERE p.sku = $1 AND p.location_id = $2 AND p.subinventory = 'STOCK'`, [SELL_OUT_SKU, DEMO_LOCATION_ID, SELL_OUT_UNITS]);
  await db.query(`UPDATE stock_level SET figures_valid_until = NULL WHERE sku = $1 AND location_id = $2`, [SELL_OUT_SKU, DEMO_LOCATION_ID]);
  let reserved = 0;
  let refused = 0;
  let next = 0;
  const started = performance.now();
  const client = async () => {
    for (;;) {
      if (performance.now() - started > 120_000) throw new Error('the sell-out has not sold out after 2 minutes');
      const target = targets[next++ % targets.length]!;
      const body = (await postJson(agent, target.url, JSON.stringify({ query: CREATE, variables: { input: reservationInput(SELL_OUT_SKU) } }), target.headers())) as {
        data?: { createReservation?: { id: string } | null }; errors?: { extensions?: { code?: string } }[];
      };
      if (body.data?.createReservation) reserved += 1;
      else if (body.errors?.[0]?.extensions?.code === 'INSUFFICIENT_STOCK') return void (refused += 1);
      else throw new Error(`the sell-out got neither a reservation nor INSUFFICIENT_STOCK: ${JSON.stringify(body).slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1_000;
  const [after] = await db.query<{ available: number }>(AVAILABLE, [SELL_OUT_SKU, DEMO_LOCATION_ID]);
  return { reserved, refused, seconds, availableAfter: after!.available };
}

/** What the CPU figures allow at most: one Node process is one core; everything shares all of them. */
function ceilings(trivial: CpuPerRequest, hot: CpuPerRequest, spread: CpuPerRequest): string {
  const cores = cpus().length;
  const perSecond = (us: number) => Math.round(1_000_000 / us).toLocaleString('en');
  return `The inventory process is one thread: at the CPU it spends per request it serves at most
${perSecond(hot.serviceUs)}/s on the hot SKU and ${perSecond(spread.serviceUs)}/s spread, and ${perSecond(trivial.serviceUs)}/s of \`{ __typename }\`
(Apollo Server, GraphQL and HTTP alone). A reservation costs the service and PostgreSQL together
${Math.round(hot.serviceUs + hot.postgresUs)} µs (hot) and ${Math.round(spread.serviceUs + spread.postgresUs)} µs (spread), so the machine's ${cores} cores hold at most
${perSecond((hot.serviceUs + hot.postgresUs) / cores)}/s and ${perSecond((spread.serviceUs + spread.postgresUs) / cores)}/s if nothing else ran on them: not
even the benchmark's clients, which share the cores here.`;
}

function cpuTable(rows: readonly { result: LatencyResult; cpu: CpuPerRequest }[]): string {
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  return [
    '| target | requests/s | service CPU µs/request (the gateway for its row, else inventory) | PostgreSQL CPU µs/request | service process busy (of one core) | machine busy (of all cores) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(({ result, cpu }) => `| ${result.label} | ${result.requestsPerSecond.toFixed(0)} | ${cpu.serviceUs.toFixed(0)} | ${cpu.postgresUs.toFixed(0)} | ${percent(cpu.serviceBusy)} | ${percent(cpu.machineBusy)} |`),
  ].join('\n');
}

/** pgbench's transactions/s for one hot row, `CLIENTS` clients, in the benchmark database. */
async function pgbenchHotRow(databaseUrl: string): Promise<number> {
  const script = join(tmpdir(), 'stockgraph-hot-row.sql');
  writeFileSync(script, 'UPDATE bench_hot_row SET available = available - 1 WHERE id = 1 AND available >= 1;\n');
  const run = promisify(execFile);
  await run('psql', [databaseUrl, '-qc', 'DROP TABLE IF EXISTS bench_hot_row; CREATE TABLE bench_hot_row (id int PRIMARY KEY, available int); INSERT INTO bench_hot_row VALUES (1, 1000000000)']);
  const { stdout } = await run('pgbench', ['-n', '-M', 'prepared', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-f', script, databaseUrl]);
  const tps = /tps = ([\d.]+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(tps[1]);
}
