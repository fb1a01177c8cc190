import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { readRuntimeConfig } from '../../platform/config/runtimeConfig.ts';
import { readSubgraphConfig } from '../../platform/config/subgraphConfig.ts';
import { readGatewayConfig } from '../../gateway/config.ts';

const production = { DATABASE_URL: 'postgresql://db:5432/stockgraph', REDIS_URL: 'redis://cache:6379' };

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

  it('points the gateway at each subgraph, overridable per subgraph', () => {
    const config = readGatewayConfig({ ORDERS_URL: 'http://orders:4002/graphql', REDIS_URL: production.REDIS_URL });
    assert.equal(config.port, 4000);
    assert.deepEqual(config.subgraphUrls, {
      inventory: 'http://127.0.0.1:4001/graphql',
      orders: 'http://orders:4002/graphql',
      reconciliation: 'http://127.0.0.1:4003/graphql',
    });
    assert.throws(() => readGatewayConfig({ RECONCILIATION_URL: 'ftp://x', REDIS_URL: production.REDIS_URL }), /RECONCILIATION_URL must be a URL/);
  });

  it('feeds gateway subscriptions from Redis, with limits and API keys', () => {
    const config = readGatewayConfig({ REDIS_URL: production.REDIS_URL, REDIS_KEY_PREFIX: 'eu:', GATEWAY_API_KEYS: ' key-one, key-two ,' });
    assert.deepEqual(config.redis, { url: production.REDIS_URL, keyPrefix: 'eu:' });
    assert.deepEqual(config.apiKeys, ['key-one', 'key-two']);
    assert.deepEqual(config.subscriptions, { maxPerConnection: 100, maxBufferedEvents: 1_000, lookupRetryMs: 30_000 });
    assert.throws(() => readGatewayConfig({}), /REDIS_URL is required/);
    assert.equal(readGatewayConfig({}, { allowEmbedded: true }).redis, null, 'embedded: the in-process bus');
    assert.deepEqual(readGatewayConfig({ REDIS_URL: production.REDIS_URL }).apiKeys, [], 'no keys: callers are let in');
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
