// npm run clients -- <command>: manages the clients file (CLIENTS_FILE, default ./clients.json)
// that the gateway reads, and reloads, for every replica:
//   add <name> --scopes <s1,s2> [--locations <l1,l2>] [--manifest <file>]   prints the new API key, alone on the last line
//   rotate <name>    a new key; the client's earlier keys stop working
//   revoke <name>    the client's keys stop working (the client stays listed, revoked)
//   list             every client, its scopes, locations and safelist; never a key or a digest
// Each change writes an audit line (JSON, "log":"audit") to stderr; stdout keeps the key alone on its last line.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { CLIENT_NAME, newApiKey, readClientsFile, writeClientsFile, type ClientEntry, type ClientsFile } from '../gateway/clients/clientsFile.ts';
import { readPersistedQueryManifest } from '../gateway/edge/persistedQueryManifest.ts';
import { GRANTABLE_SCOPE_NAMES } from '../gateway/edge/scopes.ts';
import { createLogger } from '../platform/logger.ts';
import { writeAudit } from '../platform/observability/auditLog.ts';

const auditLogger = createLogger('info', pino.destination({ dest: 2, sync: true }));
const audit = (action: string, client: string, details: Record<string, unknown> = {}) =>
  writeAudit(auditLogger, { actor: `cli:${userInfo().username}`, action, outcome: 'ok', client, ...details });

class UsageError extends Error {}

const USAGE = `Usage: npm run clients -- add <name> --scopes <s1,s2> [--locations <l1,l2>] [--manifest <file>]
       npm run clients -- rotate <name> | revoke <name> | list
Scopes: ${GRANTABLE_SCOPE_NAMES.join(', ')}
The clients file is CLIENTS_FILE (default ./clients.json).`;

const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);

function main(argv: readonly string[], path: string): string[] {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { scopes: { type: 'string' }, locations: { type: 'string' }, manifest: { type: 'string' } },
  });
  const [command, name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`Unexpected ${extra.join(' ')}`);
  const file = readClientsFile(path);
  if (command === 'list') return listClients(file);
  if (!name) throw new UsageError(`${command ?? 'A command'} needs a client name`);
  const existing = file.clients.find((client) => client.name === name);
  const save = (client: ClientEntry) => writeClientsFile(path, { version: 1, clients: [...file.clients.filter((other) => other.name !== name), client] });
  switch (command) {
    case 'add': {
      if (existing) throw new UsageError(`A client ${name} exists already: rotate its key, or revoke it and add another name`);
      if (!CLIENT_NAME.test(name)) throw new UsageError(`${name} is not a client name: 1 to 64 letters, digits, dots, dashes or underscores`);
      const scopes = list(values.scopes);
      if (scopes.length === 0) throw new UsageError('add needs --scopes');
      const unknown = scopes.filter((scope) => !(GRANTABLE_SCOPE_NAMES as readonly string[]).includes(scope));
      if (unknown.length > 0) throw new UsageError(`Unknown scope ${unknown.join(', ')}; choose from ${GRANTABLE_SCOPE_NAMES.join(', ')}`);
      const locations = list(values.locations);
      const manifest = values.manifest === undefined ? undefined : manifestPath(values.manifest, path);
      const { key, record } = newApiKey();
      save({
        name,
        scopes: scopes as ClientEntry['scopes'],
        ...(locations.length > 0 && { locations }),
        ...(manifest && { manifest }),
        keys: [record],
      });
      audit('client.add', name, { scopes, locations: locations.length > 0 ? locations : null, manifest: manifest ?? null });
      return [`Added ${name} to ${path}: ${describe({ name, scopes: scopes as ClientEntry['scopes'], ...(locations.length > 0 && { locations }), ...(manifest && { manifest }), keys: [record] })}.`, 'Its API key, shown only this once:', key];
    }
    case 'rotate': {
      if (!existing) throw new UsageError(`No client ${name} in ${path}`);
      const { key, record } = newApiKey();
      const { revokedAt: _, ...client } = existing;
      save({ ...client, keys: [record] });
      audit('client.rotate', name);
      return [`Rotated the key of ${name}: its earlier keys stop working once the gateway reloads ${path} (within a second or two).`, 'Its new API key, shown only this once:', key];
    }
    case 'revoke': {
      if (!existing) throw new UsageError(`No client ${name} in ${path}`);
      save({ ...existing, keys: [], revokedAt: new Date().toISOString() });
      audit('client.revoke', name);
      return [`Revoked ${name}: its keys stop working once the gateway reloads ${path} (within a second or two). Rotate it to give it a key again.`];
    }
    default:
      throw new UsageError(command ? `Unknown command ${command}` : 'A command is needed');
  }
}

/** The manifest as the clients file names it (relative to the file), once it reads as a valid safelist. */
function manifestPath(given: string, clientsFile: string): string {
  const absolute = resolve(given);
  if (!existsSync(absolute)) throw new UsageError(`No manifest at ${given}`);
  try {
    readPersistedQueryManifest(absolute);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return relative(dirname(resolve(clientsFile)), absolute) || absolute;
}

function listClients(file: ClientsFile): string[] {
  if (file.clients.length === 0) return ['No clients.'];
  return file.clients.map((client) => `${client.name}: ${describe(client)}`);
}

function describe(client: ClientEntry): string {
  return [
    `scopes ${client.scopes.join(', ') || 'none'}`,
    `locations ${client.locations?.join(', ') ?? 'all'}`,
    client.manifest ? `safelist ${client.manifest}` : 'any operation',
    client.revokedAt ? `revoked ${client.revokedAt}` : `${client.keys.length} key${client.keys.length === 1 ? '' : 's'}`,
  ].join('; ');
}

try {
  console.log(main(process.argv.slice(2), process.env.CLIENTS_FILE?.trim() || './clients.json').join('\n'));
} catch (error) {
  console.error(error instanceof UsageError ? `${error.message}\n\n${USAGE}` : (error as Error).message);
  process.exitCode = 2;
}
