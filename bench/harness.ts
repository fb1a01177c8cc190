// What every benchmark scenario shares: a fresh PostgreSQL database, the services started as
// separate processes in their production shape (PostgreSQL + Redis), load generators
// (autocannon, and a closed-loop driver for requests that differ each time) and the
// BENCHMARKS.md writer.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { connectDatabase, type Database } from '../platform/database/database.ts';
import { applyMigrations } from '../platform/database/migrator.ts';
import { deleteKeysUnder } from '../platform/redis.ts';
import { DEFAULT_PORTS, SUBGRAPH_NAMES, variablePrefix, type SubgraphName } from '../platform/config/services.ts';
import { newApiKey, writeClientsFile, type ClientEntry } from '../gateway/clients/clientsFile.ts';
import type { PersistedOperation } from '../gateway/edge/persistedQueryManifest.ts';
import { GRANTABLE_SCOPE_NAMES } from '../gateway/edge/scopes.ts';
import { benchIdentityHeaders } from './benchIdentity.ts';

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
// Two runs on one machine (BENCH_DATABASE, BENCH_PORT_BASE) must not share a database or ports.
const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'stockgraph_bench';
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
/** Where a run's services listen: the gateway at BENCH_PORT_BASE (4000), the subgraphs at the three ports after it. */
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? DEFAULT_PORTS.gateway);
const portOf = (name: SubgraphName | 'gateway') => PORT_BASE + DEFAULT_PORTS[name] - DEFAULT_PORTS.gateway;

/** Drops and recreates the benchmark database, migrated and empty. */
export async function freshDatabase(): Promise<{ url: string; db: Database }> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  await admin.end();
  const url = Object.assign(new URL(POSTGRES_ADMIN_URL), { pathname: `/${BENCH_DATABASE}` }).toString();
  const db = await connectDatabase({ kind: 'postgres', url, poolSize: 4 });
  await applyMigrations(db);
  return { url, db };
}

export interface RunningServices {
  readonly gatewayUrl: string;
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  /** Process ids, for reading their CPU time and memory. */
  readonly pids: Readonly<Record<SubgraphName | 'gateway', number>>;
  /** The prefix of the run's Redis keys (its streams). */
  readonly redisKeyPrefix: string;
  /** What the benchmark's client (every scope, limits it never reaches) sends the gateway. */
  readonly clientHeaders: Readonly<Record<string, string>>;
  /** What a call straight to a subgraph presents in the gateway's place: a freshly signed identity. */
  subgraphHeaders(): Record<string, string>;
  /**
   * Starts one more process beside the services, `node <args>` with their environment (the run's
   * identity secret among it) and `extraEnv`, stopped with them; returns its pid.
   */
  startProcess(args: readonly string[], extraEnv?: Record<string, string>): number;
  stop(): Promise<void>;
}

/** Limits a benchmark's client never reaches: the checks run, the limits never bite. */
export const LIMITS_NEVER_REACHED = Object.freeze({ requestsPerSecond: 1_000_000_000, burst: 1_000_000_000, maxCost: 1_000_000_000 });

/** A client besides the benchmark's own; with a `safelist`, it is bound to a manifest of those operations. */
export interface ExtraClient {
  readonly entry: Omit<ClientEntry, 'manifest'>;
  readonly safelist?: readonly PersistedOperation[];
}

/** The benchmark's own client and `extraClients`, in a clients file of the run's own. */
function benchClients(extraClients: readonly ExtraClient[]): { clientsFile: string; key: string; remove(): void } {
  const folder = mkdtempSync(join(tmpdir(), 'stockgraph-bench-clients-'));
  const clientsFile = join(folder, 'clients.json');
  const { key, record } = newApiKey();
  const extra = extraClients.map(({ entry, safelist }): ClientEntry => {
    if (!safelist) return entry;
    // A manifest's path is relative to the clients file.
    const manifest = `${entry.name}.manifest.json`;
    writeFileSync(join(folder, manifest), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: safelist }));
    return { ...entry, manifest };
  });
  writeClientsFile(clientsFile, {
    version: 1,
    clients: [{ name: 'bench', scopes: [...GRANTABLE_SCOPE_NAMES], limits: LIMITS_NEVER_REACHED, keys: [record] }, ...extra],
  });
  return { clientsFile, key, remove: () => rmSync(folder, { recursive: true, force: true }) };
}

