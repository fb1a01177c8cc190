import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { IDENTITY_HEADER, identitySigner } from '../../platform/graphql/callerIdentity.ts';
import type { RunningSystem } from '../../system/startSystem.ts';
import { signEventBatch } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';
import { capturedLogLines } from '../support/collectingLogger.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// No secret, key or token ever appears in a log line: the whole system logs every level to
// memory while each credential it knows is used rightly and wrongly, then every line is searched
// for each of them. The secrets are random per run, so that no fixed string can match by chance.

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const SECRETS = {
  identity: secret('identity'),
  jwt: secret('jwt'),
  wrongJwt: secret('wrong-jwt'),
  wms: secret('wms'),
  wrongWms: secret('wrong-wms'),
  erpImport: secret('erp-import'),
  wrongErpImport: secret('wrong-erp-import'),
  internalApi: secret('internal-api'),
};
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'stockgraph';
const RESERVE = `mutation Reserve($input: CreateReservationInput!) { createReservation(input: $input) { id } }`;
const reservation = () => ({ input: { sku: 'SKU-00001', quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: `cart-${randomUUID()}`, idempotencyKey: randomUUID() } });

describe('logs: no secret, key or token in any line, on the paths that accept them and the paths that refuse them', () => {
  const logs = capturedLogLines();
  let running: TestSystem;
  let system: RunningSystem;
  let clients: TestSystem['clients'];
  /** Every credential a caller presented, rightly or wrongly: none of them may be logged. */
  const presented: string[] = [];

  before(async () => {
    running = await startTestSystem('log-secrets', {
      logger: logs.logger,
      env: {
        GATEWAY_IDENTITY_SECRET: SECRETS.identity,
        JWT_SECRET: SECRETS.jwt, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE,
        WMS_SOURCE_SECRETS: `acme-wms=${SECRETS.wms}`,
        ERP_IMPORT_TOKEN: SECRETS.erpImport,
        INTERNAL_API_TOKEN: SECRETS.internalApi,
      },
    });
    ({ system, clients } = running);
  });

  after(() => running?.stop());

  const toGateway = async (authorization: string, query = RESERVE, variables: Record<string, unknown> = reservation()) => {
    presented.push(authorization.replace(/^Bearer /, ''));
    const response = await fetch(`${system.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
  };
  const jwt = (key: string) => new SignJWT({ scope: 'inventory:read reservations:write' }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('jwt-caller').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(key));
  const codeOf = (answer: { body: { errors?: { extensions?: { code?: string } }[] } }) => answer.body.errors?.[0]?.extensions?.code;

  it('logs none of the API keys, JWTs, WMS signatures, ERP token or identity headers it was given, nor its own secrets', async () => {
    // API keys: the operator's, and one made up
    assert.equal((await toGateway(`Bearer ${clients.key('operator')}`)).body.errors, undefined);
    assert.equal(codeOf(await toGateway(`Bearer sg_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`)), 'UNAUTHENTICATED');
    // JWT bearers: signed with the gateway's secret, and with another
    assert.equal((await toGateway(`Bearer ${await jwt(SECRETS.jwt)}`)).body.errors, undefined);
    assert.equal(codeOf(await toGateway(`Bearer ${await jwt(SECRETS.wrongJwt)}`)), 'UNAUTHENTICATED');
    assert.equal(codeOf(await toGateway('Bearer not.a.jwt')), 'UNAUTHENTICATED');

    // WMS posts: signed with acme-wms's secret, with another one, and with a made-up signature
    const inventoryUrl = system.subgraphs.inventory.url;
    for (const [wmsSecret, status] of [[SECRETS.wms, 200], [SECRETS.wrongWms, 401]] as const) {
      const events = [acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00001', site: 'ATL1', qty: 1 })];
      const timestamp = Math.floor(Date.now() / 1000);
      presented.push(signEventBatch(wmsSecret, timestamp, JSON.stringify({ events })));
      assert.equal((await postEvents(inventoryUrl, 'acme-wms', events, { secret: wmsSecret, timestamp })).status, status);
    }
    const madeUp = `sha256=${randomBytes(32).toString('hex')}`;
    presented.push(madeUp);
    assert.equal((await postEvents(inventoryUrl, 'acme-wms', [acmeEvent({})], { signature: madeUp })).status, 401);

    // ERP balance uploads: with the import token, and with another
    for (const [token, status] of [[SECRETS.erpImport, 200], [SECRETS.wrongErpImport, 401]] as const) {
      const response = await fetch(`${inventoryUrl}/erp/balances`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: 'sku,location,subinventory,lot,on_hand\nSKU-00002,DC-01,STOCK,,7001',
      });
      assert.equal(response.status, status);
    }

    // Identity headers sent straight to a subgraph: one signed with the gateway's secret, one forged
    const signed = identitySigner(SECRETS.identity)({ caller: 'straight-in', scopes: ['reservations:write', 'inventory:read'], locations: null, correlationId: randomUUID() });
    const forged = identitySigner(secret('forger'))({ caller: 'forger', scopes: ['reservations:write'], locations: null, correlationId: randomUUID() });
    for (const [identity, accepted] of [[signed, true], [forged, false]] as const) {
      presented.push(identity);
      const response = await fetch(`${inventoryUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: identity }, body: JSON.stringify({ query: RESERVE, variables: reservation() }) });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      assert.equal(body.errors?.[0]?.extensions?.code, accepted ? undefined : 'UNAUTHENTICATED');
    }

    // Then the system did log these requests (their audit lines, by caller)...
    const lines = logs.parsed();
    const audited = lines.filter((line) => line.log === 'audit').map((line) => `${line.action}:${line.actor}:${line.outcome}`);
    for (const expected of ['mutation:operator:ok', 'mutation:jwt-caller:ok', 'mutation:straight-in:ok', 'erp.balances.upload:erp-import:ok']) {
      assert.ok(audited.includes(expected), `${expected} was audited (audited: ${audited.join(', ')})`);
    }
    // ...and no line holds any credential or secret, whole or as its distinctive part
    const forbidden = [...presented, ...Object.values(SECRETS), ...presented.flatMap((value) => value.split(/[._]/).filter((part) => part.length >= 16))];
    for (const value of forbidden) {
      const line = logs.lines.find((text) => text.includes(value));
      assert.equal(line, undefined, `a log line holds a secret (${value.slice(0, 12)}...): ${line}`);
    }
  });

  it('clients file changes are audited on stderr, without the key printed on stdout', async () => {
    const path = join(clients.folder, 'cli-clients.json');
    const run = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/clients.ts', ...args], { env: { ...process.env, CLIENTS_FILE: path } });
    try {
      const added = await run('add', 'cli-partner', '--scopes', 'inventory:read', '--locations', 'DC-01');
      const rotated = await run('rotate', 'cli-partner');
      const revoked = await run('revoke', 'cli-partner');
      const keys = [added, rotated].map(({ stdout }) => stdout.trim().split('\n').at(-1)!);
      const audit = [added, rotated, revoked].map(({ stderr }) => JSON.parse(stderr.trim()) as Record<string, unknown>);
      assert.deepEqual(audit.map(({ log, action, client, outcome }) => ({ log, action, client, outcome })), ['client.add', 'client.rotate', 'client.revoke'].map((action) => ({ log: 'audit', action, client: 'cli-partner', outcome: 'ok' })));
      assert.deepEqual(audit[0]!.locations, ['DC-01']);
      for (const key of keys) assert.ok(![added, rotated, revoked].some(({ stderr }) => stderr.includes(key)), 'no key in an audit line');
    } finally {
      rmSync(path, { force: true });
    }
  });
});
