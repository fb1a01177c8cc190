import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ApolloServer } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { composeSubgraphs, SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { executionSupergraph } from '../../gateway/supergraph/executionSupergraph.ts';
import { apolloServerDefaults } from '../../platform/graphql/apolloService.ts';
import { DirectFetchPlanner } from '../../platform/graphql/singleFetchGateway.ts';
import { SubgraphDataSource } from '../../platform/graphql/subgraphDataSource.ts';
import { AnswerPrinter, holdsDataAlone, UnparsedData } from '../../platform/graphql/unparsedAnswers.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { testClients } from '../support/gatewayClients.ts';
import { signedIdentity, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';

const supergraphSdl = executionSupergraph(readFileSync(SUPERGRAPH_PATH, 'utf8'));

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

  it('leaves to the gateway what spans subgraphs and what the gateway adds itself', () => {
    for (const [name, query] of Object.entries(GATEWAY_QUERIES)) assert.equal(planner.directFetch(parse(query)), null, name);
    assert.equal(planner.directFetch(parse('mutation { cancelOrder(id: "o-1", reason: "x") { id lines { item { description } } } }')), null, 'a mutation whose answer spans subgraphs');
  });

  it('sends a mutation that one subgraph answers as asked straight to it', () => {
    assert.equal(planner.directFetch(parse('mutation { releaseReservation(id: "r-1") { id status } }'))?.fetch.serviceName, 'inventory');
    assert.equal(planner.directFetch(parse('mutation { cancelOrder(id: "o-1", reason: "x") { id status lines { item { sku } } } }'))?.fetch.serviceName, 'orders');
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

  const redis = redisNamespace('single-fetch');
  const clients = testClients();

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 30 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 5 }, eventBus: redis.eventBus });
    const logger = createLogger('silent');
    system = await startSystem({ infrastructure, host: '127.0.0.1', ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 }, logger, env: { ...clients.env, GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET } });
    // The same supergraph through @apollo/gateway alone: the answers the fast path must match.
    plainGateway = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl,
        buildService: ({ name }) => new RemoteGraphQLDataSource({
          url: `${system.subgraphs[name as keyof RunningSystem['subgraphs']].url}/graphql`,
          willSendRequest: ({ request }) => {
            for (const [header, value] of Object.entries(signedIdentity())) request.http?.headers.set(header, value);
          },
        }),
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
    await redis.clear();
    clients.remove();
    await database?.drop();
  });

  /**
   * The answer's JSON text from Stockgraph's gateway, as sent over HTTP, and from the plain one,
   * as Apollo Server prints it: equal means the same bytes. `asOf` (and a promise date of "now")
   * is when each read its snapshot, so it is left out.
   */
  async function bothAnswers(query: string, variables: Record<string, unknown>): Promise<[string, string]> {
    const response = await fetch(`${system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...clients.headers() },
      body: JSON.stringify({ query, variables }),
    });
    const plain = await plainGateway.executeOperation({ query, variables });
    assert.equal(plain.body.kind, 'single');
    const withoutReadTime = (answer: string) => answer.replace(/"(asOf|when|promise)":"[^"]+"/g, '"$1":"(read time)"');
    const plainText = `${JSON.stringify(plain.body.kind === 'single' ? plain.body.singleResult : null)}\n`;
    return [withoutReadTime(await response.text()), withoutReadTime(plainText)];
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

  it("reports a mutation's errors exactly as @apollo/gateway does, without running it twice", async () => {
    const reserve = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id sku quantity status } }`;
    const reservation = (quantity: number, key: string) => ({ input: { sku: 'SKU-00002', quantity, locationId: 'DC-01', channel: 'WEB', reference: 'cart', idempotencyKey: key } });
    const cases: [string, string, Record<string, unknown>][] = [
      ['insufficient stock', reserve, reservation(1_000_000, 'fast-path-1')],
      ['a bad variable', reserve, { input: { sku: 'SKU-00002' } }],
      ['a business refusal', 'mutation ($id: ID!) { releaseReservation(id: $id) { id } }', { id: 'RSV-nope' }],
      ['an order refusal', `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`, {
        input: { reference: 'FAST-1', channel: 'WEB', idempotencyKey: 'fast-1', lines: [{ sku: 'NOPE-1', quantity: 1 }] },
      }],
    ];
    for (const [name, mutation, variables] of cases) {
      const [fast, plain] = await bothAnswers(mutation, variables);
      assert.match(fast, /"errors"/, name);
      assert.equal(fast, plain, name);
    }

    const [made, madePlain] = await Promise.all([1, 2].map(async (n) => {
      const [fast, plain] = await bothAnswers(reserve, reservation(1, `fast-path-ok-${n}`));
      return n === 1 ? fast : plain;
    }));
    const withoutId = (answer: string) => answer.replace(/"id":"RSV-[^"]+"/, '"id":"(id)"');
    assert.equal(withoutId(made!), withoutId(madePlain!), 'the same answer to a mutation that succeeds');
    const [{ count }] = await database.db.query<{ count: number }>("SELECT count(*)::int AS count FROM reservation WHERE idempotency_key LIKE 'fast-path-ok-%'") as [{ count: number }];
    assert.equal(count, 2, 'each mutation ran once: no second run after the first');
  });

  it('passes a subgraph answer of data alone on as its text, and parses any other', async () => {
    const dataSource = new SubgraphDataSource('inventory', { url: `${system.subgraphs.inventory.url}/graphql`, timeoutMs: 10_000, headers: () => signedIdentity() });
    const fetchUnparsed = (query: string) =>
      dataSource.processUnparsed({
        kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
        request: { query, variables: { skus } },
        incomingRequestContext: {} as never,
        context: {},
      });

    const plain = await fetchUnparsed(DIRECT_QUERIES.availability);
    const failed = await fetchUnparsed('{ availability(skus: ["NOPE-1"]) { asOf } }');
    const aliased = await fetchUnparsed(`query ($skus: [ID!]!) { extensions: availability(skus: $skus) { asOf } }`);
    await dataSource.close();

    assert.ok(plain.data instanceof UnparsedData);
    assert.deepEqual(Object.keys(plain.data.parse()), ['availability']);
    assert.equal(failed.errors?.[0]?.extensions?.code, 'UNKNOWN_SKU');
    assert.deepEqual(Object.keys(aliased.data ?? {}), ['extensions'], 'a key named extensions is parsed, not passed on');
  });
});

