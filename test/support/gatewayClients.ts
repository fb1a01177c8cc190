import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiKey, writeClientsFile, type ClientEntry } from '../../gateway/clients/clientsFile.ts';
import { GRANTABLE_SCOPE_NAMES } from '../../gateway/edge/scopes.ts';

/** A client for a test: its name and what it is granted; its key is made up. */
export type TestClient = Omit<ClientEntry, 'keys' | 'revokedAt'>;

/** Every scope, and limits no test reaches: the caller tests of other behaviour act as. */
export const OPERATOR: TestClient = { name: 'operator', scopes: [...GRANTABLE_SCOPE_NAMES], limits: { requestsPerSecond: 1_000_000, burst: 1_000_000 } };

/**
 * A clients file of the test's own, in a temporary folder: `env` points the gateway at it,
 * `headers(name)` are what that client sends, `remove()` deletes the folder.
 */
export function testClients(clients: readonly TestClient[] = [OPERATOR]) {
  const folder = mkdtempSync(join(tmpdir(), 'stockgraph-clients-'));
  const path = join(folder, 'clients.json');
  const keys = new Map<string, string>();
  const entries = clients.map((client) => {
    const { key, record } = newApiKey();
    keys.set(client.name, key);
    return { ...client, keys: [record] };
  });
  writeClientsFile(path, { version: 1, clients: entries });
  return {
    folder,
    path,
    env: { CLIENTS_FILE: path },
    key: (name: string) => keys.get(name)!,
    headers: (name = OPERATOR.name): Record<string, string> => ({ authorization: `Bearer ${keys.get(name)!}` }),
    remove: () => rmSync(folder, { recursive: true, force: true }),
  };
}
