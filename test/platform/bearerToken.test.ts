import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { bearerTokenGate } from '../../platform/http/bearerToken.ts';
import { closeServer, listen, sendJson } from '../../platform/http/serviceHttpServer.ts';

const TOKEN = 'k7Qd93-xv2LmZp41';
const refusals = {
  notConfigured: { code: 'OFF', message: 'no token is configured' },
  unauthenticated: { code: 'UNAUTHENTICATED', message: 'send the token' },
};

describe('bearerTokenGate', () => {
  // One server, two gates: /open with the token configured, /off without one.
  const server = createServer((request, response) => {
    const mayPass = request.url === '/open' ? open : off;
    if (mayPass(request, response)) sendJson(response, 200, { passed: true });
  });
  const open = bearerTokenGate(TOKEN, refusals);
  const off = bearerTokenGate(null, refusals);
  let baseUrl: string;
  const get = async (path: string, authorization?: string) => {
    const response = await fetch(`${baseUrl}${path}`, { headers: authorization === undefined ? {} : { authorization } });
    return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() };
  };

  before(async () => {
    baseUrl = await listen(server, 0, '127.0.0.1');
  });

  after(async () => {
    await closeServer(server);
  });

  it('lets through a request that presents the token as a bearer token, however the scheme is cased', async () => {
    assert.deepEqual(await get('/open', `Bearer ${TOKEN}`), { status: 200, challenge: null, body: { passed: true } });
    assert.equal((await get('/open', `bearer  ${TOKEN}`)).status, 200);
  });

  it('answers 401 with a bearer challenge for no token, a wrong one, a longer one, or other credentials', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer ${TOKEN} extra`]) {
      assert.deepEqual(await get('/open', authorization), { status: 401, challenge: 'Bearer realm="stockgraph"', body: { error: refusals.unauthenticated } }, String(authorization));
    }
  });

  it('answers every request with 401 and its own refusal when no token is configured', async () => {
    assert.deepEqual(await get('/off', `Bearer ${TOKEN}`), { status: 401, challenge: null, body: { error: refusals.notConfigured } });
  });
});
