import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { readGatewayConfig } from '../../gateway/config.ts';
import { openGatewayEdge } from '../../gateway/edge/gatewayEdge.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { composeSubgraphs, type SubgraphSource } from '../../gateway/supergraph/composeSupergraph.ts';
import { routeSubgraphs } from '../../gateway/supergraph/subgraphUrls.ts';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { SUBGRAPH_NAMES } from '../../platform/config/services.ts';
import { identityVerifier } from '../../platform/graphql/callerIdentity.ts';
import { createLogger } from '../../platform/logger.ts';
import { DEMO_SKU } from '../../prisma/seed.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { signedIdentity, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';

// A subgraph that is none of Stockgraph's own: its join graph is PRICE_LIST, so PRICE_LIST_URL moves it.
const PRICE_LIST_SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { "The list price of a SKU, in cents." listPriceCents(sku: ID!): Int }
type Item @key(fields: "sku") { sku: ID! "The list price, in cents." listPriceCents: Int }
`;

const subgraphSources = (urls: Readonly<Record<string, string>>): SubgraphSource[] => [
  ...SUBGRAPH_NAMES.map((name) => ({ name, url: urls[name]!, sdl: readFileSync(new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url), 'utf8') })),
  { name: 'price-list', url: urls['price-list']!, sdl: PRICE_LIST_SDL },
];

/**
 * A third-party subgraph as Stockgraph's gateway expects one: plain @apollo/subgraph over
 * node:http, answering only requests whose x-stockgraph-identity the gateway signed with the
 * shared secret (identityVerifier, or the same HMAC check in any language), and serving /readyz.
 * Every price is `cents`; `fetches` counts the GraphQL requests it answered.
 */
async function startPriceList(cents: number) {
  const verify = identityVerifier(TEST_IDENTITY_SECRET);
  const apollo = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(PRICE_LIST_SDL),
      resolvers: { Query: { listPriceCents: () => cents }, Item: { __resolveReference: ({ sku }: { sku: string }) => ({ sku, listPriceCents: cents }) } },
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const readBody = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
  };
  const counted = { fetches: 0 };
  const server = createServer(async (request, response) => {
    if (request.url === '/readyz') return void response.end('ready');
    response.setHeader('content-type', 'application/json');
    try {
      verify(request);
    } catch {
      response.statusCode = 401;
      return void response.end(JSON.stringify({ errors: [{ message: 'unsigned', extensions: { code: 'UNAUTHENTICATED' } }] }));
    }
    counted.fetches += 1;
    const { query, variables } = await readBody(request);
    const result = await apollo.executeOperation({ query, variables });
    response.end(JSON.stringify(result.body.kind === 'single' ? result.body.singleResult : { errors: [{ message: 'incremental delivery' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    counted,
    stop: async () => (await new Promise((resolve) => server.close(resolve)), await apollo.stop()),
  };
}

describe('subgraph URLs from the supergraph', () => {
  const supergraph = composeSubgraphs(subgraphSources({
    inventory: 'http://inventory.internal/graphql', orders: 'http://orders.internal/graphql', reconciliation: 'https://reconciliation.internal/graphql', 'price-list': 'http://prices.example.com/graphql',
  }));

  it('reaches every subgraph at the URL its @join__graph gives, whatever the subgraph is called', () => {
    const { urls, supergraphSdl } = routeSubgraphs(supergraph, {});
    assert.deepEqual(Object.fromEntries(urls), {
      inventory: 'http://inventory.internal/graphql', orders: 'http://orders.internal/graphql', reconciliation: 'https://reconciliation.internal/graphql', 'price-list': 'http://prices.example.com/graphql',
    });
    assert.equal(supergraphSdl, supergraph, 'nothing to replace');
  });

  it('takes <NAME>_URL, NAME its join graph, in place of the supergraph URL, and writes it into the supergraph served', () => {
    const { urls, supergraphSdl } = routeSubgraphs(supergraph, { PRICE_LIST: 'http://127.0.0.1:9100/graphql', inventory: 'http://10.0.0.5:4001/graphql' });
    assert.equal(urls.get('price-list'), 'http://127.0.0.1:9100/graphql');
    assert.equal(urls.get('inventory'), 'http://10.0.0.5:4001/graphql');
    assert.equal(urls.get('orders'), 'http://orders.internal/graphql');
    assert.match(supergraphSdl, /PRICE_LIST @join__graph\(name: "price-list", url: "http:\/\/127\.0\.0\.1:9100\/graphql"\)/);
    assert.doesNotMatch(supergraphSdl, /prices\.example\.com/);
  });

  it('refuses an override that is no http(s) URL, and a subgraph the supergraph gives no URL, naming the variable', () => {
    assert.throws(
      () => routeSubgraphs(supergraph, { PRICE_LIST: 'ftp://prices/graphql' }),
      (error: unknown) => error instanceof ConfigurationError && error.variable === 'PRICE_LIST_URL' && /must be a URL starting with http:\/\/ or https:\/\/ \(got "ftp:\/\/prices\/graphql"\)/.test(error.message),
    );
    const withoutUrl = supergraph.replace('url: "http://prices.example.com/graphql"', 'url: ""');
    assert.throws(
      () => routeSubgraphs(withoutUrl, {}),
      (error: unknown) => error instanceof ConfigurationError && error.variable === 'PRICE_LIST_URL' && /is required: the supergraph gives the price-list subgraph no http\(s\) URL/.test(error.message),
    );
    assert.equal(routeSubgraphs(withoutUrl, { price_list: 'http://prices/graphql' }).urls.get('price-list'), 'http://prices/graphql');
  });
});

describe('the gateway serving a supergraph with a fourth subgraph', () => {
  let system: TestSystem;
  let folder: string;
  const cleanup = useCleanup();
  const silent = createLogger('silent');

  before(async () => {
    system = await startTestSystem('subgraph-urls', { env: { GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET } });
    folder = mkdtempSync(join(tmpdir(), 'stockgraph-supergraph-'));
  });
  after(async () => {
    await system?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** A gateway over `supergraphSdl`, configured from `env` as it would be started alone. */
  const gatewayOver = async (supergraphSdl: string, env: Record<string, string> = {}, supergraphPath = join(folder, `supergraph-${Math.random().toString(36).slice(2)}.graphql`)) => {
    writeFileSync(supergraphPath, supergraphSdl);
    const config = readGatewayConfig({ ...system.clients.env, ...env }, { allowEmbedded: true });
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      supergraphPath,
      supergraphPollIntervalMs: 50,
      subgraphUrls: config.subgraphUrls,
      bus: system.infrastructure.bus,
      edge: await openGatewayEdge(config.edge, { redis: null, logger: silent }),
      identitySecret: TEST_IDENTITY_SECRET,
      subscriptions: config.subscriptions,
      logger: silent,
    });
    cleanup(() => gateway.stop());
    return gateway;
  };
  const stockgraphUrls = () => Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `${system.system.subgraphs[name].url}/graphql`]));
  const asOperator = () => system.clients.headers(OPERATOR.name);

  it('reaches the fourth subgraph at its supergraph URL, through query plans and the single-fetch fast path, and reports it in /readyz', async () => {
    const prices = await startPriceList(1999);
    cleanup(() => prices.stop());
    const gateway = await gatewayOver(composeSubgraphs(subgraphSources({ ...stockgraphUrls(), 'price-list': prices.url })));

    const planned = await graphql(gateway.url, 'query ($sku: ID!) { item(sku: $sku) { sku listPriceCents } }', { sku: DEMO_SKU }, asOperator());
    const direct = await graphql(gateway.url, 'query ($sku: ID!) { listPriceCents(sku: $sku) }', { sku: DEMO_SKU }, asOperator());

    assert.deepEqual(planned, { data: { item: { sku: DEMO_SKU, listPriceCents: 1999 } } });
    assert.deepEqual(direct, { data: { listPriceCents: 1999 } });
    assert.equal(prices.counted.fetches, 2, 'one entity fetch, one root fetch: each signed, or the subgraph would have refused it');
    const readiness = (await (await fetch(`${gateway.url}/readyz`)).json()) as { checks: Record<string, string> };
    assert.deepEqual(Object.keys(readiness.checks).filter((check) => check.startsWith('subgraph:')).sort(), ['subgraph:inventory', 'subgraph:orders', 'subgraph:price-list', 'subgraph:reconciliation']);
  });

  it('sends the fourth subgraph its fetches at PRICE_LIST_URL when set, never at the supergraph URL', async () => {
    const [listed, moved] = [await startPriceList(1), await startPriceList(2500)];
    cleanup(() => Promise.all([listed.stop(), moved.stop()]));
    const gateway = await gatewayOver(composeSubgraphs(subgraphSources({ ...stockgraphUrls(), 'price-list': listed.url })), { PRICE_LIST_URL: moved.url });

    const answer = await graphql(gateway.url, 'query ($sku: ID!) { item(sku: $sku) { listPriceCents } p: listPriceCents(sku: $sku) }', { sku: DEMO_SKU }, asOperator());

    assert.deepEqual(answer, { data: { item: { listPriceCents: 2500 }, p: 2500 } });
    assert.equal(listed.counted.fetches, 0);
    assert.equal(moved.counted.fetches, 2);
  });

  it('reaches a subgraph that a reloaded supergraph adds, and its override with it', async () => {
    const prices = await startPriceList(700);
    cleanup(() => prices.stop());
    const supergraphPath = join(folder, 'reloaded.graphql');
    const threeSubgraphs = composeSubgraphs(subgraphSources(stockgraphUrls()).filter(({ name }) => name !== 'price-list'));
    const gateway = await gatewayOver(threeSubgraphs, { PRICE_LIST_URL: prices.url }, supergraphPath);
    const price = () => graphql(gateway.url, 'query ($sku: ID!) { item(sku: $sku) { listPriceCents } }', { sku: DEMO_SKU }, asOperator());
    assert.equal((await price()).errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', 'no such field before the reload');

    writeFileSync(supergraphPath, composeSubgraphs(subgraphSources({ ...stockgraphUrls(), 'price-list': 'http://127.0.0.1:9/graphql' })));

    const answer = await eventually(price, (result) => result.data?.item?.listPriceCents !== undefined, { what: 'the reloaded supergraph served' });
    assert.deepEqual(answer, { data: { item: { listPriceCents: 700 } } });
  });

  it('leaves a third-party subgraph to refuse what the gateway did not sign', async () => {
    const prices = await startPriceList(1999);
    cleanup(() => prices.stop());
    const ask = (headers: Record<string, string>) =>
      fetch(prices.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ listPriceCents(sku: "SKU-00001") }' }) });

    assert.equal((await ask({ 'x-stockgraph-identity': 'v1.e30.forged' })).status, 401);
    assert.equal((await ask(signedIdentity())).status, 200);
  });
});
