import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PORTS } from '../../platform/config/services.ts';
import { describeMachine, recordSection } from '../harness.ts';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
/** How long the RSS is still sampled after the banner: the first seconds of the running demo (its relays, its ERP pull) count too. */
const SETTLE_MS = Number(process.env.BENCH_STARTUP_SETTLE_MS ?? 3_000);
const SAMPLE_EVERY_MS = 25;
const TARGET_SECONDS = 10;
const TARGET_MB = 400;
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? DEFAULT_PORTS.gateway);
const THIS_CHECKOUT = new URL('../..', import.meta.url).pathname;
/** Another checkout (with its node_modules) whose `npm start` is timed in turn with this one's, start for start: a before/after in one run. */
const BASELINE_CHECKOUT = process.env.BENCH_STARTUP_BASELINE;
const QUERY = '{ item(sku: "SKU-00001") { sku stockLevels(locationIds: ["DC-01"]) { onHandWms available } } }';
/** The log lines that mark a first start's phases, and the banner. */
const MARKERS = {
  migrated: /database migrated/,
  seeded: /demo data seeded/,
  ordersPlaced: /demo orders placed/,
  reconciled: /demo reconciliation run completed/,
  banner: /Stockgraph is running/,
} as const;
type Marker = keyof typeof MARKERS;

interface Start {
  /** From spawning `npm start` to the first answer with stock for the demo SKU through the gateway. */
  readonly firstAnswerMs: number;
  readonly bannerMs: number;
  /** Peak, over the start and SETTLE_MS after the banner, of the summed RSS of npm and every process under it. */
  readonly peakRssMb: number;
  /** How many processes the tree held at most. */
  readonly processes: number;
  readonly markersMs: Readonly<Partial<Record<Marker, number>>>;
  readonly exitCode: number | null;
}

/** Every process at or below `root`, by walking /proc's parent links. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const tree: number[] = [];
  for (const queue = [root]; queue.length; ) {
    const pid = queue.pop()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The innermost process under `root` that runs scripts/start.ts (with tsx's command-line runner, the runner's child). */
function startScriptPid(root: number): number {
  const running = processTree(root).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/start.ts');
    } catch {
      return false;
    }
  });
  return running.at(-1) ?? root;
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function answersWithStock(gatewayUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) });
    const body = (await response.json()) as { data?: { item?: { stockLevels?: { onHandWms: number }[] } } };
    return (body.data?.item?.stockLevels?.[0]?.onHandWms ?? 0) > 0;
  } catch {
    return false;
  }
}

/** One `npm start` on `dataDir`, in a process group of its own: timed to its first answer and its banner, sampled for RSS, then stopped with SIGTERM. */
async function timeStart(checkout: string, dataDir: string): Promise<Start> {
  const ports = { gateway: PORT_BASE, inventory: PORT_BASE + 1, orders: PORT_BASE + 2, reconciliation: PORT_BASE + 3, erp: PORT_BASE + 10 };
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const started = performance.now();
  const child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info',
      STOCKGRAPH_DATA_DIR: dataDir, CLIENTS_FILE: join(dataDir, 'clients.json'),
      GATEWAY_PORT: String(ports.gateway), INVENTORY_PORT: String(ports.inventory), ORDERS_PORT: String(ports.orders),
      RECONCILIATION_PORT: String(ports.reconciliation), ERP_SIMULATOR_PORT: String(ports.erp),
    },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const markersMs: Partial<Record<Marker, number>> = {};
  let bannerSeen: () => void;
  const banner = new Promise<void>((resolve) => (bannerSeen = resolve));
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const [marker, pattern] of Object.entries(MARKERS) as [Marker, RegExp][]) {
      if (markersMs[marker] === undefined && pattern.test(output)) markersMs[marker] = performance.now() - started;
    }
    if (markersMs.banner !== undefined) bannerSeen();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  let peakKb = 0;
  let processes = 0;
  const sampler = setInterval(() => {
    const tree = processTree(child.pid!);
    processes = Math.max(processes, tree.length);
    peakKb = Math.max(peakKb, tree.reduce((sum, pid) => sum + rssKb(pid), 0));
  }, SAMPLE_EVERY_MS);
  try {
    let firstAnswerMs: number | undefined;
    const failed = exited.then((code) => {
      throw new Error(`npm start exited with ${code} before it was ready:\n${output}`);
    });
    while (firstAnswerMs === undefined) {
      if (await Promise.race([answersWithStock(gatewayUrl), failed])) firstAnswerMs = performance.now() - started;
      else await Promise.race([new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS)), failed]);
    }
    await Promise.race([banner, failed]);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    failed.catch(() => {});
    // SIGTERM to the Stockgraph process itself, as a process manager sends it: npm then exits with its exit code.
    process.kill(startScriptPid(child.pid!), 'SIGTERM');
    const exitCode = await exited;
    return { firstAnswerMs, bannerMs: markersMs.banner!, peakRssMb: peakKb / 1024, processes, markersMs, exitCode };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: readonly number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)} / ${median(values).toFixed(digits)} / ${Math.max(...values).toFixed(digits)}`;

interface Series {
  readonly label: string;
  readonly checkout: string;
  readonly first: Start[];
  readonly second: Start[];
}

/**
 * `npm start` embedded (no DATABASE_URL / REDIS_URL), as a user runs it: a first start on a fresh
 * data folder (migrations, demo data, demo orders and the first reconciliation run), then a
 * second start on the data it left. Each timed to the first answer with stock through the
 * gateway and to its banner, its peak RSS summed over npm and every process under it. With
 * BENCH_STARTUP_BASELINE, that checkout's starts take turns with this one's.
 */
export async function startup(command: string): Promise<void> {
  const series: Series[] = [
    ...(BASELINE_CHECKOUT ? [{ label: `baseline (${checkoutCommit(BASELINE_CHECKOUT)})`, checkout: BASELINE_CHECKOUT, first: [], second: [] }] : []),
    { label: 'this checkout', checkout: THIS_CHECKOUT, first: [], second: [] },
  ];
  for (let run = 0; run < RUNS; run += 1) {
    for (const { label, checkout, first, second } of series) {
      const dataDir = mkdtempSync(join(tmpdir(), 'stockgraph-bench-start-'));
      try {
        first.push(await timeStart(checkout, dataDir));
        second.push(await timeStart(checkout, dataDir));
        console.log(`${label}, run ${run + 1}: first ${JSON.stringify(first.at(-1))}\n  second ${JSON.stringify(second.at(-1))}`);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  const row = (label: string, starts: readonly Start[]) =>
    `| ${label} | ${spread(starts.map((s) => s.firstAnswerMs / 1_000), 2)} | ${spread(starts.map((s) => s.bannerMs / 1_000), 2)} | ${spread(starts.map((s) => s.peakRssMb), 0)} | ${Math.max(...starts.map((s) => s.processes))} | ${starts.map((s) => s.exitCode).join(', ')} |`;
  const phases = (first: readonly Start[]) => (Object.keys(MARKERS) as Marker[]).map((marker) => {
    const times = first.map((s) => s.markersMs[marker]).filter((ms) => ms !== undefined);
    return `${marker} ${times.length ? `${(median(times) / 1_000).toFixed(2)} s` : 'n/a'}`;
  }).join(', ');
  const table = `| checkout, start | first answer s (min / median / max) | banner s (min / median / max) | peak RSS MB (min / median / max) | processes | exit codes (SIGTERM) |
