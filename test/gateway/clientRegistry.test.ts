import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ClientRegistry } from '../../gateway/clients/clientRegistry.ts';
import { newApiKey, readClientsFile, writeClientsFile } from '../../gateway/clients/clientsFile.ts';
import { createLogger } from '../../platform/logger.ts';
import { useCleanup } from '../support/cleanup.ts';
import { testClients } from '../support/gatewayClients.ts';

const defaults = { limits: { maxDepth: 12, maxAliases: 20, maxCost: 100_000 }, rateLimit: { perSecond: 100, burst: 200 } };

describe('the clients file as the gateway serves it', () => {
  const cleanup = useCleanup();

  it('maps each key to its client, and follows the file: a bad edit keeps the clients it had', async () => {
    const clients = testClients([{ name: 'partner', scopes: ['inventory:read'], locations: ['DC-01'], limits: { maxCost: 500 } }]);
    cleanup(() => clients.remove());
    const registry = new ClientRegistry(clients.path, defaults, createLogger('silent'), 20);
    cleanup(() => registry.close());
    const reloaded = () => new Promise<void>((resolve) => { const stop = registry.onReload(() => (stop(), resolve())); });

    const principal = registry.principalForKey(clients.key('partner'))!;
    assert.equal(principal.name, 'partner');
    assert.deepEqual([...principal.scopes], ['inventory:read']);
    assert.deepEqual(principal.locations, ['DC-01']);
    assert.deepEqual(principal.limits, { maxDepth: 12, maxAliases: 20, maxCost: 500 }, "the client's own limits over the defaults");
    assert.equal(registry.principalForKey('sg_00000000_unknown'), undefined);

    let next = reloaded();
    writeFileSync(clients.path, '{ "version": 1, "clients": [ { "name": "partner", "scopes": ["inventory:write"] ');
    await next;
    assert.equal(registry.principalForKey(clients.key('partner'))?.name, 'partner', 'a file that does not parse changes nothing');

    next = reloaded();
    const { key, record } = newApiKey();
    writeClientsFile(clients.path, { version: 1, clients: [{ name: 'other', scopes: ['orders:read'], keys: [record] }] });
    await next;
    assert.equal(registry.principalForKey(clients.key('partner')), undefined, 'a client taken out of the file is refused');
    assert.equal(registry.principalForKey(key)?.name, 'other');
  });

  it('refuses to start on a malformed file, naming the problem, and reads no file as no clients', () => {
    const clients = testClients([]);
    cleanup(() => clients.remove());
    writeFileSync(clients.path, JSON.stringify({ version: 1, clients: [{ name: 'x', scopes: ['inventory:read', 'root'], keys: [] }] }));
    assert.throws(() => new ClientRegistry(clients.path, defaults, createLogger('silent')), /clients\.0\.scopes\.1 must be among inventory:read/);
    writeFileSync(clients.path, JSON.stringify({ version: 1, clients: [{ name: 'x', scopes: [], keys: [] }, { name: 'x', scopes: [], keys: [] }] }));
    assert.throws(() => readClientsFile(clients.path), /names a second client x/);
    assert.deepEqual(readClientsFile(`${clients.path}.missing`).clients, []);
  });
});