/**
 * Starts the three subgraphs and the gateway as their own processes, as in production;
 * `extraEnv` adds to (or overrides) the variables every service gets, and `extraClients` go
 * into the clients file beside the benchmark's own.
 */
export async function startServices(
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
  { extraClients = [] }: { extraClients?: readonly ExtraClient[] } = {},
): Promise<RunningServices> {
  const children: ChildProcess[] = [];
  const pids: Partial<Record<SubgraphName | 'gateway', number>> = {};
  // NODE_OPTIONS as the Dockerfile sets it.
  // Orders reaches inventory's internal API at the run's inventory port, with this token. The run's
  // Redis keys (its streams) are its own, so that no earlier run's events are read, and go at the end.
  const keyPrefix = `stockgraph-bench:${randomBytes(6).toString('hex')}:`;
  const identitySecret = randomBytes(32).toString('hex');
  const client = benchClients(extraClients);
  const env = {
    PATH: process.env.PATH, DATABASE_URL: databaseUrl, REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, LOG_LEVEL: 'warn', NODE_ENV: 'production',
    NODE_OPTIONS: '--max-semi-space-size=64', INTERNAL_API_TOKEN: 'stockgraph-bench-internal-token',
    GATEWAY_IDENTITY_SECRET: identitySecret, CLIENTS_FILE: client.clientsFile,
    ...servicePorts(), INVENTORY_API_URL: `http://127.0.0.1:${portOf('inventory')}`, ...extraEnv,
  };
  const startProcess = (args: readonly string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    return child.pid!;
  };
  // With BENCH_CPU_PROFILE_DIR, every service writes its CPU profiles (one per thread) in a folder of its own there as it stops (node --cpu-prof), to see where a scenario's time goes.
  const start = (name: SubgraphName | 'gateway', entry: string) => {
    pids[name] = startProcess([...(CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROFILE_DIR, name)}`] : []), '--import', 'tsx', entry]);
  };
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `http://127.0.0.1:${portOf(name)}`])) as Record<SubgraphName, string>;
  // The gateway first, so that it does not relay failures from subgraphs shutting down.
  const stop = async () => {
    for (const child of [...children].reverse()) {
      if (child.exitCode === null) await new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')));
    }
    await deleteKeysUnder(REDIS_URL, keyPrefix);
    client.remove();
  };
  const gatewayUrl = `http://127.0.0.1:${portOf('gateway')}`;
  try {
    await Promise.all([...SUBGRAPH_NAMES, 'gateway' as const].map((name) => mustBeFree(portOf(name))));
    for (const name of SUBGRAPH_NAMES) start(name, `subgraphs/${name}/main.ts`);
    await Promise.all(Object.values(subgraphUrls).map((url) => waitUntilReady(url)));
    start('gateway', 'gateway/main.ts');
    await waitUntilReady(gatewayUrl);
    return {
      gatewayUrl,
      subgraphUrls,
      pids: pids as Record<SubgraphName | 'gateway', number>,
      redisKeyPrefix: keyPrefix,
      clientHeaders: { authorization: `Bearer ${client.key}` },
      subgraphHeaders: benchIdentityHeaders(identitySecret),
      startProcess,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Each service's port variable, and the gateway's URL of each subgraph. */
function servicePorts(): Record<string, string> {
  const variables: Record<string, string> = { GATEWAY_PORT: String(portOf('gateway')) };
  for (const name of SUBGRAPH_NAMES) {
    variables[`${variablePrefix(name)}_PORT`] = String(portOf(name));
    variables[`${variablePrefix(name)}_URL`] = `http://127.0.0.1:${portOf(name)}/graphql`;
  }
  return variables;
}

/** Fails when something listens on `port` already: a service of another run would answer in ours' place. */
async function mustBeFree(port: number): Promise<void> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is taken (another benchmark running?): set BENCH_PORT_BASE to run beside it`) : error));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** A GraphQL endpoint and what a request presents there. */
export interface GraphqlTarget {
  readonly url: string;
  /** Called per request: a subgraph honours a signed identity for 60 s only. */
  headers(): Readonly<Record<string, string>>;
}

/** The gateway, called by the benchmark's client or by the client whose `headers` are given. */
export function gatewayTarget(services: RunningServices, headers = services.clientHeaders): GraphqlTarget {
  return { url: `${services.gatewayUrl}/graphql`, headers: () => headers };
}

/** A subgraph called straight, with the identity the gateway would have signed. */
export function subgraphTarget(services: RunningServices, name: SubgraphName): GraphqlTarget {
  return { url: `${services.subgraphUrls[name]}/graphql`, headers: () => services.subgraphHeaders() };
}

// A service compiles its TypeScript as it starts: on a busy shared machine that alone can take half a minute.
async function waitUntilReady(baseUrl: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = await fetch(`${baseUrl}/readyz`).then((response) => response.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${baseUrl} was not ready within ${timeoutMs} ms`);
}

export interface LoadResult {
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly failures: number;
}

type Headers = Readonly<Record<string, string>>;

/**
 * Drives POST GraphQL load at `url` with autocannon and summarises it. `body` is sent with every
 * request, or is called for each request's body (keys that differ each time); `headers` likewise
 * (a subgraph honours a signed identity for 60 s: a run longer than that needs one signed per
 * request). A non-2xx answer, a transport error, a timeout and an answer carrying GraphQL `errors`
 * each count as a failure, not as a request served: requests/s counts answers without errors. The
 * first request must succeed, or the run does not start.
 */
export async function graphqlLoad(
  label: string,
  url: string,
  body: { query: string; variables?: Record<string, unknown> } | (() => string),
  { connections = 16, durationSeconds = 10, headers = {} }: { connections?: number; durationSeconds?: number; headers?: Headers | (() => Headers) } = {},
): Promise<LoadResult> {
  const fixedBody = typeof body === 'function' ? null : JSON.stringify(body);
  const request = () => ({
    body: fixedBody ?? (body as () => string)(),
    headers: { 'content-type': 'application/json', ...(typeof headers === 'function' ? headers() : headers) },
  });
  const first = request();
  const check = await (await fetch(url, { method: 'POST', ...first })).text();
  if (carriesErrors(check)) throw new Error(`${label}: the benchmark query fails: ${check.slice(0, 500)}`);
  let answeredWithErrors = 0;
  const onResponse = (status: number, text: string) => {
    if (status < 300 && carriesErrors(text)) answeredWithErrors += 1;
  };
  // A request that never changes is built once; one that does, for every request (in the driver, which shares the cores).
  const varies = fixedBody === null || typeof headers === 'function';
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: durationSeconds,
    ...(varies ? {} : first),
    requests: [varies ? { setupRequest: (built) => ({ ...built, ...request() }), onResponse } : { onResponse }],
  });
  const failures = result.non2xx + result.errors + result.timeouts + answeredWithErrors;
  return {
    label,
    requestsPerSecond: (result.requests.total - result.non2xx - answeredWithErrors) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    failures,
  };
}

/** Whether a GraphQL-over-HTTP answer holds `errors` (no benchmark query selects a field of that name). */
export const carriesErrors = (answer: string): boolean => answer.includes('"errors":');

export interface LatencyResult extends LoadResult {
  readonly p95Ms: number;
  /** The share of the machine's CPU time its hypervisor gave to other guests meanwhile; null off Linux. */
  readonly stolenPercent: number | null;
}

/**
 * Closed-loop load: `concurrency` callers each await `request()` and call it again until
 * `durationSeconds` have passed. For requests that must differ each time, which autocannon
 * cannot send; every latency is kept, so any percentile is exact. A request that throws
 * counts as a failure and its latency is left out.
 */
export async function measureLatencies(
  label: string,
  concurrency: number,
  durationSeconds: number,
  request: () => Promise<void>,
): Promise<LatencyResult> {
  const latencies: number[] = [];
  let failures = 0;
  const stolen = measureStolenCpu();
  const started = performance.now();
  const deadline = started + durationSeconds * 1_000;
  const caller = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await request();
        latencies.push(performance.now() - sent);
      } catch (error) {
        // The first failure says why; the rest are only counted.
        if (failures === 0) console.error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedSeconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  return {
    label,
    requestsPerSecond: latencies.length / elapsedSeconds,
    p50Ms: percentile(50),
    p95Ms: percentile(95),
    p99Ms: percentile(99),
    requests: latencies.length,
    failures,
    stolenPercent: stolen(),
  };
}

/**
 * Starts measuring CPU steal (time the hypervisor ran other guests on this machine's CPUs, from
 * /proc/stat); the function returned gives its share of all CPU time since, in percent. On a
 * shared host it says how much of a slow row was the host's doing.
 */
function measureStolenCpu(): () => number | null {
  const read = () => {
    try {
      // cpu user nice system idle iowait irq softirq steal ...
      const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
      return { steal: ticks[7]!, total: ticks.reduce((sum, n) => sum + n, 0) };
    } catch {
      return null;
    }
  };
  const start = read();
  return () => {
    const end = read();
    return start && end && end.total > start.total ? (100 * (end.steal - start.steal)) / (end.total - start.total) : null;
  };
}

const REPOSITORY_ROOT = new URL('..', import.meta.url).pathname;
const BENCHMARKS_PATH = `${REPOSITORY_ROOT}BENCHMARKS.md`;

export function describeMachine(): string {
  const cpu = cpus();
  return `commit ${measuredCommit()}, ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * The commit a figure measures; a working tree with changes to tracked files says so, for such a
 * figure measures no commit. BENCHMARKS.md itself does not count: the runs before write it.
 */
function measuredCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPOSITORY_ROOT, encoding: 'utf8' }).trim();
  try {
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!BENCHMARKS.md') === '' ? head : `${head} with uncommitted changes`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}


/** Replaces (or appends) the scenario's section of BENCHMARKS.md. */
export function recordSection(scenario: string, markdown: string): void {
  const begin = `<!-- bench:${scenario} -->`;
  const end = `<!-- /bench:${scenario} -->`;
  const section = `${begin}\n${markdown.trim()}\n${end}`;
  const current = existsSync(BENCHMARKS_PATH)
    ? readFileSync(BENCHMARKS_PATH, 'utf8')
    : '# Benchmarks\n\nWritten by `npm run bench`; each section says the command that produced it. Compare ratios measured in one run, not absolute figures across runs: the machine is noisy.\n';
  const pattern = new RegExp(`${begin}[\\s\\S]*?${end}`);
  writeFileSync(BENCHMARKS_PATH, pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`);
}

