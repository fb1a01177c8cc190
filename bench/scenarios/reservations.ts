import { execFile } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { describeMachine, freshDatabase, latencyTable, measureLatencies, recordSection, startServices } from '../harness.ts';

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
  const services = await startServices(url);
  let answered = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const reserve = (target: string, sku: () => string) => async () => {
    const body = (await postJson(agent, `${target}/graphql`, JSON.stringify({
      query: CREATE,
      variables: { input: { sku: sku(), quantity: 1, locationId: DEMO_LOCATION_ID, channel: 'WEB', reference: 'bench', idempotencyKey: crypto.randomUUID() } },
    }))) as { data?: { createReservation?: { id: string } }; errors?: unknown };
    if (!body.data?.createReservation) throw new Error(JSON.stringify(body.errors));
    answered += 1;
  };
  const anySku = () => `SKU-${String(1 + Math.floor(Math.random() * SKU_COUNT)).padStart(5, '0')}`;
  try {
    const inventory = services.subgraphUrls.inventory;
    await measureLatencies('warm-up', CLIENTS, 3, reserve(inventory, anySku));
    const hot = await measureLatencies('inventory subgraph, one hot SKU', CLIENTS, SECONDS, reserve(inventory, () => DEMO_SKU));
    const spread = await measureLatencies(`inventory subgraph, spread over ${SKU_COUNT.toLocaleString('en')} SKUs`, CLIENTS, SECONDS, reserve(inventory, anySku));
    const viaGateway = await measureLatencies('gateway, one hot SKU', CLIENTS, SECONDS, reserve(services.gatewayUrl, () => DEMO_SKU));
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
    const rows = [hot, spread, viaGateway];
    const figures = `${latencyTable(rows)}

pgbench, the same ${CLIENTS} clients on one hot row (\`UPDATE ... SET available = available - 1 WHERE available >= 1\`,
prepared, ${SECONDS} s): **${ceiling.toFixed(0)} tps**. createReservation on one hot SKU reaches
**${((hot.requestsPerSecond / ceiling) * 100).toFixed(0)}%** of it (${hot.requestsPerSecond.toFixed(0)}/s); spread over many SKUs
**${spread.requestsPerSecond.toFixed(0)}/s**. Targets: 1,000/s on one hot SKU, 3,000/s spread.

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

/**
 * POSTs JSON and parses the answer. The clients share the machine's two cores with the services
 * they measure: node:http over kept-alive sockets costs them ~0.1 ms of CPU a request, fetch
 * ~0.4-0.6 ms.
 */
function postJson(agent: http.Agent, url: string, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
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
