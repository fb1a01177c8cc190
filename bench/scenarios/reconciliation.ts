import { readFileSync } from 'node:fs';
import type { Database } from '../../platform/database/database.ts';
import { cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, recordSection, startServices } from '../harness.ts';

const SKUS = 50_000;
const LOCATIONS = 12;
const POSITIONS = SKUS * LOCATIONS;
/** One position in this many varies (1%), the tiers taking turns; as many more disagree only by a pending ship. */
const VARY_EVERY = 100;
const VARIANCES = POSITIONS / VARY_EVERY;
/** Synced transactions the ERP's balances include already: the ledger's history, which the run must pass over. */
const SYNCED_HISTORY = 200_000;
const TARGET_SECONDS = 5;
const RUN_FIELDS = `id status startedAt finishedAt positionsCompared matched accuracy autoCorrected reviewed alerted alreadyOpen closedGone
  orphansRetried orphanTasks error`;

interface Run {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  positionsCompared: number;
  matched: number;
  accuracy: number;
  autoCorrected: number;
  reviewed: number;
  alerted: number;
  alreadyOpen: number;
  closedGone: number;
  orphansRetried: number;
  orphanTasks: number;
  error: string | null;
}

/**
 * Lays down reconciliation's copy of 50,000 SKUs x 12 locations, set-based. Position n (1 to
 * 600,000) varies when n % 100 = 0: k = n / 100 picks its tier by k % 3 (a variance of 1-4, 5-50
 * or 51-200 units, every other one negative), and every fourth of them has a pending ship that
 * explains a part of its disagreement but not the variance. Position n with n % 100 = 50
 * disagrees by a pending ship alone (the ERP higher than the WMS): it matches. The ledger also
 * holds SYNCED_HISTORY transactions synced before the ERP's balances were taken.
 */
async function seedPositions(db: Database): Promise<void> {
  await db.runScript(`
BEGIN;
CREATE TEMP TABLE bench_position ON COMMIT DROP AS
SELECT n, 'SKU-' || lpad((1 + (n - 1) / ${LOCATIONS})::text, 5, '0') AS sku, 'DC-' || lpad((1 + (n - 1) % ${LOCATIONS})::text, 2, '0') AS location_id,
       300 + n % 480 AS wms,
       CASE WHEN n % ${VARY_EVERY} = 0 THEN
              (CASE (n / ${VARY_EVERY}) % 3 WHEN 0 THEN 1 + (n / ${VARY_EVERY}) % 4 WHEN 1 THEN 5 + (n / ${VARY_EVERY}) % 46 ELSE 51 + (n / ${VARY_EVERY}) % 150 END)
              * CASE WHEN (n / ${VARY_EVERY}) % 2 = 0 THEN 1 ELSE -1 END
            ELSE 0 END AS variance,
       CASE WHEN n % ${VARY_EVERY} = 0 AND (n / ${VARY_EVERY}) % 4 = 0 THEN -(1 + n % 7)
            WHEN n % ${VARY_EVERY} = ${VARY_EVERY / 2} THEN -(1 + n % 9)
            ELSE 0 END AS pending
  FROM generate_series(1, ${POSITIONS}) AS n;

INSERT INTO reconciliation_position (sku, location_id, wms_on_hand, erp_on_hand, erp_reported_at, sequence)
SELECT sku, location_id, wms, wms - variance - pending, now() - interval '10 minutes', 1 FROM bench_position ORDER BY sku, location_id;

INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, quantity, erp_quantity, unit_of_measure, serials, occurred_at, created_at)
SELECT 'BENCH-PENDING-' || n, 'BENCH-PENDING-' || n, 'SHIP', sku, location_id, 'STOCK', pending, pending, 'EA', '{}', now() - interval '5 minutes', now() - interval '5 minutes'
  FROM bench_position WHERE pending <> 0;

INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, quantity, erp_quantity, unit_of_measure, serials, status,
                              attempts, erp_transaction_id, occurred_at, created_at, synced_at)
SELECT 'BENCH-SYNCED-' || h, 'BENCH-SYNCED-' || h, 'RECEIPT', p.sku, p.location_id, 'STOCK', 1 + h % 20, 1 + h % 20, 'EA', '{}', 'SYNCED',
       1, 'ERP-' || h, now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 hour'
  FROM generate_series(1, ${SYNCED_HISTORY}) AS h JOIN bench_position p ON p.n = 1 + (h * 7919) % ${POSITIONS};
COMMIT;
`);
  // Fresh tables have no statistics, nor a visibility map for index-only scans.
  for (const table of ['reconciliation_position', 'sync_transaction']) await db.runScript(`VACUUM ANALYZE ${table}`);
}