describe('holdsDataAlone', () => {
  it('tells answers of data alone, as Apollo Server prints them, from any other', () => {
    const holds = (answer: string) => holdsDataAlone(Buffer.from(answer));

    assert.equal(holds('{"data":{"a":1}}\n'), true);
    assert.equal(holds('{"errors":[{"message":"x"}],"data":{"a":null}}\n'), false);
    assert.equal(holds('{"data":{"a":1},"extensions":{"cost":1}}\n'), false);
    assert.equal(holds('{"data":{"a":"\\"extensions\\":"}}\n'), true, 'quotes inside a string are escaped');
    assert.equal(holds('{"data":null}\n'), false);
    assert.equal(holds('{"data": {"a":1}}\n'), false);
    assert.equal(holds('{"data":{"a":1}}'), false);
  });
});

describe('AnswerPrinter', () => {
  it('sends UnparsedData as the bytes it came in, and prints every other result as Apollo Server does', () => {
    const printer = new AnswerPrinter();
    const answer = Buffer.from('{"data":{"a":1}}\n');
    const send = (result: Parameters<AnswerPrinter['stringifyResult']>[0]) => printer.responseBody(printer.stringifyResult(result)).toString();

    const printed = printer.stringifyResult({ data: new UnparsedData(answer) as never });
    assert.ok(printed.length < 40, 'Apollo Server carries a placeholder, not the answer');
    assert.equal(printer.responseBody(printed), answer);
    assert.equal(printer.responseBody(printed).toString(), printed, 'a placeholder is taken back once');
    assert.equal(send({ data: new UnparsedData(answer) as never, extensions: { b: 2 } }), '{"data":{"a":1},"extensions":{"b":2}}\n');
    assert.equal(send({ data: { a: 1 } }), '{"data":{"a":1}}\n');
    assert.equal(send({ errors: [{ message: 'x' }] }), '{"errors":[{"message":"x"}]}\n');
  });
});