export function resultTable(results: readonly LoadResult[]): string {
  const rows = results.map((r) => `| ${r.label} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.requests} | ${r.failures} |`);
  return ['| target | requests/s | p50 ms | p99 ms | requests | failures |', '|---|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

export function latencyTable(results: readonly LatencyResult[]): string {
  const rows = results.map((r) =>
    `| ${r.label} | ${r.requestsPerSecond.toFixed(1)} | ${r.p50Ms.toFixed(1)} | ${r.p95Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.requests} | ${r.failures} | ${r.stolenPercent?.toFixed(1) ?? 'n/a'} |`);
  return ['| target | requests/s | p50 ms | p95 ms | p99 ms | requests | failures | CPU stolen % |', '|---|---:|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** User + system CPU time a process has used, in ms (Linux /proc); 0 once it has gone. */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU time used so far by the named processes, the benchmark database's backends and the machine. */
export interface CpuSnapshot {
  /** By process name, in ms. */
  readonly processMs: Readonly<Record<string, number>>;
  /** By PostgreSQL backend pid, in ms. */
  readonly postgresMsByPid: ReadonlyMap<number, number>;
  /** The machine's busy and total CPU time, in clock ticks (all cores). */
  readonly machine: { readonly busy: number; readonly total: number };
}

export async function cpuSnapshot(db: Database, pids: Readonly<Record<string, number>>): Promise<CpuSnapshot> {
  const backends = await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  // The first line of /proc/stat: user nice system idle iowait irq softirq steal ...
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, tick) => sum + tick, 0);
  return {
    processMs: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)])),
    postgresMsByPid: new Map(backends.map(({ pid }) => [pid, processCpuMs(pid)])),
    machine: { busy: total - ticks[3]! - ticks[4]!, total },
  };
}

