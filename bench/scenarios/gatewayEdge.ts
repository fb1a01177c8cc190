import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { getOperationAST, parse } from 'graphql';
import { ClientRegistry } from '../../gateway/clients/clientRegistry.ts';
import { newApiKey, writeClientsFile } from '../../gateway/clients/clientsFile.ts';
import { readGatewayConfig } from '../../gateway/config.ts';
import { authenticator } from '../../gateway/edge/authentication.ts';
import { OperationPolicy } from '../../gateway/edge/operationPolicy.ts';
import { redisRateLimiter } from '../../gateway/edge/rateLimiter.ts';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { executionSupergraph } from '../../gateway/supergraph/executionSupergraph.ts';
import { identitySigner, newCorrelationId } from '../../platform/graphql/callerIdentity.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectRedis, deleteKeysUnder } from '../../platform/redis.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import {
  cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, gatewayTarget, LIMITS_NEVER_REACHED, measureLatencies, postText, recordSection, REDIS_URL, startServices,
  subgraphTarget, type GraphqlTarget, type LatencyResult,
} from '../harness.ts';
import { AVAILABILITY_QUERY, availabilityAsText, checkCompleteAnswer, randomSkus } from './bulkAvailability.ts';

const SKU_COUNT = 5_000;
/** Few enough SKUs that the edge's fixed cost per request is not lost in the answer's size. */
const SKUS_PER_REQUEST = 100;
const HOT = { skus: 20, share: 0.2 };
const CONCURRENCY = 4;
const SECONDS = 15;
const WARM_UP_SECONDS = 3;
/** Issue 17: the checks cost under 5% per request. */
const TARGET_EXTRA_COST = 0.05;
/** Requests the edge's checks are timed over, in this process. */
const CHECKED_REQUESTS = 5_000;

// Apollo's tooling names a safelisted operation by the SHA-256 of its text, as APQ does: one id serves both.
const QUERY_ID = createHash('sha256').update(AVAILABILITY_QUERY).digest('hex');
const PERSISTED_QUERY = { persistedQuery: { version: 1, sha256Hash: QUERY_ID } };
const byId = (skus: readonly string[]) => JSON.stringify({ extensions: PERSISTED_QUERY, variables: { skus } });
/** How APQ registers a query: its text sent once with its hash; from then on the hash alone names it. */
const registeringById = (skus: readonly string[]) => JSON.stringify({ query: AVAILABILITY_QUERY, extensions: PERSISTED_QUERY, variables: { skus } });

interface Variant {
  readonly label: string;
  readonly target: GraphqlTarget;
  readonly body: (skus: readonly string[]) => string;
}

interface VariantResult {
  readonly load: LatencyResult;
  readonly gatewayUs: number;
  readonly inventoryUs: number;
}

/**
 * What the gateway's edge checks cost per request (issue 17): the availability query for 100
 * SKUs through the gateway sent as text, as an automatic persisted query by hash, and by a
 * client bound to a safelist by its manifest id; straight to the inventory subgraph for
 * reference. Gateway CPU per request, compared with the query as text, is the cost.
 */
