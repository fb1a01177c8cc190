import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { readGatewayConfig } from '../../gateway/config.ts';
import { openGatewayEdge } from '../../gateway/edge/gatewayEdge.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR, testClients } from '../support/gatewayClients.ts';
import type { GraphQLResponse } from '../support/graphql.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { signedIdentity, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';
import { IDENTITY_HEADER } from '../../platform/graphql/callerIdentity.ts';
import { isBackgroundStatement } from '../support/statementCounting.ts';

const STOCK_QUERY = 'query ($sku: ID!) { item(sku: $sku) { sku stockLevels { locationId available } } }';
const RESERVE = `mutation ($key: String!) {
  createReservation(input: { sku: "${DEMO_SKU}", quantity: 1, locationId: "${DEMO_LOCATION_ID}", channel: "WEB", reference: "edge-test", idempotencyKey: $key }) { id }
}`;
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'stockgraph';
const PORTAL = 'https://portal.example.com';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const skus = (count: number) => Array.from({ length: count }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);

describe('the gateway edge: credentials, scopes, limits, persisted queries, safelists and rate limits', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let system: RunningSystem;
  let replica: RunningService;
  let jwks: Server;
  const redis = redisNamespace('gateway-edge');
  const statements: string[] = [];
  const signingKeys = generateKeyPair('RS256');
  const manifestOperation = { id: 'stock-of-one-item', name: 'StockOfOneItem', type: 'query' as const, body: STOCK_QUERY };
  const clients = testClients([
    OPERATOR,
    { name: 'reader', scopes: ['inventory:read'] },
    { name: 'storefront', scopes: ['inventory:read', 'reservations:write'], limits: { requestsPerSecond: 1, burst: 3 } },
    { name: 'feed', scopes: ['inventory:read'], limits: { maxCost: 10_000_000, maxAliases: 200 } },
    { name: 'portal', scopes: ['inventory:read'], manifest: 'portal-manifest.json' },
  ]);
  writeFileSync(join(clients.folder, 'portal-manifest.json'), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [manifestOperation] }));

  let edgeEnv: Record<string, string>;
  /** POSTs to a gateway; `raw` sends the body as given. */
  const post = async (body: unknown, headers: Record<string, string> = {}, gateway = system.gateway) => {
    const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse };
  };
  const as = (name: string) => clients.headers(name);
  /** Once the gateway has reloaded the clients file (polled every second), `request` answers `status`. */
  const answersWith = (request: () => Promise<{ status: number }>, status: number) =>
    eventually(request, (answer) => answer.status === status, { what: `HTTP ${status}`, intervalMs: 100 });
  const codeOf = (answer: { body: GraphQLResponse }) => answer.body.errors?.[0]?.extensions?.code;
  const reservations = async () => (await database.db.query<{ count: number }>('SELECT count(*)::int AS count FROM reservation'))[0]!.count;
  /** The SQL the subgraphs send while `action` runs: none means no subgraph did any work. */
  const statementsDuring = async (action: () => Promise<unknown>) => {
    statements.length = 0;
    await action();
    return [...statements];
  };

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 30 });
    infrastructure = await openInfrastructure(
      { database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus },
      { onQuery: (sql) => !isBackgroundStatement(sql) && statements.push(sql) },
    );
    const { publicKey } = await signingKeys;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    edgeEnv = {
      ...clients.env,
      GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      CORS_ORIGINS: PORTAL,
      JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      GATEWAY_MAX_BODY_BYTES: String(64 * 1024),
    };
    system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger: createLogger('silent'),
      env: { ...edgeEnv, RESERVATION_SWEEP_INTERVAL_MS: '3600000', ORDER_RECOVERY_INTERVAL_MS: '3600000', PROMISE_FIGURES_INTERVAL_MS: '3600000', RECONCILIATION_INTERVAL_SECONDS: '0' },
    });
    // A second gateway replica over the same subgraphs and Redis, as a deployment runs them.
    replica = await startGateway({
      host: '127.0.0.1',
      port: 0,
      supergraphPath: SUPERGRAPH_PATH,
      subgraphUrls: { inventory: `${system.subgraphs.inventory.url}/graphql`, orders: `${system.subgraphs.orders.url}/graphql`, reconciliation: `${system.subgraphs.reconciliation.url}/graphql` },
      bus: infrastructure.bus,
      edge: await openGatewayEdge(readGatewayConfig(edgeEnv, { allowEmbedded: true }).edge, { redis: infrastructure.redis, logger: createLogger('silent') }),
      identitySecret: TEST_IDENTITY_SECRET,
      subscriptions: { maxPerConnection: 10, maxBufferedEvents: 100, lookupRetryMs: 1_000 },
      logger: createLogger('silent'),
    });
  });

  after(async () => {
    await replica?.stop();
    await system?.stop();
    await infrastructure?.close();
    await new Promise((resolve) => jwks?.close(resolve));
    await redis.clear();
    clients.remove();
    await database?.drop();
  });

  describe('credentials', () => {
    it('lets an anonymous caller do nothing unless ANONYMOUS_SCOPES grants it, and never mutate', async () => {
      const before = await reservations();
      const work = await statementsDuring(async () => {
        const read = await post({ query: STOCK_QUERY, variables: { sku: DEMO_SKU } });
        assert.equal(read.status, 401);
        assert.equal(codeOf(read), 'UNAUTHENTICATED');
        assert.deepEqual(read.body.errors![0]!.extensions!.requiredScopes, ['inventory:read']);
        assert.match(read.body.errors![0]!.message, /Query\.item.*inventory:read/);
        const write = await post({ query: RESERVE, variables: { key: 'anonymous-1' } });
        assert.equal(codeOf(write), 'UNAUTHENTICATED');
      });
      assert.deepEqual(work, [], 'refused before any subgraph was called');
      assert.equal(await reservations(), before);
    });

    it('refuses a key no client holds, and a malformed Authorization header, with 401', async () => {
      for (const authorization of ['Bearer sg_00000000_not-a-key', 'Basic dXNlcjpwYXNz', `Bearer ${clients.key(OPERATOR.name)}x`]) {
        const answer = await post({ query: '{ __typename }' }, { authorization });
        assert.equal(answer.status, 401, authorization);
        assert.equal(codeOf(answer), 'UNAUTHENTICATED');
        assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="stockgraph"');
      }
    });

    it('follows the clients file: a client added, rotated or revoked with the CLI counts without a restart', async () => {
      const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/clients.ts', ...args], { env: { ...process.env, CLIENTS_FILE: clients.path } });
      const added = await cli('add', 'partner-x', '--scopes', 'inventory:read', '--locations', DEMO_LOCATION_ID);
      const key = added.stdout.trim().split('\n').at(-1)!;
      assert.match(key, /^sg_[0-9a-f]{8}_[\w-]{43}$/, 'the key alone on the last line');
      assert.doesNotMatch(readFileSync(clients.path, 'utf8'), new RegExp(key), 'the file keeps digests only');
      const listed = await cli('list');
      assert.match(listed.stdout, /partner-x: scopes inventory:read; locations DC-01; any operation; 1 key/);
      assert.doesNotMatch(listed.stdout, /sg_|[0-9a-f]{64}/, 'list never prints a key or a digest');

      const asPartner = () => post({ query: STOCK_QUERY, variables: { sku: DEMO_SKU } }, { authorization: `Bearer ${key}` });
      await answersWith(asPartner, 200);

      const rotated = (await cli('rotate', 'partner-x')).stdout.trim().split('\n').at(-1)!;
      await answersWith(asPartner, 401);
      assert.equal((await post({ query: '{ __typename }' }, { authorization: `Bearer ${rotated}` })).status, 200);

      await cli('revoke', 'partner-x');
      await answersWith(() => post({ query: '{ __typename }' }, { authorization: `Bearer ${rotated}` }), 401);
      assert.match((await cli('list')).stdout, /partner-x: .*revoked/);
      await assert.rejects(cli('add', 'bad', '--scopes', 'inventory:write'), (error: { stderr: string }) => /Unknown scope inventory:write/.test(error.stderr));
    });

    it('accepts OAuth 2.0 JWTs from the configured issuer, and refuses expired, foreign or forged ones', async () => {
      const { privateKey } = await signingKeys;
      const token = (claims: Record<string, unknown>, { issuer = ISSUER, audience = AUDIENCE, expiresIn = '5m' } = {}) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setIssuer(issuer).setAudience(audience).setIssuedAt().setExpirationTime(expiresIn).sign(privateKey);
      const withToken = async (jwt: string | Promise<string>, query = STOCK_QUERY) => post({ query, variables: { sku: DEMO_SKU } }, { authorization: `Bearer ${await jwt}` });

      const granted = await withToken(token({ client_id: 'erp-bridge', scope: 'inventory:read orders:read' }));
      assert.equal(granted.status, 200, JSON.stringify(granted.body));
      const forbidden = await withToken(token({ client_id: 'erp-bridge', scope: 'inventory:read' }), `mutation { releaseReservation(id: "nope") { id } }`);
      assert.equal(codeOf(forbidden), 'FORBIDDEN');
      assert.match(forbidden.body.errors![0]!.message, /reservations:write.*erp-bridge/);
      for (const refused of [
        token({ scope: 'inventory:read' }, { expiresIn: '-1m' }),
        token({ scope: 'inventory:read' }, { audience: 'someone-else' }),
        token({ scope: 'inventory:read' }, { issuer: 'https://elsewhere.example.com/' }),
        token({ scope: 'inventory:read' }).then((jwt) => `${jwt.slice(0, -4)}AAAA`),
      ]) {
        const answer = await withToken(refused);
        assert.equal(answer.status, 401);
        assert.equal(codeOf(answer), 'UNAUTHENTICATED');
      }
    });
  });

  describe('scopes', () => {
    it('answers FORBIDDEN naming the missing scope, and runs nothing', async () => {
      const before = await reservations();
      const work = await statementsDuring(async () => {
        const answer = await post({ query: RESERVE, variables: { key: 'reader-1' } }, as('reader'));
        assert.equal(answer.status, 403);
        assert.equal(codeOf(answer), 'FORBIDDEN');
        assert.deepEqual(answer.body.errors![0]!.extensions!.requiredScopes, ['reservations:write']);
        assert.deepEqual(answer.body.errors![0]!.extensions!.fields, ['Mutation.createReservation']);
        assert.equal(answer.body.data, undefined);
      });
      assert.deepEqual(work, []);
      assert.equal(await reservations(), before);
    });

    it('checks every field a query reaches, across subgraphs, not only its root', async () => {
      const answer = await post({ query: '{ item(sku: "SKU-00001") { sku openOrders { id } stockLevels { reconciliation { tier } } } }' }, as('reader'));
      assert.equal(codeOf(answer), 'FORBIDDEN');
      assert.deepEqual(answer.body.errors![0]!.extensions!.fields, ['Item.openOrders', 'StockLevel.reconciliation']);
      assert.deepEqual(answer.body.errors![0]!.extensions!.requiredScopes, ['orders:read', 'reconciliation:read']);
      const granted = await post({ query: STOCK_QUERY, variables: { sku: DEMO_SKU } }, as('reader'));
      assert.equal(granted.body.errors, undefined);
      assert.equal(granted.body.data.item.sku, DEMO_SKU);
    });

    it('keeps the lookups that resolve subscription events to the gateway itself', async () => {
      const answer = await post({ query: '{ stockChanges(ids: ["1-0"]) { sku } }' }, as(OPERATOR.name));
      assert.equal(codeOf(answer), 'FORBIDDEN');
      assert.deepEqual(answer.body.errors![0]!.extensions!.requiredScopes, ['gateway:events']);
    });

    it('checks a subscription when it starts', async () => {
      const client = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: as('reader') });
      cleanup(() => client.dispose());
      const subscription = client.iterate({ query: 'subscription { orderStatusChanged { orderId } }' });
      await assert.rejects(subscription.next(), (errors: { extensions?: { code?: string } }[]) => errors[0]?.extensions?.code === 'FORBIDDEN');
    });
  });

  describe('the subgraphs', () => {
    it('answer only requests the gateway signed', async () => {
      const before = await reservations();
      for (const subgraph of Object.values(system.subgraphs)) {
        const genuine = signedIdentity()[IDENTITY_HEADER]!;
        const tampered = genuine.replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ c: 'admin', s: [], l: null, r: 'x', iat: Math.floor(Date.now() / 1000) })).toString('base64url')}.`);
        const forged: Record<string, string>[] = [{}, { [IDENTITY_HEADER]: 'v1.eyJjIjoiYWRtaW4ifQ.forged' }, { [IDENTITY_HEADER]: tampered }];
        for (const headers of forged) {
          const response = await fetch(`${subgraph.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: RESERVE, variables: { key: 'around-the-gateway' } }) });
          assert.equal(response.status, 401);
          assert.equal(((await response.json()) as GraphQLResponse).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
        }
        const entities = await fetch(`${subgraph.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ _entities(representations: [{ __typename: "Item", sku: "SKU-00001" }]) { __typename } }' }) });
        assert.equal(entities.status, 401, '_entities too');
      }
      assert.equal(await reservations(), before);
    });
  });

  describe('limits', () => {
    it('refuses the amplification attack (100 aliases x availability of 1,000 SKUs) before any subgraph is called', async () => {
      const selections = Array.from({ length: 100 }, (_, i) => `a${i}: availability(skus: $skus) { items { sku available locations { locationId available } } }`).join('\n');
      const query = `query ($skus: [ID!]!) { ${selections} }`;
      const work = await statementsDuring(async () => {
        const answer = await post({ query, variables: { skus: skus(1_000) } }, as('reader'));
        assert.equal(answer.status, 400);
        assert.equal(codeOf(answer), 'TOO_MANY_ALIASES');
        assert.equal(answer.body.errors![0]!.extensions!.maxAliases, 20);
      });
      assert.deepEqual(work, []);
    });

    it('prices lists by the sizes asked for, and refuses an operation over the limit with its cost', async () => {
      const selection = 'availability(skus: $skus) { items { sku available locations { locationId available inboundInTransit } } }';
      const query = `query ($skus: [ID!]!) { ${['a', 'b', 'c', 'd'].map((alias) => `${alias}: ${selection}`).join(' ')} }`;
      const work = await statementsDuring(async () => {
        const answer = await post({ query, variables: { skus: skus(1_000) } }, as('reader'));
        assert.equal(codeOf(answer), 'QUERY_TOO_COSTLY');
        const { cost, maxCost } = answer.body.errors![0]!.extensions as { cost: number; maxCost: number };
        assert.equal(maxCost, 100_000);
        assert.ok(cost > maxCost, `${cost}`);
      });
      assert.deepEqual(work, []);
      const small = await post({ query, variables: { skus: skus(5) } }, as('reader'));
      assert.equal(small.body.errors?.[0]?.extensions?.code === 'QUERY_TOO_COSTLY', false, 'five SKUs cost little');
      const feed = await post({ query, variables: { skus: skus(30) } }, as('feed'));
      assert.equal(feed.body.errors, undefined, 'a client may be given a larger budget');
    });

    it('refuses a query nested too deep, a document of too many tokens, and a body too large', async () => {
      const deep = await post({ query: '{ items(first: 1) { nodes { stockLevels { item { stockLevels { item { stockLevels { item { stockLevels { item { stockLevels { item { sku } } } } } } } } } } } } }' }, as('reader'));
      assert.equal(codeOf(deep), 'QUERY_TOO_DEEP');
      assert.equal(deep.body.errors![0]!.extensions!.maxDepth, 12);
      const tokens = await post({ query: `{ ${'a '.repeat(20_001)}}` }, as('reader'));
      assert.equal(codeOf(tokens), 'GRAPHQL_PARSE_FAILED');
      assert.match(tokens.body.errors![0]!.message, /20000 tokens/);
      const large = await fetch(`${system.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...as('reader') }, body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(70 * 1024) } }) });
      assert.equal(large.status, 413);
    });

    it('rate-limits each client with a token bucket shared by the replicas, answering 429 with Retry-After', async () => {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 6 && !limited; i += 1) {
        const answer = await post({ query: '{ __typename }' }, as('storefront'), i % 2 === 0 ? system.gateway : replica);
        statuses.push(answer.status);
        if (answer.status === 429) limited = answer;
      }
      assert.ok(limited, `statuses ${statuses}`);
      assert.ok(statuses.filter((status) => status === 200).length <= 4, 'a burst of 3, and at most one more refilled meanwhile, across both replicas');
      assert.equal(codeOf(limited), 'RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal((await post({ query: '{ __typename }' }, as('reader'))).status, 200, 'another client has a bucket of its own');
    });
  });

  describe('persisted queries', () => {
    it('registers an automatic persisted query through one replica and serves it by hash through the other, over GET with a Cache-Control per operation', async () => {
      const query = `query StockOf($sku: ID!) { item(sku: $sku) { sku description } }`;
      const hash = sha256(query);
      const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
      const unknown = await post({ extensions, variables: { sku: DEMO_SKU } }, as('reader'), replica);
      assert.equal(codeOf(unknown), 'PERSISTED_QUERY_NOT_FOUND');
      const registered = await post({ query, extensions, variables: { sku: DEMO_SKU } }, as('reader'));
      assert.equal(registered.body.errors, undefined);
      const params = new URLSearchParams({ extensions: JSON.stringify(extensions), variables: JSON.stringify({ sku: DEMO_SKU }) });
      const byHash = await fetch(`${replica.url}/graphql?${params}`, { headers: { ...as('reader'), 'apollo-require-preflight': 'true' } });
      const answer = (await byHash.json()) as GraphQLResponse;
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      assert.equal(answer.data.item.sku, DEMO_SKU);
      assert.equal(byHash.headers.get('cache-control'), 'private, max-age=300', 'the catalogue may be kept (privately: answers depend on the caller)');

      const stock = { persistedQuery: { version: 1, sha256Hash: sha256(STOCK_QUERY) } };
      await post({ query: STOCK_QUERY, extensions: stock, variables: { sku: DEMO_SKU } }, as('reader'));
      const stockParams = new URLSearchParams({ extensions: JSON.stringify(stock), variables: JSON.stringify({ sku: DEMO_SKU }) });
      const stockByHash = await fetch(`${system.gateway.url}/graphql?${stockParams}`, { headers: { ...as('reader'), 'apollo-require-preflight': 'true' } });
      assert.equal(stockByHash.status, 200);
      assert.equal(stockByHash.headers.get('cache-control'), 'no-store', 'stock changes in real time');
      const mismatch = await post({ query: '{ __typename }', extensions }, as('reader'));
      assert.equal(codeOf(mismatch), 'PERSISTED_QUERY_HASH_MISMATCH');
    });

    it('runs only its safelist for a client bound to a manifest, by id', async () => {
      const extensions = { persistedQuery: { version: 1, sha256Hash: manifestOperation.id } };
      const byId = await post({ extensions, variables: { sku: DEMO_SKU } }, as('portal'));
      assert.equal(byId.body.errors, undefined, JSON.stringify(byId.body.errors));
      assert.equal(byId.body.data.item.sku, DEMO_SKU);
      const unknownId = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'not-in-the-manifest' } } }, as('portal'));
      assert.equal(codeOf(unknownId), 'PERSISTED_QUERY_NOT_FOUND');
      for (const query of [STOCK_QUERY.replace('available', 'available onHandWms'), '{ __schema { types { name } } }']) {
        const text = await post({ query, variables: { sku: DEMO_SKU } }, as('portal'));
        assert.equal(codeOf(text), 'OPERATION_NOT_ALLOWED');
      }
    });
  });

  it('answers a CORS preflight from an allowed origin, and refuses another', async () => {
    const preflight = (origin: string) =>
      fetch(`${system.gateway.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    const allowed = await preflight(PORTAL);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), PORTAL);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const refused = await preflight('https://evil.example.com');
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
  });
});
