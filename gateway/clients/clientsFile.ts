import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { GRANTABLE_SCOPE_NAMES, type GrantableScope } from '../edge/scopes.ts';

/**
 * The clients file (CLIENTS_FILE, default ./clients.json): every partner, frontend and service
 * that may call the gateway, with its scopes, its granted locations, its safelist and its API
 * keys, stored as SHA-256 digests only. A file rather than a table, so that every replica and the
 * embedded mode read one definition, and revoking a key needs no database. `npm run clients`
 * manages it; the gateway reloads it when it changes.
 */
export interface ClientsFile {
  readonly version: 1;
  readonly clients: readonly ClientEntry[];
}

export type ClientEntry = z.infer<typeof ClientEntrySchema>;

/** A client's name: what logs and subgraph records show for its calls. */
export const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const positive = z.number().int().min(1);

const ClientEntrySchema = z.object({
  name: z.string().regex(CLIENT_NAME, 'must be 1 to 64 letters, digits, dots, dashes or underscores'),
  scopes: z.array(z.enum(GRANTABLE_SCOPE_NAMES as [GrantableScope, ...GrantableScope[]], { message: `must be among ${GRANTABLE_SCOPE_NAMES.join(', ')}` })),
  /** Absent: every location. */
  locations: z.array(z.string().min(1)).min(1).optional(),
  /** An apollo-persisted-query-manifest, relative to the clients file. */
  manifest: z.string().min(1).optional(),
  /** Overrides of the gateway's QUERY_* and RATE_LIMIT_* defaults, for this client. */
  limits: z
    .object({ maxDepth: positive, maxAliases: z.number().int().min(0), maxCost: positive, requestsPerSecond: positive, burst: positive })
    .partial()
    .strict()
    .optional(),
  keys: z.array(z.object({ id: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), createdAt: z.string() }).strict()),
  /** When `revoke` took its keys away. */
  revokedAt: z.string().optional(),
}).strict();

const ClientsFileSchema = z
  .object({ version: z.literal(1), clients: z.array(ClientEntrySchema) })
  .strict()
  .superRefine((file, context) => {
    const names = new Set<string>();
    for (const [index, client] of file.clients.entries()) {
      if (names.has(client.name)) context.addIssue({ code: 'custom', path: ['clients', index, 'name'], message: `names a second client ${client.name}` });
      names.add(client.name);
    }
  });

export const EMPTY_CLIENTS_FILE: ClientsFile = Object.freeze({ version: 1, clients: [] });

/** The clients file at `path`; an empty one when there is no file. Throws naming the problem when it is malformed. */
export function readClientsFile(path: string): ClientsFile {
  if (!existsSync(path)) return EMPTY_CLIENTS_FILE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = ClientsFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join('.') || 'file'} ${issue.message}`);
  }
  return result.data as ClientsFile;
}

/** Replaces the file in one rename, so that a gateway reloading it never reads half of it. Readable by its owner only: it names every client's scopes. */
export function writeClientsFile(path: string, file: ClientsFile): void {
  const staging = `${path}.${process.pid}.tmp`;
  writeFileSync(staging, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(staging, path);
}

/** A new API key (shown once) and the record the file keeps of it (its digest). */
export function newApiKey(): { key: string; record: ClientEntry['keys'][number] } {
  const id = randomBytes(4).toString('hex');
  // 256 random bits: a digest without salt or stretching is enough for a key nobody chose.
  const key = `sg_${id}_${randomBytes(32).toString('base64url')}`;
  return { key, record: { id, sha256: apiKeyDigest(key), createdAt: new Date().toISOString() } };
}

export function apiKeyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