/** What the seed makes the run find; see seedPositions. */
function expectedCounts() {
  const perTier = [0, 0, 0];
  for (let k = 1; k <= VARIANCES; k += 1) perTier[k % 3]! += 1;
  const [autoCorrected, reviewed, alerted] = perTier as [number, number, number];
  return { positionsCompared: POSITIONS, matched: POSITIONS - VARIANCES, autoCorrected, reviewed, alerted, alreadyOpen: 0, closedGone: 0 };
}

/** Peak resident memory of a process, in MiB (Linux /proc). */
function peakRssMib(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * One full reconciliation of 50,000 SKUs x 12 locations on the production shape: the services
 * as their own processes, startReconciliation sent to the reconciliation service over GraphQL,
 * then its run followed until it has finished; its counts checked against what was seeded.
 */
export async function reconciliation(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  const seedStarted = performance.now();
  await seedPositions(db);
  const seedSeconds = (performance.now() - seedStarted) / 1_000;
  const services = await startServices(url, { RECONCILIATION_INTERVAL_SECONDS: '0' });
  const endpoint = `${services.subgraphUrls.reconciliation}/graphql`;
  const call = async <Data>(query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...services.subgraphHeaders() }, body: JSON.stringify({ query, variables }) });
    const { data, errors } = (await response.json()) as { data?: Data; errors?: unknown };
    if (errors || !data) throw new Error(`reconciliation request failed: ${JSON.stringify(errors)}`);
    return data;
  };
  try {
    const rssBefore = peakRssMib(services.pids.reconciliation);
    const cpuBefore = await cpuSnapshot(db, services.pids);
    const sent = performance.now();
    const { startReconciliation: started } = await call<{ startReconciliation: Run }>(`mutation { startReconciliation { ${RUN_FIELDS} } }`);
    let run = started;
    while (!run.finishedAt) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      run = (await call<{ reconciliationRun: Run }>(`query ($id: ID!) { reconciliationRun(id: $id) { ${RUN_FIELDS} } }`, { id: started.id })).reconciliationRun;
    }
    const observedSeconds = (performance.now() - sent) / 1_000;
    const cpu = cpuPerUnit(cpuBefore, await cpuSnapshot(db, services.pids), 1, observedSeconds * 1_000);
    const peakRss = peakRssMib(services.pids.reconciliation);
    if (run.status !== 'COMPLETED') throw new Error(`the run did not complete: ${run.error}`);
    const runSeconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1_000;

    const [created] = await db.query<{ discrepancies: number; tasks: number; alerts: number; holds: number; adjustments: number; events: number; audit: number }>(`
      SELECT (SELECT count(*)::int FROM discrepancy WHERE run_id = $1) AS discrepancies,
             (SELECT count(*)::int FROM review_task) AS tasks,
             (SELECT count(*)::int FROM alert) AS alerts,
             (SELECT count(*)::int FROM reconciliation_hold WHERE status = 'ACTIVE') AS holds,
             (SELECT count(*)::int FROM sync_transaction WHERE kind = 'RECONCILIATION_ADJUSTMENT') AS adjustments,
             (SELECT count(*)::int FROM event_outbox WHERE producer = 'reconciliation') AS events,
             (SELECT count(*)::int FROM reconciliation_audit) AS audit`, [run.id]);
    const expected = expectedCounts();
    const found = { positionsCompared: run.positionsCompared, matched: run.matched, autoCorrected: run.autoCorrected, reviewed: run.reviewed, alerted: run.alerted, alreadyOpen: run.alreadyOpen, closedGone: run.closedGone };
    const mismatches = Object.entries(expected).filter(([name, value]) => found[name as keyof typeof found] !== value).map(([name, value]) => `${name} ${found[name as keyof typeof found]} (seeded ${value})`);
    if (created!.tasks !== expected.reviewed) mismatches.push(`review tasks ${created!.tasks} (seeded ${expected.reviewed})`);
    if (created!.alerts !== expected.alerted || created!.holds !== expected.alerted) mismatches.push(`alerts ${created!.alerts}, holds ${created!.holds} (seeded ${expected.alerted})`);
    if (created!.adjustments !== expected.autoCorrected) mismatches.push(`adjustments ${created!.adjustments} (seeded ${expected.autoCorrected})`);
    const n = (value: number) => value.toLocaleString('en');

    const figures = `| positions compared | matched | accuracy | run (startedAt..finishedAt) s | observed by the caller s | service peak RSS MiB (before the run) | reconciliation CPU ms | PostgreSQL CPU ms |
|---:|---:|---:|---:|---:|---:|---:|---:|
| ${n(run.positionsCompared)} | ${n(run.matched)} | ${run.accuracy.toFixed(4)} | ${runSeconds.toFixed(2)} | ${observedSeconds.toFixed(2)} | ${peakRss.toFixed(0)} (${rssBefore.toFixed(0)}) | ${(cpu.processUs.reconciliation! / 1_000).toFixed(0)} | ${(cpu.postgresUs / 1_000).toFixed(0)} |

Created: ${n(created!.discrepancies)} discrepancies (${n(run.autoCorrected)} AUTO_CORRECT, ${n(run.reviewed)} REVIEW, ${n(run.alerted)} ALERT),
${n(created!.adjustments)} RECONCILIATION_ADJUSTMENT sync transactions, ${n(created!.tasks)} review tasks, ${n(created!.alerts)} alerts with
${n(created!.holds)} holds, ${n(created!.audit)} audit entries and ${n(created!.events)} outbox events, in the run's one transaction.
Against the seed: **${mismatches.length === 0 ? 'every count as seeded' : `MISMATCH: ${mismatches.join('; ')}`}** (the ${n(VARIANCES)} positions whose ERP
balance is higher only by a pending ship matched, as did every position whose disagreement a pending ship explains in part but for its variance).

Target under ${TARGET_SECONDS} s: **${runSeconds < TARGET_SECONDS ? 'met' : 'missed'}** (${runSeconds.toFixed(2)} s).`;
    recordSection('reconciliation', `
## Reconciliation: one full run

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and Redis 7 (loopback).
Seeded set-based in ${seedSeconds.toFixed(0)} s: ${n(SKUS)} SKUs x ${LOCATIONS} locations = ${n(POSITIONS)} reconciliation positions, ${n(VARIANCES)} (1%)
with a variance, the three tiers taking turns (1-4, 5-50 and 51-200 units, half of them negative; a quarter partly explained
by a pending ship), ${n(VARIANCES)} more whose ERP balance is higher only by a pending ship, and ${n(SYNCED_HISTORY)} synced transactions of
the ledger's history (in the ERP's balances already). Default tiers. One \`startReconciliation\` sent to the reconciliation
service over GraphQL, then \`reconciliationRun\` read every 20 ms until it has finished. Run time is the run's own
(startedAt..finishedAt: the comparison and everything it raised, up to the statement before its commit); CPU is
user + system time of the reconciliation service and of the benchmark database's backends while the caller waited
(parallel query workers, gone by then, are not counted).

${figures}
`);
    console.log(figures);
  } finally {
    await services.stop();
    await db.close();
  }
}
