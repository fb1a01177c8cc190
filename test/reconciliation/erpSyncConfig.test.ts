import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { ErpRateLimited, ErpRefusal, requestErp, retryAfterOf, TransientErpFailure } from '../../platform/erp/erpHttp.ts';
import { closeServer, listen } from '../../platform/http/serviceHttpServer.ts';
import { readErpSyncConfig } from '../../subgraphs/reconciliation/erpSync/erpSyncConfig.ts';
import { useCleanup } from '../support/cleanup.ts';

const erp = { ERP_BASE_URL: 'https://erp.example.com', ERP_ORGANIZATIONS: 'ATL=DC-01,DFW=DC-02' };

describe('the ERP sync ledger configuration', () => {
  it('defaults to 3 attempts from a 1 s backoff, 10 s posts, 16 at once, a 500 ms poll, a breaker of 5 failures for 5 s and 30 days of synced history', () => {
    assert.deepEqual(readErpSyncConfig({}), {
      erp: null, maxAttempts: 3, backoffMs: 1_000, timeoutMs: 10_000, concurrency: 16, intervalMs: 500, circuitFailures: 5, circuitHalfOpenMs: 5_000, retentionDays: 30,
    });
    assert.equal(readErpSyncConfig({ ERP_SYNC_RETENTION_DAYS: '90' }).retentionDays, 90);
  });

  it('posts to the ERP with its organizations and credentials when ERP_BASE_URL is set', () => {
    const config = readErpSyncConfig({ ...erp, ERP_USERNAME: 'sync', ERP_PASSWORD: 'secret', ERP_SYNC_CONCURRENCY: '4' });
    assert.equal(config.erp!.baseUrl, 'https://erp.example.com');
    assert.deepEqual([...config.erp!.locationOrganizations], [['DC-01', 'ATL'], ['DC-02', 'DFW']]);
    assert.deepEqual(config.erp!.auth, { username: 'sync', password: 'secret' });
    assert.equal(config.concurrency, 4);
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['ERP_SYNC_MAX_ATTEMPTS', { ERP_SYNC_MAX_ATTEMPTS: '0' }, /ERP_SYNC_MAX_ATTEMPTS must be at least 1/],
    ['ERP_SYNC_BACKOFF_MS', { ERP_SYNC_BACKOFF_MS: 'soon' }, /ERP_SYNC_BACKOFF_MS must be a number/],
    ['ERP_SYNC_TIMEOUT_MS', { ERP_SYNC_TIMEOUT_MS: '-1' }, /ERP_SYNC_TIMEOUT_MS must be at least 1/],
    ['ERP_SYNC_CONCURRENCY', { ERP_SYNC_CONCURRENCY: '1.5' }, /ERP_SYNC_CONCURRENCY must be a whole number/],
    ['ERP_SYNC_INTERVAL_MS', { ERP_SYNC_INTERVAL_MS: '0' }, /ERP_SYNC_INTERVAL_MS must be at least 1/],
    ['ERP_SYNC_CIRCUIT_FAILURES', { ERP_SYNC_CIRCUIT_FAILURES: 'five' }, /ERP_SYNC_CIRCUIT_FAILURES must be a number/],
    ['ERP_SYNC_CIRCUIT_HALF_OPEN_MS', { ERP_SYNC_CIRCUIT_HALF_OPEN_MS: '0' }, /ERP_SYNC_CIRCUIT_HALF_OPEN_MS must be at least 1/],
    ['ERP_SYNC_RETENTION_DAYS', { ERP_SYNC_RETENTION_DAYS: '0' }, /ERP_SYNC_RETENTION_DAYS must be at least 1/],
    ['ERP_SYNC_RETENTION_DAYS', { ERP_SYNC_RETENTION_DAYS: '2.5' }, /ERP_SYNC_RETENTION_DAYS must be a whole number/],
    ['ERP_BASE_URL', { ...erp, ERP_BASE_URL: 'ftp://erp.example.com' }, /ERP_BASE_URL must be a URL starting with http:\/\/ or https:\/\//],
    ['ERP_BASE_URL', { ERP_ORGANIZATIONS: erp.ERP_ORGANIZATIONS }, /ERP_BASE_URL is required when ERP_ORGANIZATIONS is set/],
    ['ERP_ORGANIZATIONS', { ERP_BASE_URL: erp.ERP_BASE_URL }, /ERP_ORGANIZATIONS is required when ERP_BASE_URL is set/],
    ['ERP_ORGANIZATIONS', { ...erp, ERP_ORGANIZATIONS: 'ATL:DC-01' }, /ERP_ORGANIZATIONS must look like ORG1=DC-01,ORG2=DC-02/],
    ['ERP_ORGANIZATIONS', { ...erp, ERP_ORGANIZATIONS: 'ATL=DC-01,PHX=DC-01' }, /ERP_ORGANIZATIONS maps location DC-01 to two organizations, ATL and PHX/],
    ['ERP_USERNAME', { ...erp, ERP_PASSWORD: 'secret' }, /ERP_USERNAME is required when ERP_PASSWORD is set/],
  ];
  for (const [variable, env, message] of refusals) {
    it(`refuses ${variable} ${JSON.stringify(env[variable] ?? 'missing')}, naming it`, () => {
      assert.throws(() => readErpSyncConfig(env), (error: Error) => error instanceof ConfigurationError && error.variable === variable && message.test(error.message));
    });
  }
});

describe('a call to the ERP', () => {
  const cleanup = useCleanup();

  /** An ERP that answers every request with `status`, `headers` and `body`. */
  async function erpAnswering(status: number, headers: Record<string, string> = {}, body = '') {
    const server = createServer((_, response) => {
      response.writeHead(status, headers);
      response.end(body);
    });
    const url = await listen(server, 0, '127.0.0.1');
    cleanup(() => closeServer(server));
    return new URL(url);
  }

  it('reads a Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-07T10:00:00.000Z');
    assert.deepEqual(
      ['2', 'Mon, 07 Dec 2026 10:00:05 GMT', 'Mon, 07 Dec 2026 09:59:00 GMT', 'later', undefined].map((header) => retryAfterOf(header, now)),
      [2_000, 5_000, 0, null, null],
    );
  });

  it('tells a rate limit, a failure worth retrying and a refusal apart', async () => {
    const call = async (url: URL) => requestErp(url, { method: 'POST', headers: {}, body: '{}', timeoutMs: 1_000 }).catch((error: unknown) => error);
    const limited = await call(await erpAnswering(429, { 'retry-after': '3' }));
    const down = await call(await erpAnswering(503));
    const refused = await call(await erpAnswering(400, {}, 'Missing attributes: ItemNumber'));
    assert.ok(limited instanceof ErpRateLimited && limited.retryAfterMs === 3_000);
    assert.ok(down instanceof TransientErpFailure && !(down instanceof ErpRateLimited) && down.message === 'answered 503 Service Unavailable');
    assert.ok(refused instanceof ErpRefusal && refused.message === '400 Bad Request: Missing attributes: ItemNumber');
  });
});
