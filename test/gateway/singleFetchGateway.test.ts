import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ApolloServer } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { composeSubgraphs, SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { apolloServerDefaults } from '../../platform/graphql/apolloService.ts';
import { DirectFetchPlanner } from '../../platform/graphql/singleFetchGateway.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../support/services.ts';

const supergraphSdl = readFileSync(SUPERGRAPH_PATH, 'utf8');

/** Queries a subgraph can answer word for word: aliases, fragments on the same type, __typename, directives. */
const DIRECT_QUERIES = {
  availability: `query ($skus: [ID!]!) { availability(skus: $skus) { asOf items { sku available locations { locationId available stale } } } }`,
  aliasesAndFragments: `
    query Cart($skus: [ID!]!, $withStale: Boolean!) {
      cart: availability(skus: $skus, quantity: 5) {
        __typename
        when: asOf
        items { ...Line code: sku promise: earliestPromiseDate locations { ... on LocationAvailability { id: locationId stale @include(if: $withStale) } } }
      }
    }
    fragment Line on ItemAvailability { __typename available inboundInTransit }`,
  stockLevel: `{ stockLevel(sku: "SKU-00003", locationId: "DC-02") { onHandWms available lots { lot onHand } bucketChanges { bucket source } } }`,
};

/** Queries the gateway must shape itself: several subgraphs, root __typename, introspection. */
const GATEWAY_QUERIES = {
  federated: `{ item(sku: "SKU-00001") { sku openOrders { id } stockLevels { available reconciliation { variance } } } }`,
  rootTypename: `query ($skus: [ID!]!) { __typename availability(skus: $skus) { asOf } }`,
  introspection: `{ __schema { queryType { name } } availability(skus: ["SKU-00001"]) { asOf } }`,
};

describe('DirectFetchPlanner', () => {
  const planner = new DirectFetchPlanner(supergraphSdl);

  it('sends a query that one subgraph answers as asked straight to that subgraph, aliases and fragments included', () => {
    for (const [name, query] of Object.entries(DIRECT_QUERIES)) {
      assert.equal(planner.directFetch(parse(query))?.fetch.serviceName, 'inventory', name);
    }
  });

  it('leaves to the gateway what spans subgraphs, what the gateway adds itself, and mutations', () => {
    for (const [name, query] of Object.entries(GATEWAY_QUERIES)) assert.equal(planner.directFetch(parse(query)), null, name);
    assert.equal(planner.directFetch(parse('mutation { releaseReservation(id: "r-1") { id } }')), null);
  });

  it('leaves to the gateway abstract types and enums with @inaccessible values, whose answers the gateway filters', () => {
    const header = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])';
    const toy = new DirectFetchPlanner(composeSubgraphs([{
      name: 'toy',
      url: 'http://toy/graphql',
      sdl: `${header}
        enum Grade { A B SECRET @inaccessible }
        enum Colour { RED GREEN }
        interface Named { name: String! }
        type Widget implements Named { name: String! grade: Grade! colour: Colour! }
        type Query { widget: Widget! named: [Named!]! }`,
    }]));

    assert.notEqual(toy.directFetch(parse('{ widget { name colour } }')), null);
    assert.equal(toy.directFetch(parse('{ widget { name grade } }')), null);
    assert.equal(toy.directFetch(parse('{ named { name } }')), null);
    assert.equal(toy.directFetch(parse('{ named { ... on Widget { colour } } }')), null);
  });

  it('checks variables against the API schema', () => {
    const direct = planner.directFetch(parse(DIRECT_QUERIES.availability))!;

    assert.equal(planner.acceptsVariables(direct.operation, { skus: ['SKU-00001'] }), true);
    assert.equal(planner.acceptsVariables(direct.operation, { skus: [{ sku: 'SKU-00001' }] }), false);
  });
});

describe('the gateway fast path for single-fetch queries', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let system: RunningSystem;
  let plainGateway: ApolloServer;

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 30 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 5 }, eventBus: { kind: 'redis', url: REDIS_URL } });
    const logger = createLogger('silent');
    system = await startSystem({ infrastructure, host: '127.0.0.1', ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 }, logger, env: {} });
    // The same supergraph through @apollo/gateway alone: the answers the fast path must match.
    plainGateway = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl,
        buildService: ({ name }) => new RemoteGraphQLDataSource({ url: `${system.subgraphs[name as keyof RunningSystem['subgraphs']].url}/graphql` }),
        logger,
      }),
      ...apolloServerDefaults(logger),
    });
    await plainGateway.start();
  });

  after(async () => {
    await plainGateway?.stop();
    await system?.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  /**
   * The answer's JSON text from Stockgraph's gateway and from the plain one: equal means same
   * values, same key order. `asOf` (and a promise date of "now") is when each read its snapshot, so it is left out.
   */
  async function bothAnswers(query: string, variables: Record<string, unknown>): Promise<[string, string]> {
    const response = await fetch(`${system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const plain = await plainGateway.executeOperation({ query, variables });
    assert.equal(plain.body.kind, 'single');
    const withoutReadTime = (answer: unknown) => JSON.stringify(answer).replace(/"(asOf|when|promise)":"[^"]+"/g, '"$1":"(read time)"');
    return [withoutReadTime(await response.json()), withoutReadTime(plain.body.kind === 'single' ? plain.body.singleResult : null)];
  }

  const skus = ['SKU-00007', 'SKU-00002', 'SKU-00011'];

  it('answers exactly as @apollo/gateway does, for direct and gateway-shaped queries alike', async () => {
    for (const [name, query] of Object.entries({ ...DIRECT_QUERIES, ...GATEWAY_QUERIES })) {
      const [fast, plain] = await bothAnswers(query, { skus, withStale: true });
      assert.doesNotMatch(fast, /"errors"/, name);
      assert.equal(fast, plain, name);
    }
  });

  it('reports bad variables and subgraph errors exactly as @apollo/gateway does', async () => {
    const badVariable = await bothAnswers(DIRECT_QUERIES.availability, { skus: [{ sku: 'SKU-00001' }] });
    const unknownSku = await bothAnswers(DIRECT_QUERIES.availability, { skus: ['SKU-00001', 'NOPE-1'] });

    assert.match(badVariable[0], /BAD_USER_INPUT/);
    assert.equal(badVariable[0], badVariable[1]);
    assert.match(unknownSku[0], /UNKNOWN_SKU/);
    assert.equal(unknownSku[0], unknownSku[1]);
  });
});
