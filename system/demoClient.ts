import { newApiKey, readClientsFile, writeClientsFile } from '../gateway/clients/clientsFile.ts';
import { GRANTABLE_SCOPE_NAMES } from '../gateway/edge/scopes.ts';

export const DEMO_CLIENT = 'demo';

/**
 * Gives the embedded demo's `demo` client (every scope, every location) a new API key, in the
 * clients file at `path`, and returns it: keys are kept as digests only, so the demo key
 * `npm start` prints is a new one each start, and the one printed before stops working.
 */
export function issueDemoKey(path: string): string {
  const file = readClientsFile(path);
  const { key, record } = newApiKey();
  const demo = { name: DEMO_CLIENT, scopes: [...GRANTABLE_SCOPE_NAMES], keys: [record] };
  const others = file.clients.filter((client) => client.name !== DEMO_CLIENT);
  writeClientsFile(path, { version: 1, clients: [...others, demo] });
  return key;
}
