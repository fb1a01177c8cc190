import { startErpSimulator, type ErpFault, type ErpSimulator } from '../../simulators/erp/erpSimulator.ts';
import type { Database } from '../../platform/database/database.ts';
import { cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, recordSection, startServices, type RunningServices } from '../harness.ts';

const TRANSACTIONS = 10_000;
const SKU_COUNT = 2_000;
const LOCATIONS = Array.from({ length: 12 }, (_, i) => `DC-${String(i + 1).padStart(2, '0')}`);
/** As the demo names them: DC-01 is organization DC01. */
const ORGANIZATIONS = LOCATIONS.map((locationId) => `${locationId.replace('-', '')}=${locationId}`).join(',');
const OUTAGE_MS = 30_000;
const TARGET_PER_SECOND = 1_000;
const DRAIN_TIMEOUT_MS = 300_000; // 5 minutes
// The connector's default ERP_SYNC_CIRCUIT_HALF_OPEN_MS: a silence this long (less a margin) between posts is the circuit open.
const CIRCUIT_OPEN_MS = 5_000;

interface Row {
  readonly label: string;
  readonly prefix: string;
  /** Injected as the rows are written; none for the row without faults. */
  readonly fault: ErpFault | null;
}

interface Drained {
  readonly row: Row;
  readonly seconds: number;
  readonly perSecond: number;
  /** For an outage: from the ERP's return until the last row was SYNCED. */
  readonly afterRecoverySeconds: number | null;
  /** Posts the ERP received while it was down. */
  readonly callsWhileDown: number | null;
  readonly requests: number;
  /** Silences of the ERP's length of an open circuit between one post and the next, or longer. */
  readonly circuitOpenings: number;
  readonly repeats: number;
  readonly failedForGood: number;
  readonly reconciliationUs: number;
  readonly postgresUs: number;
  readonly machineBusy: number;
  readonly books: string;
}

/**
 * Draining the ERP sync ledger: 10,000 PENDING_SYNC transactions (2,000 SKUs x the 12 demo
 * locations, written in one statement) posted by the reconciliation service, in a process of its
 * own, to the ERP simulator in the benchmark's process; without faults, with 10% of posts
 * answered 503, and with the ERP down for 30 s. After each row the books: every transaction
 * SYNCED, the ERP holding each reference once, and its balances changed by exactly the
 * transactions' quantities.
 */
