import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { readRuntimeConfig } from '../../platform/config/runtimeConfig.ts';
import { readSubgraphConfig } from '../../platform/config/subgraphConfig.ts';
import { readGatewayConfig } from '../../gateway/config.ts';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { routeSubgraphs } from '../../gateway/supergraph/subgraphUrls.ts';

const production = { DATABASE_URL: 'postgresql://db:5432/stockgraph', REDIS_URL: 'redis://cache:6379', GATEWAY_IDENTITY_SECRET: 'a-secret-long-enough-to-use' };

describe('configuration', () => {
  it('gives every variable a sensible default', () => {
    const config = readSubgraphConfig('orders', production, { allowEmbedded: false });
    assert.equal(config.port, 4002);
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual(config.database, { kind: 'postgres', url: production.DATABASE_URL, poolSize: 10 });
    assert.deepEqual(config.eventBus, { kind: 'redis', url: production.REDIS_URL });
    assert.ok(Object.isFrozen(config));
  });

  it('runs embedded when DATABASE_URL and REDIS_URL are unset and embedding is allowed', () => {
    const config = readRuntimeConfig({ STOCKGRAPH_DATA_DIR: '/tmp/sg' }, { allowEmbedded: true });
    assert.deepEqual(config.database, { kind: 'embedded', dataDir: '/tmp/sg' });
    assert.deepEqual(config.eventBus, { kind: 'in-process' });
  });

  it('requires DATABASE_URL for a service started alone', () => {
    assert.throws(
      () => readSubgraphConfig('inventory', { REDIS_URL: production.REDIS_URL }, { allowEmbedded: false }),
      (error: unknown) => error instanceof ConfigurationError && error.variable === 'DATABASE_URL' && /is required/.test(error.message),
    );
  });

  const invalid: [string, Record<string, string>, RegExp][] = [
    ['INVENTORY_PORT', { INVENTORY_PORT: 'abc' }, /INVENTORY_PORT must be a port number \(got "abc"\)/],
    ['INVENTORY_PORT', { INVENTORY_PORT: '70000' }, /between 0 and 65535 \(0 picks a free port\) \(got "70000"\)/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }, /DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\//],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }, /REDIS_URL must be a URL starting with redis:\/\//],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '0' }, /DATABASE_POOL_SIZE must be at least 1/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of fatal, error/],
  ];
  for (const [variable, env, message] of invalid) {
    it(`names ${variable} when it is ${Object.values(env)[0]}`, () => {
      assert.throws(
        () => readSubgraphConfig('inventory', { ...production, ...env }, { allowEmbedded: false }),
        (error: unknown) => error instanceof ConfigurationError && error.variable === variable && message.test(error.message),
      );
    });
  }

  it('points the gateway at each subgraph where the supergraph says, overridable per subgraph by <NAME>_URL', () => {
    const supergraph = readFileSync(SUPERGRAPH_PATH, 'utf8');
    const gateway = { REDIS_URL: production.REDIS_URL, GATEWAY_IDENTITY_SECRET: production.GATEWAY_IDENTITY_SECRET };
    const config = readGatewayConfig({ ...gateway, ORDERS_URL: 'http://orders:4002/graphql', JWT_JWKS_URL: 'https://idp.example.com/jwks.json', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' });
    assert.equal(config.port, 4000);
    assert.deepEqual(Object.fromEntries(routeSubgraphs(supergraph, config.subgraphUrls).urls), {
      inventory: 'http://127.0.0.1:4001/graphql',
      orders: 'http://orders:4002/graphql',
      reconciliation: 'http://127.0.0.1:4003/graphql',
    });
    const refused = readGatewayConfig({ ...gateway, RECONCILIATION_URL: 'ftp://x' }).subgraphUrls;
    assert.throws(() => routeSubgraphs(supergraph, refused), (error: unknown) => error instanceof ConfigurationError && error.variable === 'RECONCILIATION_URL' && /must be a URL starting with http:\/\/ or https:\/\/ \(got "ftp:\/\/x"\)/.test(error.message));
  });

  it('feeds gateway subscriptions from Redis, with limits, and needs the identity secret when alone', () => {
    const gateway = { REDIS_URL: production.REDIS_URL, GATEWAY_IDENTITY_SECRET: 'a-secret-long-enough-to-use' };
    const config = readGatewayConfig({ ...gateway, REDIS_KEY_PREFIX: 'eu:' });
    assert.deepEqual(config.redis, { url: production.REDIS_URL, keyPrefix: 'eu:' });
    assert.deepEqual(config.subscriptions, { maxPerConnection: 100, maxBufferedEvents: 1_000, lookupRetryMs: 30_000 });
    assert.throws(() => readGatewayConfig({ GATEWAY_IDENTITY_SECRET: gateway.GATEWAY_IDENTITY_SECRET }), /REDIS_URL is required/);
    assert.throws(() => readGatewayConfig({ REDIS_URL: production.REDIS_URL }), /GATEWAY_IDENTITY_SECRET is required/);
    assert.throws(() => readGatewayConfig({ ...gateway, GATEWAY_IDENTITY_SECRET: 'short' }), (error: Error) => /GATEWAY_IDENTITY_SECRET must be at least 16/.test(error.message) && !error.message.includes('short'));
    assert.equal(readGatewayConfig({}, { allowEmbedded: true }).redis, null, 'embedded: the in-process bus');
  });

  it('secures the edge by default and refuses settings that would open it', () => {
    const gateway = { REDIS_URL: production.REDIS_URL, GATEWAY_IDENTITY_SECRET: 'a-secret-long-enough-to-use' };
    const { edge } = readGatewayConfig(gateway);
    assert.deepEqual(edge.anonymousScopes, [], 'anonymous callers are granted nothing unless ANONYMOUS_SCOPES says so');
    assert.equal(edge.clientsFile, './clients.json');
    assert.equal(edge.jwt, null);
    assert.equal(edge.cors, null, 'no browser origin unless CORS_ORIGINS names it');
    assert.equal(readGatewayConfig({ ...gateway, NODE_ENV: 'production' }).edge.introspection, false, 'no introspection in production');
    assert.deepEqual(readGatewayConfig({ ...gateway, ANONYMOUS_SCOPES: 'inventory:read, orders:read' }).edge.anonymousScopes, ['inventory:read', 'orders:read']);
    assert.throws(() => readGatewayConfig({ ...gateway, ANONYMOUS_SCOPES: 'inventory:read,reservations:write' }), /ANONYMOUS_SCOPES may grant only inventory:read, orders:read, reconciliation:read \(got "reservations:write"\)/);
    assert.throws(() => readGatewayConfig({ ...gateway, GATEWAY_API_KEYS: 'key-one' }), /GATEWAY_API_KEYS is no longer read/);
    assert.throws(() => readGatewayConfig({ ...gateway, JWT_JWKS_URL: 'https://idp.example.com/jwks', JWT_AUDIENCE: 'stockgraph' }), /JWT_ISSUER is required with JWT_JWKS_URL/);
    assert.throws(() => readGatewayConfig({ ...gateway, JWT_JWKS_URL: 'https://idp.example.com/jwks', JWT_SECRET: 'x'.repeat(32), JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' }), /cannot be set together/);
    assert.deepEqual(readGatewayConfig({ ...gateway, CORS_ORIGINS: 'https://portal.example.com, https://ops.example.com' }).edge.cors, {
      allowedOrigins: ['https://portal.example.com', 'https://ops.example.com'],
      maxAgeSeconds: 600,
    });
  });

  it('leaves /metrics open and the access log on by default; METRICS_TOKEN guards it, and a short one is refused without being quoted', () => {
    const open = readSubgraphConfig('inventory', production, { allowEmbedded: false }).observability;
    const guarded = readGatewayConfig({ ...production, METRICS_TOKEN: 'a-metrics-token-long-enough', ACCESS_LOG: 'off' }).observability;

    assert.deepEqual(open, { metricsToken: null, accessLog: true });
    assert.deepEqual(guarded, { metricsToken: 'a-metrics-token-long-enough', accessLog: false });
    assert.throws(() => readSubgraphConfig('orders', { ...production, METRICS_TOKEN: 'short-token' }, { allowEmbedded: false }), (error: Error) =>
      error instanceof ConfigurationError && error.variable === 'METRICS_TOKEN' && !error.message.includes('short-token'));
    assert.throws(() => readGatewayConfig({ ...production, ACCESS_LOG: 'yes' }), /ACCESS_LOG must be one of on, off/);
  });

  it('stops a service with one clear line when a variable is wrong', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'subgraphs/inventory/main.ts'], {
      env: { PATH: process.env.PATH, ...production, INVENTORY_PORT: 'abc' },
    });
    await assert.rejects(run, (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.equal(error.stderr, 'stockgraph: Invalid configuration: INVENTORY_PORT must be a port number (got "abc")\n');
      return true;
    });
  });
});
