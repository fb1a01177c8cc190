import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { readOrdersConfig } from '../../subgraphs/orders/config.ts';

describe("the orders subgraph's configuration", () => {
  it('reaches inventory at its usual address, and holds no token unless given one', () => {
    assert.deepEqual(readOrdersConfig({}), {
      inventoryApiUrl: 'http://127.0.0.1:4001', internalApiToken: null, stockCallTimeoutMs: 10_000, recoveryIntervalMs: 1_000, outboxPollIntervalMs: 250,
    });
  });

  it('refuses a short internal token without printing it, and an address that is not HTTP', () => {
    assert.throws(() => readOrdersConfig({ INTERNAL_API_TOKEN: 'sh0rt-s3cret' }), (error: unknown) =>
      error instanceof ConfigurationError && error.variable === 'INTERNAL_API_TOKEN' && /at least 16 characters/.test(error.message) && !error.message.includes('sh0rt-s3cret'));
    assert.throws(() => readOrdersConfig({ INVENTORY_API_URL: 'ftp://inventory' }), (error: unknown) =>
      error instanceof ConfigurationError && error.variable === 'INVENTORY_API_URL' && error.message.includes('ftp://inventory'));
  });
});