|---|---:|---:|---:|---:|---|
${series.flatMap(({ label, first, second }) => [row(`${label}, first (fresh data folder)`, first), row(`${label}, second (data present)`, second)]).join('\n')}`;
  console.log(table);
  const measured = series.at(-1)!;
  const starts = [...measured.first, ...measured.second];
  const worstSeconds = Math.max(...starts.map((s) => s.firstAnswerMs)) / 1_000;
  const worstBannerSeconds = Math.max(...measured.first.map((s) => s.bannerMs)) / 1_000;
  const worstMb = Math.max(...starts.map((s) => s.peakRssMb));
  const verdict = (met: boolean) => (met ? 'met' : 'missed');
  const ratios = series.length === 2
    ? `\nThis checkout against the baseline, medians: first start's first answer ${ratio(series, (s) => s.first, (s) => s.firstAnswerMs)}, banner ${ratio(series, (s) => s.first, (s) => s.bannerMs)}, peak RSS ${ratio(series, (s) => s.first, (s) => s.peakRssMb)}; second start's first answer ${ratio(series, (s) => s.second, (s) => s.firstAnswerMs)}, peak RSS ${ratio(series, (s) => s.second, (s) => s.peakRssMb)}.\n`
    : '';
  recordSection('startup', `
## Embedded start: \`npm start\` with no DATABASE_URL / REDIS_URL (issue 21)

\`${command}\`${BASELINE_CHECKOUT ? ' with BENCH_STARTUP_BASELINE set' : ''} on ${describeMachine()}. ${RUNS} runs of each checkout in turn, each a first start on a
fresh temporary data folder, then a second start on the data it left. Timed from spawning \`npm start\` to the first
answer with stock for the demo SKU through the gateway (\`${QUERY}\`, polled every ${SAMPLE_EVERY_MS} ms), and to the
banner (demo orders placed and the first reconciliation run finished). Peak RSS is the sum over npm
and every process under it, sampled from /proc every ${SAMPLE_EVERY_MS} ms until ${SETTLE_MS / 1_000} s after the banner.

${table}
${ratios}
First start, median time to each phase's log line: ${series.map(({ label, first }) => `${label}: ${phases(first)}`).join('; ')}.

Targets, for this checkout: first answer under ${TARGET_SECONDS} s: **${verdict(worstSeconds < TARGET_SECONDS)}** (slowest of its starts
${worstSeconds.toFixed(2)} s; slowest first-start banner ${worstBannerSeconds.toFixed(2)} s). Peak RSS under ${TARGET_MB} MB:
**${verdict(worstMb < TARGET_MB)}** (largest ${worstMb.toFixed(0)} MB).
`);
}

/** This checkout's median over the baseline's, of `figure` over the starts `pick` chooses. */
function ratio(series: readonly Series[], pick: (s: Series) => readonly Start[], figure: (start: Start) => number): string {
  const [baseline, measured] = series.map((s) => median(pick(s).map(figure)));
  return `${(measured! / baseline!).toFixed(2)}x`;
}

function checkoutCommit(checkout: string): string {
  return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: checkout, encoding: 'utf8' }).trim();
}
