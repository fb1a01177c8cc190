import { execFile } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import {
  cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, gatewayTarget, latencyTable, measureLatencies, postJson, recordSection, startServices, subgraphTarget,
  type GraphqlTarget, type LatencyResult,
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
const SECONDS = 10;
const SKU_COUNT = 5_000;
const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id quantity } }`;

/**
 * createReservation under 50 concurrent clients: on one hot SKU (straight to the inventory
 * subgraph and through the gateway) and spread over 5,000 SKUs; beside it, in the same run,
 * pgbench's ceiling for one hot row with the same number of clients. Afterwards the books are
 * checked: every reservation answered is in the database, and the reserved buckets add up.
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
      variables: { input: { sku: sku(), quantity: 1, locationId: DEMO_LOCATION_ID, channel: 'WEB', reference: 'bench', idempotencyKey: crypto.randomUUID() } },
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
    const inventory = subgraphTarget(services, 'inventory');
    await measureLatencies('warm-up', CLIENTS, 3, reserve(inventory, anySku));
    const trivial = await withCpu('inventory subgraph, `{ __typename }` (no reservation)', 'inventory', trivialQuery(inventory));
    const hot = await withCpu('inventory subgraph, one hot SKU', 'inventory', reserve(inventory, () => DEMO_SKU));
    const spread = await withCpu(`inventory subgraph, spread over ${SKU_COUNT.toLocaleString('en')} SKUs`, 'inventory', reserve(inventory, anySku));
    const viaGateway = await withCpu('gateway, one hot SKU', 'gateway', reserve(gatewayTarget(services), () => DEMO_SKU));
    const ceiling = await pgbenchHotRow(url);

    const [books] = await db.query<{ reservations: number; reservedUnits: number; reservedBuckets: number; negative: number }>(`
      SELECT (SELECT count(*)::int FROM reservation) AS reservations,
             (SELECT coalesce(sum(quantity), 0)::int FROM reservation_line) AS "reservedUnits",
             (SELECT coalesce(sum(reserved), 0)::int FROM stock_position) AS "reservedBuckets",
             (SELECT count(*)::int FROM (
                SELECT 1 FROM stock_position p JOIN stock_level l USING (sku, location_id)
                 GROUP BY p.sku, p.location_id
                HAVING sum(p.on_hand_wms) - sum(p.allocated) - sum(p.reserved) - sum(p.quality_hold) - max(l.safety_stock) < 0
                   AND sum(p.reserved) > 0) AS oversold) AS negative`);
    const rows = [hot, spread, viaGateway].map((row) => row.result);
    const figures = `${latencyTable(rows)}

Where the CPU goes (user + system time over each row, per request answered; PostgreSQL is the
backends of the benchmark database; the machine figure counts every process on it, other
users' included):

${cpuTable([trivial, hot, spread, viaGateway])}

${ceilings(trivial.cpu, hot.cpu, spread.cpu)}

pgbench, the same ${CLIENTS} clients on one hot row (\`UPDATE ... SET available = available - 1 WHERE available >= 1\`,
prepared, ${SECONDS} s): **${ceiling.toFixed(0)} tps**. createReservation on one hot SKU reaches
**${((hot.result.requestsPerSecond / ceiling) * 100).toFixed(0)}%** of it (${hot.result.requestsPerSecond.toFixed(0)}/s); spread over many SKUs
**${spread.result.requestsPerSecond.toFixed(0)}/s**. Targets: 1,000/s on one hot SKU, 3,000/s spread.

The books afterwards: ${answered.toLocaleString('en')} reservations answered, ${books!.reservations.toLocaleString('en')} in the database
(warm-up included), ${books!.reservedUnits.toLocaleString('en')} units on their lines and ${books!.reservedBuckets.toLocaleString('en')} in the reserved buckets;
stock levels reserved beyond what they hold: **${books!.negative}**.`;
    recordSection('reservations', `
## Reservations under concurrency

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs. ${CLIENTS} closed-loop clients in the benchmark
process (node:http, kept-alive connections) each send \`createReservation\` (1 unit at ${DEMO_LOCATION_ID}, a fresh idempotency key every time) and the next
as soon as it is answered, ${SECONDS} s per row after a 3 s warm-up; a request counts only when it returns a reservation.

${figures}
`);
    console.log(figures);
  } finally {
    agent.destroy();
    await services.stop();
    await db.close();
  }
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
