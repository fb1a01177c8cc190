import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { executionSupergraph } from '../../gateway/supergraph/executionSupergraph.ts';
import { routeSubgraphs } from '../../gateway/supergraph/subgraphUrls.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { seedDemoOrders } from '../../system/demoOrders.ts';
import { seedDemoReconciliation } from '../../system/demoReconciliation.ts';
import {
  carriesErrors, cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, gatewayTarget, graphqlLoad, recordSection, startServices, subgraphTarget,
  type CpuPerUnit, type GraphqlTarget, type LoadResult, type RunningServices,
} from '../harness.ts';
import { AVAILABILITY_QUERY, randomSkus } from './bulkAvailability.ts';
import { FEDERATED_QUERY, STOCK_QUERY } from './federatedQuery.ts';

const SKU_COUNT = 5_000;
const LOCATION_IDS = Array.from({ length: 12 }, (_, i) => `DC-${String(i + 1).padStart(2, '0')}`);
const CART_SKUS = 20;
/** The hot keys: the demo SKU (open orders, a variance) at its location; for a cart, the first CART_SKUS SKUs. */
const HOT_ITEM = { sku: DEMO_SKU, locationId: DEMO_LOCATION_ID };
const HOT_CART = Array.from({ length: CART_SKUS }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
const CONNECTIONS = 16;
const WARM_UP_SECONDS = 3;
/** Answers compared with the subgraphs' own before and after each row's load. */
const CHECKED_ANSWERS = 5;
/** Issue 21, item 2: on each query, random and hot. */
const TARGET = { overPlainApollo: 2, overHiveRust: 1 };
/** The peers' ports, after the run's gateway's (harness, BENCH_PORT_BASE). */
const PEER_PORT_OFFSETS = { apollo: 601, hiveJs: 602, hiveRust: 603 };

const PERSISTED_ID = createHash('sha256').update(AVAILABILITY_QUERY).digest('hex');
const PERSISTED_EXTENSIONS = { persistedQuery: { version: 1, sha256Hash: PERSISTED_ID } };

type Variables = Record<string, unknown>;
type Data = Record<string, unknown>;

interface BenchQuery {
  readonly name: string;
  readonly text: string;
  /** The keys of one request: the hot ones, or drawn at random from the catalogue. */
  variables(hot: boolean): Variables;
  /** A request's body for `variables`. */
  body(variables: Variables): string;
  /** Whether the inventory subgraph alone can answer it. */
  readonly oneSubgraph: boolean;
}

interface Target {
  readonly name: string;
  readonly endpoint: GraphqlTarget;
  readonly pid: number;
  /** The inventory subgraph itself: it has no gateway process of its own. */
  readonly isSubgraph: boolean;
}

interface Row {
  readonly query: string;
  readonly mix: Mix;
  readonly target: string;
  readonly load: LoadResult;
  readonly cpu: CpuPerUnit;
  readonly elapsedMs: number;
  /** Answers compared before and after the load, and how many of them differed from the subgraphs'. */
  readonly checked: number;
  readonly wrong: number;
  /** The share of the machine's CPU that processes outside the benchmark used meanwhile. */
  readonly othersShare: number;
  /** The Stockgraph gateway's: the share of its subgraph queries answered from its entity cache during the load. */
  readonly cacheHitShare: number | null;
}

type Mix = 'random' | 'hot';

const randomSku = () => `SKU-${String(1 + Math.floor(Math.random() * SKU_COUNT)).padStart(5, '0')}`;
const randomLocation = () => LOCATION_IDS[Math.floor(Math.random() * LOCATION_IDS.length)]!;
const itemVariables = (hot: boolean): Variables => (hot ? HOT_ITEM : { sku: randomSku(), locationId: randomLocation() });
const cartVariables = (hot: boolean): Variables => ({ skus: hot ? HOT_CART : randomSkus(CART_SKUS, { catalogueSize: SKU_COUNT }) });
const asText = (query: string) => (variables: Variables) => JSON.stringify({ query, variables });

const QUERIES: readonly BenchQuery[] = [
  { name: '(a) item + one stock level', text: STOCK_QUERY, variables: itemVariables, body: asText(STOCK_QUERY), oneSubgraph: true },
  { name: '(b) item + orders + reconciliation (3 subgraphs)', text: FEDERATED_QUERY, variables: itemVariables, body: asText(FEDERATED_QUERY), oneSubgraph: false },
  { name: `(c) availability, ${CART_SKUS} SKUs x ${LOCATION_IDS.length} locations`, text: AVAILABILITY_QUERY, variables: cartVariables, body: asText(AVAILABILITY_QUERY), oneSubgraph: true },
  {
    name: '(d) (c) as a persisted query, by its SHA-256',
    text: AVAILABILITY_QUERY,
    variables: cartVariables,
    body: (variables) => JSON.stringify({ extensions: PERSISTED_EXTENSIONS, variables }),
    oneSubgraph: true,
  },
];

/**
 * Issue 21's side-by-side table: the Stockgraph gateway, plain @apollo/gateway (Apollo Server 5),
 * Hive Gateway with its JavaScript planner and with the Rust one (--hive-router-runtime), and the
 * inventory subgraph alone, over the same running subgraphs in one run, for the four queries,
 * once with random keys and once with hot ones (BENCH_HOT_SHARE of the requests, 1 by default,
 * ask for the hot keys; the rest random). BENCH_SECONDS (10) per row, BENCH_ROUNDS (2) rounds.
 */
export async function gateways(command: string): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const hotShare = Number(process.env.BENCH_HOT_SHARE ?? 1);
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  const folder = mkdtempSync(join(tmpdir(), 'stockgraph-bench-gateways-'));
  const services = await startServices(url, { RECONCILIATION_INTERVAL_SECONDS: '0' });
  try {
    await seedDemoOrders({ gatewayUrl: services.gatewayUrl, headers: services.clientHeaders, db, logger: { info: () => {} } });
    await seedDemoReconciliation({ gatewayUrl: services.gatewayUrl, headers: services.clientHeaders, logger: { info: () => {} } });
    const targets = await startTargets(services, folder);
    const subgraphs = new SubgraphAnswers(services);
    for (const target of targets) await registerPersistedQuery(target);

    const draw = (query: BenchQuery, mix: Mix) => () => query.variables(mix === 'hot' && Math.random() < hotShare);
    const runnable = (query: BenchQuery) => targets.filter((target) => query.oneSubgraph || !target.isSubgraph);
    for (const query of QUERIES) {
      for (const target of runnable(query)) {
        await graphqlLoad('warm-up', target.endpoint.url, () => query.body(draw(query, 'random')()), { connections: CONNECTIONS, durationSeconds: WARM_UP_SECONDS, headers: target.endpoint.headers });
      }
    }
    const rows: Row[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      for (const query of QUERIES) {
        for (const mix of ['random', 'hot'] as const) {
          for (const target of runnable(query)) {
            const row = await measureRow(services, db, subgraphs, target, query, mix, draw(query, mix), seconds);
            console.log(`round ${round}: ${query.name}, ${mix}, ${target.name}: ${row.load.requestsPerSecond.toFixed(0)} rps, p99 ${row.load.p99Ms} ms, ${row.load.failures} failures, ${row.wrong} wrong answers`);
            rows.push(row);
          }
        }
      }
    }
    const section = report(command, rows, { seconds, rounds, hotShare, targets });
    recordSection('gateways', section);
    console.log(section);
  } finally {
    await services.stop();
    await db.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

const TARGET_NAMES = {
  stockgraph: 'Stockgraph gateway',
  apollo: 'plain @apollo/gateway',
  hiveJs: 'Hive Gateway (JS planner)',
  hiveRust: 'Hive Gateway + Rust planner',
  subgraph: 'inventory subgraph alone',
} as const;

/** The peers, started beside the services on the supergraph the Stockgraph gateway serves. */
async function startTargets(services: RunningServices, folder: string): Promise<Target[]> {
  const supergraphFile = join(folder, 'supergraph.graphql');
  // As the Stockgraph gateway hands it to @apollo/gateway: routed to the run's subgraphs, and
  // without the access directives, which it enforces itself and the peers would not.
  const runSubgraphs = Object.fromEntries(Object.entries(services.subgraphUrls).map(([name, url]) => [name, `${url}/graphql`]));
  writeFileSync(supergraphFile, executionSupergraph(routeSubgraphs(readFileSync(SUPERGRAPH_PATH, 'utf8'), runSubgraphs).supergraphSdl));
  const gatewayPort = Number(new URL(services.gatewayUrl).port);
  const [apolloPort, hiveJsPort, hiveRustPort] = [PEER_PORT_OFFSETS.apollo, PEER_PORT_OFFSETS.hiveJs, PEER_PORT_OFFSETS.hiveRust].map((offset) => gatewayPort + offset) as [number, number, number];
  const hiveBin = join(createRequire(import.meta.url).resolve('@graphql-hive/gateway/package.json'), '..', 'dist', 'bin.js');
  const hiveConfig = new URL('../peers/hiveGateway.config.ts', import.meta.url).pathname;
  const peer = (port: number) => ({ url: `http://127.0.0.1:${port}/graphql`, headers: () => ({}) });
  const hive = (port: number, rust: boolean) =>
    services.startProcess(
      ['--import', 'tsx', hiveBin, 'supergraph', supergraphFile, '--config-path', hiveConfig, '--host', '127.0.0.1', '--port', String(port), ...(rust ? ['--hive-router-runtime'] : [])],
      { PERSISTED_QUERIES: JSON.stringify({ [PERSISTED_ID]: AVAILABILITY_QUERY }) },
    );
  const targets: Target[] = [
    { name: TARGET_NAMES.stockgraph, endpoint: gatewayTarget(services), pid: services.pids.gateway, isSubgraph: false },
    {
      name: TARGET_NAMES.apollo,
      endpoint: peer(apolloPort),
      pid: services.startProcess(['--import', 'tsx', new URL('../peers/apolloGatewayPeer.ts', import.meta.url).pathname], { PEER_PORT: String(apolloPort), SUPERGRAPH_FILE: supergraphFile }),
      isSubgraph: false,
    },
    { name: TARGET_NAMES.hiveJs, endpoint: peer(hiveJsPort), pid: hive(hiveJsPort, false), isSubgraph: false },
    { name: TARGET_NAMES.hiveRust, endpoint: peer(hiveRustPort), pid: hive(hiveRustPort, true), isSubgraph: false },
    { name: TARGET_NAMES.subgraph, endpoint: subgraphTarget(services, 'inventory'), pid: services.pids.inventory, isSubgraph: true },
  ];
  await Promise.all(targets.map((target) => answering(target)));
  return targets;
}

async function post(endpoint: GraphqlTarget, body: string): Promise<{ data?: Data | null; errors?: unknown }> {
  const response = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json', ...endpoint.headers() }, body });
  return (await response.json()) as { data?: Data | null; errors?: unknown };
}

/** Resolves once `target` answers a query. */
async function answering(target: Target, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await post(target.endpoint, JSON.stringify({ query: '{ __typename }' })).catch(() => null);
    if (answer?.data?.__typename === 'Query') return;
    if (Date.now() > deadline) throw new Error(`${target.name} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The automatic persisted query of (d), registered as APQ does: its text sent once with its hash.
 * Hive Gateway finds it in its manifest (PERSISTED_QUERIES) instead.
 */
async function registerPersistedQuery(target: Target): Promise<void> {
  const answer = await post(target.endpoint, JSON.stringify({ query: AVAILABILITY_QUERY, extensions: PERSISTED_EXTENSIONS, variables: cartVariables(true) }));
  if (answer.errors) throw new Error(`${target.name} refused the persisted query: ${JSON.stringify(answer.errors)}`);
}

async function measureRow(
  services: RunningServices,
  db: Parameters<typeof cpuSnapshot>[0],
  subgraphs: SubgraphAnswers,
  target: Target,
  query: BenchQuery,
  mix: Mix,
  draw: () => Variables,
  seconds: number,
): Promise<Row> {
  const pids: Record<string, number> = { inventory: services.pids.inventory, orders: services.pids.orders, reconciliation: services.pids.reconciliation, driver: process.pid };
  if (!target.isSubgraph) pids.gateway = target.pid;
  const checks = async () => {
    let wrong = 0;
    for (let i = 0; i < CHECKED_ANSWERS; i += 1) {
      const variables = i === 0 ? query.variables(mix === 'hot') : draw();
      const [answer, expected] = await Promise.all([post(target.endpoint, query.body(variables)), subgraphs.answer(query, variables)]);
      if (!answer.errors && isDeepStrictEqual(comparable(answer.data), comparable(expected))) continue;
      wrong += 1;
      console.error(`${target.name}, ${query.name}: for ${JSON.stringify(variables)} answered ${JSON.stringify(answer).slice(0, 300)}, the subgraphs ${JSON.stringify(expected).slice(0, 300)}`);
    }
    return wrong;
  };
  const wrongBefore = await checks();
  const isStockgraph = target.name === TARGET_NAMES.stockgraph;
  const lookupsBefore = isStockgraph ? await cacheLookups(services) : null;
  const before = await cpuSnapshot(db, pids);
  const started = performance.now();
  const load = await graphqlLoad(`${query.name}, ${mix}, ${target.name}`, target.endpoint.url, () => query.body(draw()), { connections: CONNECTIONS, durationSeconds: seconds, headers: target.endpoint.headers });
  const elapsedMs = performance.now() - started;
  const cpu = cpuPerUnit(before, await cpuSnapshot(db, pids), load.requests, elapsedMs);
  const lookupsAfter = isStockgraph ? await cacheLookups(services) : null;
  const wrongAfter = await checks();
  const ours = Object.values(cpu.processBusy).reduce((sum, share) => sum + share, 0) + (cpu.postgresUs * load.requests) / 1_000 / elapsedMs;
  return {
    query: query.name, mix, target: target.name, load, cpu, elapsedMs,
    checked: 2 * CHECKED_ANSWERS, wrong: wrongBefore + wrongAfter,
    othersShare: Math.max(0, cpu.machineBusy - ours / cpus().length),
    cacheHitShare: lookupsBefore && lookupsAfter ? (lookupsAfter.hit - lookupsBefore.hit) / Math.max(1, lookupsAfter.all - lookupsBefore.all) : null,
  };
}

/** The Stockgraph gateway's entity cache lookups so far (its /metrics): hits, and all of them. */
async function cacheLookups(services: RunningServices): Promise<{ hit: number; all: number }> {
  const text = await (await fetch(`${services.gatewayUrl}/metrics`)).text();
  const counts = { hit: 0, all: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('stockgraph_entity_cache_lookups_total{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    counts.all += value;
    if (line.includes('outcome="hit"')) counts.hit += value;
  }
  return counts;
}

/**
 * `data` as compared: an availability answer's `asOf` is the instant it was read, different at
 * each call, and so is every `earliestPromiseDate` that is that instant (stock on hand now).
 */
function comparable(data: Data | null | undefined): unknown {
  const readAt = (data?.availability as { asOf?: unknown } | undefined)?.asOf;
  return typeof readAt === 'string' ? JSON.parse(JSON.stringify(data).replaceAll(`"${readAt}"`, '"(asOf)"')) : data;
}

/** What the subgraphs themselves answer for a query: the reference every gateway's answer is compared with. */
class SubgraphAnswers {
  constructor(private readonly services: RunningServices) {}

  async answer(query: BenchQuery, variables: Variables): Promise<Data | null | undefined> {
    return query.oneSubgraph ? this.data('inventory', query.text, variables) : this.federated(variables as { sku: string; locationId: string });
  }

  private async data(name: 'inventory' | 'orders' | 'reconciliation', text: string, variables: Variables): Promise<Data> {
    const answer = await post(subgraphTarget(this.services, name), JSON.stringify({ query: text, variables }));
    if (answer.errors || !answer.data) throw new Error(`the ${name} subgraph failed: ${JSON.stringify(answer.errors)}`);
    return answer.data;
  }

  /** FEDERATED_QUERY's answer put together from each subgraph's part, fetched as the entities they resolve. */
  private async federated({ sku, locationId }: { sku: string; locationId: string }): Promise<Data> {
    const { item } = (await this.data('inventory', `query ($sku: ID!, $locationId: ID!) {
      item(sku: $sku) { sku description stockLevels(locationIds: [$locationId]) { sku locationId onHandWms onHandErp available } }
    }`, { sku, locationId })) as { item: { sku: string; description: string; stockLevels: { sku: string; locationId: string; onHandWms: number; onHandErp: number; available: number }[] } | null };
    if (!item) return { item: null };
    const entities = (name: 'orders' | 'reconciliation', fragment: string, representations: Variables[]) =>
      this.data(name, `query ($representations: [_Any!]!) { _entities(representations: $representations) { ${fragment} } }`, { representations }) as Promise<{ _entities: Data[] }>;
    const [orders, reconciliation] = await Promise.all([
      entities('orders', '... on Item { openOrders { id status } }', [{ __typename: 'Item', sku }]),
      entities('reconciliation', '... on StockLevel { reconciliation { variance tier } }', item.stockLevels.map((level) => ({ __typename: 'StockLevel', sku: level.sku, locationId: level.locationId }))),
    ]);
    return {
      item: {
        sku: item.sku,
        description: item.description,
        openOrders: orders._entities[0]!.openOrders,
        stockLevels: item.stockLevels.map(({ onHandWms, onHandErp, available }, i) => ({ onHandWms, onHandErp, available, reconciliation: reconciliation._entities[i]!.reconciliation })),
      },
    };
  }
}

function report(command: string, rows: readonly Row[], { seconds, rounds, hotShare, targets }: { seconds: number; rounds: number; hotShare: number; targets: readonly Target[] }): string {
  const of = (query: string, mix: Mix, target: string) => rows.filter((row) => row.query === query && row.mix === mix && row.target === target);
  const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const rps = (group: readonly Row[]) => group.map((row) => row.load.requestsPerSecond);
  const range = (group: readonly Row[]) => {
    if (group.length === 0) return '-';
    const values = rps(group);
    const [low, high] = [Math.min(...values), Math.max(...values)].map((value) => Math.round(value).toLocaleString('en-US'));
    return low === high ? low! : `${low}-${high}`;
  };
  const cases = QUERIES.flatMap((query) => (['random', 'hot'] as const).map((mix) => ({ query: query.name, mix })));
  const verdicts = cases.map(({ query, mix }) => {
    const ours = mean(rps(of(query, mix, TARGET_NAMES.stockgraph)));
    const overApollo = ours / mean(rps(of(query, mix, TARGET_NAMES.apollo)));
    const overRust = ours / mean(rps(of(query, mix, TARGET_NAMES.hiveRust)));
    return { query, mix, overApollo, overRust, met: overApollo >= TARGET.overPlainApollo && overRust >= TARGET.overHiveRust };
  });
  const summary = [
    `| query | keys | ${targets.map((target) => target.name).join(' | ')} | Stockgraph vs plain @apollo/gateway | Stockgraph vs Hive + Rust | target |`,
    `|---|---|${targets.map(() => '---:').join('|')}|---:|---:|---|`,
    ...verdicts.map(({ query, mix, overApollo, overRust, met }) =>
      `| ${query} | ${mix} | ${targets.map((target) => range(of(query, mix, target.name))).join(' | ')} | ${overApollo.toFixed(2)}x | ${overRust.toFixed(2)}x | ${met ? 'met' : '**missed**'} |`),
  ].join('\n');
  const detail = [
    '| query | keys | target | requests/s | p50 ms | p99 ms | failures | wrong answers / checked | entity cache hits | gateway CPU µs/request | gateway busy (one core) | inventory µs/request | orders µs/request | reconciliation µs/request | PostgreSQL µs/request | driver busy | others on the machine |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...cases.flatMap(({ query, mix }) => targets.map((target) => of(query, mix, target.name)).filter((group) => group.length > 0).map((group) => {
      const average = (pick: (row: Row) => number) => mean(group.map(pick));
      const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
      const noGateway = group[0]!.cpu.processUs.gateway === undefined;
      return `| ${query} | ${group[0]!.mix} | ${group[0]!.target} | ${average((row) => row.load.requestsPerSecond).toFixed(0)} | ${average((row) => row.load.p50Ms).toFixed(1)} | ${average((row) => row.load.p99Ms).toFixed(1)} | ` +
        `${group.reduce((sum, row) => sum + row.load.failures, 0)} | ${group.reduce((sum, row) => sum + row.wrong, 0)} / ${group.reduce((sum, row) => sum + row.checked, 0)} | ` +
        `${group[0]!.cacheHitShare === null ? '-' : percent(average((row) => row.cacheHitShare!))} | ` +
        `${noGateway ? '-' : average((row) => row.cpu.processUs.gateway!).toFixed(0)} | ${noGateway ? '-' : percent(average((row) => row.cpu.processBusy.gateway!))} | ` +
        `${average((row) => row.cpu.processUs.inventory!).toFixed(0)} | ${average((row) => row.cpu.processUs.orders!).toFixed(0)} | ${average((row) => row.cpu.processUs.reconciliation!).toFixed(0)} | ` +
        `${average((row) => row.cpu.postgresUs).toFixed(0)} | ${percent(average((row) => row.cpu.processBusy.driver!))} | ${percent(average((row) => row.othersShare))} |`;
    })),
  ].join('\n');
  const failures = rows.reduce((sum, row) => sum + row.load.failures + row.wrong, 0);
  const met = verdicts.every((verdict) => verdict.met);
  // Rows where the target asks more than the inventory subgraph alone served: no gateway in front of it can get there by forwarding.
  const beyondSubgraph = cases.filter(({ query, mix }) => {
    const alone = of(query, mix, TARGET_NAMES.subgraph);
    return alone.length > 0 && TARGET.overPlainApollo * mean(rps(of(query, mix, TARGET_NAMES.apollo))) > mean(rps(alone));
  });
  return `
## Gateways side by side (issue 21)

\`${command}\` on ${describeMachine()}. The three subgraphs run as separate processes on PostgreSQL 15
and Redis 7 (loopback) with the demo data (${SKU_COUNT.toLocaleString('en-US')} SKUs x ${LOCATION_IDS.length} DCs, the demo orders, one reconciliation
run); every gateway below serves the same supergraph over those same running subgraphs, in one run, each in one
Node process: the Stockgraph gateway (edge checks included: API key, rate limit in Redis, scopes and cost); plain
@apollo/gateway 2.14.4 under @apollo/server 5 (bench/peers/apolloGatewayPeer.ts); Hive Gateway 2.15.1 with its
JavaScript planner and with @graphql-hive/router-runtime 1.4.23 (\`--hive-router-runtime\`,
bench/peers/hiveGateway.config.ts); and the inventory subgraph called straight. The peers check no credentials
and present the subgraphs the identity the Stockgraph gateway signs for the benchmark's client (every scope,
every location), one signature reused for 20 s (bench/benchIdentity.ts: signed per fetch, its correlation id
would keep Hive Gateway from sharing in-flight fetches, which it does only between requests with the same headers).

autocannon, ${CONNECTIONS} connections, in the benchmark's process; ${seconds} s per row after a ${WARM_UP_SECONDS} s warm-up per query and target;
${rounds} rounds, the targets of a row measured one after another. Keys: **random**, every request a SKU drawn from the
${SKU_COUNT.toLocaleString('en-US')} and a location from the ${LOCATION_IDS.length} (a cart: ${CART_SKUS} distinct random SKUs); **hot**, ${(hotShare * 100).toFixed(0)}% of the requests
(BENCH_HOT_SHARE) for ${DEMO_SKU} at ${DEMO_LOCATION_ID} (a cart: ${HOT_CART[0]}..${HOT_CART.at(-1)}), the rest random. An answer carrying
\`errors\`, like a non-2xx one, is a failure, not a request served; before and after each row's load ${CHECKED_ANSWERS} answers
(the hot keys and draws of the row's keys) are compared with the subgraphs' own (the inventory subgraph's answer to
the same query; for (b), inventory's item and stock level with the orders and reconciliation entities fetched
from those subgraphs), \`availability.asOf\` (the instant of reading, and any \`earliestPromiseDate\` that is it) aside. (d) sends only the query's
SHA-256 in \`extensions.persistedQuery\`: registered once beforehand as an automatic persisted query with the
Stockgraph gateway (kept in Redis), plain Apollo Server and the subgraph (in memory); Hive Gateway has no APQ and
finds it in a manifest of persisted documents given in its configuration.

Requests/s served, the range over the rounds:

${summary}

Target (issue 21, item 2): at least ${TARGET.overPlainApollo}x plain @apollo/gateway and at least ${TARGET.overHiveRust}x Hive with its Rust planner on each
query, random and hot, ratios of the rounds' means: **${met ? 'met' : 'missed'}** (${verdicts.filter((verdict) => verdict.met).length} of ${verdicts.length}).
${failures === 0 ? 'No failures and no wrong answers.' : `**${failures} failures or wrong answers** (see the table below).`}
${beyondSubgraph.length === 0 ? '' : `In ${beyondSubgraph.map(({ query, mix }) => `${query.slice(0, 3)} ${mix}`).join(', ')}, ${TARGET.overPlainApollo}x plain @apollo/gateway is more than the inventory subgraph
alone served: every gateway there forwards each request to subgraphs that share the machine's ${cpus().length} cores with it, and
only answering without them could reach it.`}
The Stockgraph gateway answers queries asked again from its entity cache (issue 21, item 2: README, Entity cache), until
a stock change of what they read; *entity cache hits* below is the share of its subgraph queries it answered so. Random
keys rarely repeat within a row (${(SKU_COUNT * LOCATION_IDS.length).toLocaleString('en-US')} stock levels; a cart is ${CART_SKUS} of ${SKU_COUNT.toLocaleString('en-US')} SKUs, never the same twice), so
there it answers few, and (b) still sends its orders and reconciliation fetches, which no subgraph marks cacheable.

Why (b), across three subgraphs, cost the Stockgraph gateway more than plain @apollo/gateway (issue 21 asked
this first): profiled with \`node --cpu-prof\` under (b) with random keys at 916c9a1, a quarter of the gateway's
busy time went to sending its three fetches per request. @apollo/gateway's RemoteGraphQLDataSource built a
node-fetch Request and Headers for each, and the gateway then sent it through Node's WHATWG fetch, which turns
the body into a ReadableStream, tees it to clone the request, makes abort signals and reads the answer through
web streams; and it signed the caller's identity (an HMAC) once per fetch. The gateway now sends its fetches
through a GraphQLDataSource of its own on an undici pool (platform/graphql/subgraphDataSource.ts), signs once per
request, and shares identical queries in flight for callers who see the same (which Hive Gateway does too);
compare *gateway CPU µs/request* below. What it does per request beyond plain @apollo/gateway is its edge (the API
key, the rate limit's round trip to Redis, scopes and cost), metrics and spans. Since then it spends less CPU per (b)
request than plain @apollo/gateway (the table below), and (b) with random keys is bound by what the three subgraphs and
PostgreSQL spend per request on the same ${cpus().length} cores (their columns), not by the gateway.

Means over the rounds; CPU is user + system time (from /proc/<pid>/stat) per request answered; *busy* is the
share of one core; *others on the machine* is the share of all ${cpus().length} cores used meanwhile by processes outside
this benchmark (other work on a shared machine), which makes a row slower:

${detail}
`;
}