/** CPU spent between two snapshots, per unit of work done meanwhile. */
export interface CpuPerUnit {
  /** By process name, in µs per unit. */
  readonly processUs: Readonly<Record<string, number>>;
  readonly postgresUs: number;
  /** By process name: its share of one core over `elapsedMs`. */
  readonly processBusy: Readonly<Record<string, number>>;
  /** Share of all cores the machine used. */
  readonly machineBusy: number;
}

// A backend that started in between counts from zero; one that ended (idle, closed by its pool)
// is left out.
export function cpuPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number, elapsedMs: number): CpuPerUnit {
  let postgresMs = 0;
  for (const [pid, ms] of after.postgresMsByPid) postgresMs += ms - (before.postgresMsByPid.get(pid) ?? 0);
  const spentMs = Object.fromEntries(Object.keys(after.processMs).map((name) => [name, after.processMs[name]! - (before.processMs[name] ?? 0)]));
  return {
    processUs: Object.fromEntries(Object.entries(spentMs).map(([name, ms]) => [name, (ms * 1_000) / units])),
    postgresUs: (postgresMs * 1_000) / units,
    processBusy: Object.fromEntries(Object.entries(spentMs).map(([name, ms]) => [name, ms / elapsedMs])),
    machineBusy: (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
  };
}

/**
 * Waits until inventory has summed the promise figures of every stock level written by plain SQL
 * (the seed's, a scenario's stock set by hand): its sweep locks those levels a batch at a time as
 * the service starts, so a row measured meanwhile measures the sweep too. Nothing announces the
 * end of the sweep; the levels say it.
 */
export async function promiseFiguresSummed(db: Database, deadlineMs = 600_000): Promise<void> {
  const started = performance.now();
  for (;;) {
    const [row] = await db.query<{ due: boolean }>('SELECT EXISTS (SELECT 1 FROM stock_level WHERE figures_valid_until IS NULL) AS due');
    if (!row!.due) return;
    if (performance.now() - started > deadlineMs) throw new Error(`inventory has not summed the seeded levels' promise figures after ${deadlineMs / 1_000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Each stock level's available to promise as inventory sums it from its positions, but not held
 * at zero: nettable on hand (of lots not expired, less its quality hold) less what is allocated,
 * reserved and kept as safety stock. Rows of (sku, location_id, available); a level below zero
 * is oversold.
 */
export const LEVEL_AVAILABLE_SQL = `
  SELECT p.sku, p.location_id,
         coalesce(sum(p.on_hand_wms - p.quality_hold) FILTER (WHERE s.nettable AND (lot.expires_at IS NULL OR lot.expires_at > now())), 0)
           - sum(p.allocated) - sum(p.reserved) - max(l.safety_stock) AS available
    FROM stock_position p
    JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
    JOIN stock_level l ON l.sku = p.sku AND l.location_id = p.location_id
    LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot
   GROUP BY p.sku, p.location_id`;

/** How many stock levels promise more than they hold (see LEVEL_AVAILABLE_SQL): zero after any load, or something was oversold. */
export async function countOversoldLevels(db: Database): Promise<number> {
  const [row] = await db.query<{ oversold: number }>(`SELECT count(*)::int AS oversold FROM (${LEVEL_AVAILABLE_SQL}) AS level WHERE level.available < 0`);
  return row!.oversold;
}

/**
 * POSTs JSON and resolves with the answer's status and text, unparsed. The clients share the
 * machine's two cores with the services they measure: node:http over kept-alive sockets costs
 * them ~0.1 ms of CPU a request, fetch ~0.4-0.6 ms.
 */
export function postText(agent: http.Agent, url: string, body: string, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** POSTs JSON and parses the answer (see postText). */
export async function postJson(agent: http.Agent, url: string, body: string, headers: Readonly<Record<string, string>> = {}): Promise<unknown> {
  return JSON.parse((await postText(agent, url, body, headers)).text);
}