export async function erpSync(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  const erp = await startErpSimulator();
  const services = await startServices(url, { ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: ORGANIZATIONS });
  const rows: Row[] = [
    { label: 'no faults', prefix: 'CLEAN', fault: null },
    { label: '10% of posts answered 503', prefix: 'FLAKY', fault: { kind: 'status', status: 503, probability: 0.1, seed: 16 } },
    { label: `ERP down for ${OUTAGE_MS / 1_000} s, then back`, prefix: 'OUTAGE', fault: { kind: 'down', durationMs: OUTAGE_MS } },
  ];
  try {
    const results: Drained[] = [];
    for (const row of rows) {
      results.push(await drain(db, erp, services, row));
      console.log(`${row.label}: ${results.at(-1)!.perSecond.toFixed(0)} transactions/s`);
    }
    const clean = results[0]!;
    const outage = results[2]!;
    const figures = `| row | transactions | drained in s | transactions/s | after the ERP was back, s | posts received | of them repeats | circuit open (5 s without a post) | SYNC_FAILED (then redriven) | reconciliation CPU µs/transaction | PostgreSQL CPU µs/transaction | machine busy |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${results.map((r) => `| ${r.row.label} | ${TRANSACTIONS.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${r.perSecond.toFixed(0)} | ${r.afterRecoverySeconds === null ? '' : r.afterRecoverySeconds.toFixed(1)} | ${r.requests.toLocaleString('en')} | ${r.repeats} | ${r.circuitOpenings} | ${r.failedForGood} | ${r.reconciliationUs.toFixed(0)} | ${r.postgresUs.toFixed(0)} | ${(r.machineBusy * 100).toFixed(0)}% |`).join('\n')}

Target ${TARGET_PER_SECOND.toLocaleString('en')} transactions/s with no faults: **${clean.perSecond >= TARGET_PER_SECOND ? 'met' : 'missed'}** (${clean.perSecond.toFixed(0)}/s).
While the ERP was down it received ${outage.callsWhileDown} posts in ${OUTAGE_MS / 1_000} s (the circuit opened after 5 failures and let one probe through every 5 s);
it drained ${outage.afterRecoverySeconds!.toFixed(1)} s after it was back (the next probe comes up to 5 s after the outage ends).

The books after each row (nothing lost, nothing posted twice): ${results.map((r) => `${r.row.label}: ${r.books}`).join('; ')}.`;
    recordSection('erp-sync', `
## ERP sync: draining the ledger to the ERP

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and Redis 7
(loopback), the ERP simulator (\`simulators/erp\`) in the benchmark's process. Each row writes ${TRANSACTIONS.toLocaleString('en')} PENDING_SYNC
transactions in one statement (receipts, ships and adjustments of ${SKU_COUNT.toLocaleString('en')} SKUs at the 12 demo locations) and times
them until the last is settled: the reconciliation service's connector, with its defaults (16 posts at once, one per
location at a time; 3 attempts from a 1 s backoff; a breaker of 5 failures for 5 s), finds them within its 500 ms poll
and posts each to the simulator's inventoryStagedTransactions over kept-alive connections. With 10% of posts answered
503 (at random, seeded), a transaction fails all 3 attempts one time in a thousand: those become SYNC_FAILED with an
alert, and are redriven (\`redriveSyncTransactions\`, without the fault) after the row is timed; and now and then 5 posts
in a row fail, which opens the circuit for 5 s, as it would with an ERP that erred that much.

${figures}
`);
    console.log(figures);
  } finally {
    await services.stop();
    await erp.stop();
    await db.close();
  }
}

async function drain(db: Database, erp: ErpSimulator, services: RunningServices, row: Row): Promise<Drained> {
  await fetch(new URL('reset', erp.adminUrl), { method: 'POST' });
  if (row.fault) erp.injectFault(row.fault);
  const faultFrom = performance.now();
  const before = await cpuSnapshot(db, services.pids);
  const started = performance.now();
  await db.query(`
    INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure, serials, occurred_at)
    SELECT $1 || '-' || n, 'BENCH:' || $1 || '-' || n, kind, 'SKU-' || lpad((1 + (n * 7919) % $3)::text, 5, '0'), 'DC-' || lpad((1 + n % 12)::text, 2, '0'),
           'STOCK', '', quantity, quantity, 'EA', '{}', now() - ($2 - n) * interval '1 millisecond'
      FROM generate_series(1, $2::int) AS n,
           LATERAL (SELECT CASE n % 3 WHEN 0 THEN 'RECEIPT' WHEN 1 THEN 'SHIP' ELSE 'ADJUSTMENT' END AS kind,
                           CASE n % 3 WHEN 0 THEN 1 + n % 7 WHEN 1 THEN -(1 + n % 5) ELSE CASE WHEN n % 2 = 0 THEN 2 ELSE -2 END END AS quantity) AS v`,
  [row.prefix, TRANSACTIONS, SKU_COUNT]);
  await waitFor(`${row.label}: the ledger settled`, async () => (await statusCounts(db, row.prefix)).pending === 0);
  const drainedMs = performance.now() - started;
  const cpu = cpuPerUnit(before, await cpuSnapshot(db, services.pids), TRANSACTIONS, drainedMs);
  const recoveredAt = row.fault?.kind === 'down' ? faultFrom + row.fault.durationMs : null;
  const callsWhileDown = recoveredAt === null ? null : erp.requests.filter((request) => request.receivedAt < recoveredAt).length;
  const { requests, duplicateReferences } = erp.stats();
  const circuitOpenings = erp.requests.filter((request, i) => i > 0 && request.receivedAt - erp.requests[i - 1]!.receivedAt >= CIRCUIT_OPEN_MS - 500).length;

  // Those that failed every attempt are redriven, as an operator would, once the ERP behaves.
  erp.clearFaults();
  const failed = await db.query<{ id: string }>(`SELECT id FROM sync_transaction WHERE id LIKE $1 || '-%' AND status = 'SYNC_FAILED'`, [row.prefix]);
  if (failed.length) {
    const answer = await (await fetch(`${services.subgraphUrls.reconciliation}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...services.subgraphHeaders() },
      body: JSON.stringify({ query: 'mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id } }', variables: { ids: failed.map(({ id }) => id) } }),
    })).json() as { errors?: unknown };
    if (answer.errors) throw new Error(`redriving failed: ${JSON.stringify(answer.errors)}`);
    await waitFor(`${row.label}: the redriven transactions SYNCED`, async () => (await statusCounts(db, row.prefix)).synced === TRANSACTIONS);
  }
  return {
    row,
    seconds: drainedMs / 1_000,
    perSecond: TRANSACTIONS / (drainedMs / 1_000),
    afterRecoverySeconds: recoveredAt === null ? null : (started + drainedMs - recoveredAt) / 1_000,
    callsWhileDown,
    requests,
    circuitOpenings,
    repeats: duplicateReferences,
    failedForGood: failed.length,
    reconciliationUs: cpu.processUs.reconciliation!,
    postgresUs: cpu.postgresUs,
    machineBusy: cpu.machineBusy,
    books: await checkBooks(db, erp, row.prefix),
  };
}

/** Every transaction SYNCED, the ERP holding each reference once, and its balances moved by exactly their quantities; throws otherwise. */
async function checkBooks(db: Database, erp: ErpSimulator, prefix: string): Promise<string> {
  const { synced } = await statusCounts(db, prefix);
  if (synced !== TRANSACTIONS) throw new Error(`${prefix}: ${TRANSACTIONS - synced} transactions are not SYNCED`);
  const references = new Set(erp.stagedTransactions.map((posted) => posted.TransactionReference));
  if (erp.stagedTransactions.length !== TRANSACTIONS || references.size !== TRANSACTIONS || ![...references].every((reference) => reference.startsWith(`${prefix}-`))) {
    throw new Error(`${prefix}: the ERP holds ${erp.stagedTransactions.length} transactions under ${references.size} references, not each of ${TRANSACTIONS.toLocaleString('en')} once`);
  }
  const expected = await db.query<{ organization: string; sku: string; quantity: number }>(`
    SELECT replace(location_id, '-', '') AS organization, sku, sum(erp_quantity)::int AS quantity
      FROM sync_transaction WHERE id LIKE $1 || '-%' GROUP BY location_id, sku`, [prefix]);
  const held = new Map(erp.balances().map((balance) => [`${balance.OrganizationCode}/${balance.ItemNumber}`, balance.PrimaryQuantity]));
  const wrong = expected.filter((balance) => held.get(`${balance.organization}/${balance.sku}`) !== balance.quantity);
  if (wrong.length || held.size !== expected.length) throw new Error(`${prefix}: ${wrong.length} ERP balances differ from the transactions' quantities`);
  return `${synced.toLocaleString('en')} SYNCED, ${references.size.toLocaleString('en')} references held once, ${expected.length.toLocaleString('en')} balances exact`;
}

async function statusCounts(db: Database, prefix: string): Promise<{ pending: number; synced: number }> {
  const [counts] = await db.query<{ pending: number; synced: number }>(`
    SELECT count(*) FILTER (WHERE status = 'PENDING_SYNC')::int AS pending, count(*) FILTER (WHERE status = 'SYNCED')::int AS synced
      FROM sync_transaction WHERE id LIKE $1 || '-%'`, [prefix]);
  return counts!;
}

/** Polls `done` every 50 ms: small reads, so that the wait does not weigh on the figures. */
async function waitFor(what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${DRAIN_TIMEOUT_MS / 1_000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