export async function gatewayEdge(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  const safelisted = newApiKey();
  const services = await startServices(url, {}, {
    extraClients: [{
      entry: { name: 'bench-safelisted', scopes: ['inventory:read'], limits: LIMITS_NEVER_REACHED, keys: [safelisted.record] },
      safelist: [{ id: QUERY_ID, name: 'Availability', type: 'query', body: AVAILABILITY_QUERY }],
    }],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const drawSkus = () => randomSkus(SKUS_PER_REQUEST, { catalogueSize: SKU_COUNT, hot: HOT });
  try {
    const gateway = gatewayTarget(services);
    const variants: readonly Variant[] = [
      { label: '(a) gateway, query as text', target: gateway, body: availabilityAsText },
      { label: '(b) gateway, persisted query by hash (APQ)', target: gateway, body: byId },
      { label: '(c) gateway, safelisted client, operation by manifest id', target: gatewayTarget(services, { authorization: `Bearer ${safelisted.key}` }), body: byId },
      { label: '(d) inventory subgraph directly, query as text (reference)', target: subgraphTarget(services, 'inventory'), body: availabilityAsText },
    ];
    await checkCompleteAnswer(gateway, drawSkus(), registeringById);
    for (const variant of variants) await checkCompleteAnswer(variant.target, drawSkus(), variant.body);

    const request = ({ target, body }: Variant) => async () => {
      const { status, text } = await postText(agent, target.url, body(drawSkus()), target.headers());
      if (status !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${status}: ${text.slice(0, 200)}`);
    };
    for (const variant of variants) await measureLatencies('warm-up', CONCURRENCY, WARM_UP_SECONDS, request(variant));
    const results: VariantResult[] = [];
    for (const variant of variants) {
      const before = await cpuSnapshot(db, services.pids);
      const load = await measureLatencies(variant.label, CONCURRENCY, SECONDS, request(variant));
      const cpu = cpuPerUnit(before, await cpuSnapshot(db, services.pids), load.requests, (load.requests / load.requestsPerSecond) * 1_000);
      results.push({ load, gatewayUs: cpu.processUs.gateway!, inventoryUs: cpu.processUs.inventory! });
      console.log(edgeTable(results.slice(-1), results[0]!));
    }

    const [asText, persisted, safelist] = results as [VariantResult, VariantResult, VariantResult, VariantResult];
    const extraCost = (row: VariantResult) => row.gatewayUs / asText.gatewayUs - 1;
    const checks = await edgeChecksCpuUs(drawSkus);
    const checksShare = checks.total / asText.gatewayUs;
    const met = [persisted, safelist].every((row) => extraCost(row) < TARGET_EXTRA_COST) && checksShare < TARGET_EXTRA_COST;
    const percent = (share: number) => `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)}%`;
    recordSection('gateway-edge', `
## The gateway's edge checks, per request

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs. Each request asks \`availability\` for
${SKUS_PER_REQUEST} distinct SKUs at all 12 locations, drawn at random (${HOT.share * 100}% of draws from ${HOT.skus} hot SKUs): (a) the query as text,
by the benchmark's client (every scope); (b) the same client sending only the query's SHA-256 as an automatic
persisted query, registered once before; (c) a client bound to a safelist manifest holding this one
operation (scope \`inventory:read\`), sending only its id; (d) the query as text straight to the inventory subgraph,
with a signed identity, for reference. Every variant authenticates an API key, takes from a rate-limit bucket in
Redis and checks scopes and cost; (b) adds the persisted-query lookup in Redis, (c) the safelist lookup. ${CONCURRENCY} closed-loop
callers in the benchmark process (node:http, kept-alive), ${SECONDS} s per row after ${WARM_UP_SECONDS} s of warm-up per variant; one answer
of each variant was checked complete first. CPU is user + system time per request answered.

${edgeTable(results, asText)}

The checks themselves, timed in the benchmark process over ${CHECKED_REQUESTS.toLocaleString('en')} requests of the same shape, ${CONCURRENCY} in flight (CPU µs per request):
authenticating the API key ${checks.authenticate.toFixed(1)}, the rate-limit bucket in Redis (client side) ${checks.rateLimit.toFixed(1)},
scopes, depth, aliases and cost of the parsed operation ${checks.policy.toFixed(1)}, signing the identity for the subgraph ${checks.sign.toFixed(1)}:
**${checks.total.toFixed(1)} µs, ${(checksShare * 100).toFixed(1)}% of the gateway's CPU per request in (a)**.

Target (issue 17): the checks cost under ${TARGET_EXTRA_COST * 100}% per request, and persisted queries and safelists under ${TARGET_EXTRA_COST * 100}% more gateway CPU
than the query as text: **${met ? 'met' : 'missed'}** (checks ${(checksShare * 100).toFixed(1)}%; ${percent(extraCost(persisted))} by hash, ${percent(extraCost(safelist))} safelisted).
On a shared 2-core host a row's figures move by a few percent from run to run: compare within one run.
`);
    if (results.some(({ load }) => load.failures > 0)) throw new Error('gateway edge: requests failed (see BENCHMARKS.md)');
  } finally {
    agent.destroy();
    await services.stop();
    await db.close();
  }
}

/**
 * The edge's work for one request (the code the gateway runs, not a copy), timed with
 * process.cpuUsage over CHECKED_REQUESTS requests: the checks (a)'s gateway CPU includes.
 */
async function edgeChecksCpuUs(drawSkus: () => string[]): Promise<{ authenticate: number; rateLimit: number; policy: number; sign: number; total: number }> {
  const folder = mkdtempSync(join(tmpdir(), 'stockgraph-bench-edge-'));
  const keyPrefix = `stockgraph-bench-edge:${randomBytes(6).toString('hex')}:`;
  const redis = connectRedis(REDIS_URL, keyPrefix);
  const { key, record } = newApiKey();
  writeClientsFile(join(folder, 'clients.json'), { version: 1, clients: [{ name: 'bench', scopes: ['inventory:read'], limits: LIMITS_NEVER_REACHED, keys: [record] }] });
  const { defaults } = readGatewayConfig({ CLIENTS_FILE: join(folder, 'clients.json') }, { allowEmbedded: true }).edge;
  const clients = new ClientRegistry(join(folder, 'clients.json'), defaults, createLogger('silent'));
  try {
    const authenticate = authenticator({ clients, verifyJwt: null, anonymousScopes: [], defaults });
    const rateLimiter = redisRateLimiter(redis);
    const supergraph = readFileSync(SUPERGRAPH_PATH, 'utf8');
    const policy = new OperationPolicy();
    policy.useSupergraph(supergraph);
    const schema = Supergraph.build(executionSupergraph(supergraph)).apiSchema().toGraphQLJSSchema();
    const document = parse(AVAILABILITY_QUERY);
    const operation = getOperationAST(document)!;
    const sign = identitySigner(randomBytes(32).toString('hex'));
    const variables = Array.from({ length: CHECKED_REQUESTS }, () => ({ skus: drawSkus() }));
    const principal = await authenticate({ authorization: `Bearer ${key}` });
    // CONCURRENCY requests in flight at once, as in the load: a Redis round trip costs its
    // caller far less CPU when others are under way (about 25 µs instead of 80 here).
    const cpuUs = async (step: (i: number) => unknown) => {
      let next = 0;
      const started = process.cpuUsage();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < CHECKED_REQUESTS) await step(next++);
      }));
      const { user, system } = process.cpuUsage(started);
      return (user + system) / CHECKED_REQUESTS;
    };
    const figures = {
      authenticate: await cpuUs(() => authenticate({ authorization: `Bearer ${key}` })),
      rateLimit: await cpuUs(() => rateLimiter.take(principal.rateLimitKey, principal.rateLimit!)),
      policy: await cpuUs((i) => policy.check(schema, document, operation, variables[i]!, principal)),
      sign: await cpuUs(() => sign({ caller: principal.name, scopes: [...principal.scopes], locations: principal.locations, correlationId: newCorrelationId() })),
    };
    return { ...figures, total: figures.authenticate + figures.rateLimit + figures.policy + figures.sign };
  } finally {
    clients.close();
    redis.disconnect();
    await deleteKeysUnder(REDIS_URL, keyPrefix);
    rmSync(folder, { recursive: true, force: true });
  }
}

function edgeTable(rows: readonly VariantResult[], baseline: VariantResult): string {
  const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
  return [
    '| variant | requests/s | p50 ms | p99 ms | failures | gateway CPU µs/request | inventory CPU µs/request | requests/s vs (a) | p50 vs (a) | p99 vs (a) | gateway CPU vs (a) | CPU stolen % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ load, gatewayUs, inventoryUs }) =>
      `| ${load.label} | ${load.requestsPerSecond.toFixed(0)} | ${load.p50Ms.toFixed(1)} | ${load.p99Ms.toFixed(1)} | ${load.failures} | ${gatewayUs.toFixed(0)} | ${inventoryUs.toFixed(0)} | ` +
      `${ratio(load.requestsPerSecond, baseline.load.requestsPerSecond)} | ${ratio(load.p50Ms, baseline.load.p50Ms)} | ${ratio(load.p99Ms, baseline.load.p99Ms)} | ${ratio(gatewayUs, baseline.gatewayUs)} | ${load.stolenPercent?.toFixed(1) ?? 'n/a'} |`),
  ].join('\n');
}
