import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One operation of a safelist, as Apollo's tooling (`generate-persisted-query-manifest`) writes it. */
export interface PersistedOperation {
  readonly id: string;
  readonly name: string;
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly body: string;
}

/** A safelist: the only operations a client bound to it may run, by id. */
export interface PersistedQueryManifest {
  /** Where it was read from, for messages. */
  readonly source: string;
  readonly operations: ReadonlyMap<string, PersistedOperation>;
}

const ManifestFile = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string(),
      type: z.enum(['query', 'mutation', 'subscription']),
      body: z.string().min(1),
    }),
  ),
});

/** Reads an `apollo-persisted-query-manifest` (version 1); throws naming the file and the problem. */
export function readPersistedQueryManifest(path: string): PersistedQueryManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`persisted query manifest ${path} cannot be read: ${(error as Error).message}`);
  }
  const result = ManifestFile.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`persisted query manifest ${path} is not an apollo-persisted-query-manifest, version 1: ${issue.path.join('.') || 'file'} ${issue.message}`);
  }
  const operations = new Map<string, PersistedOperation>();
  for (const operation of result.data.operations) {
    if (operations.has(operation.id)) throw new Error(`persisted query manifest ${path} lists operation id ${operation.id} twice`);
    operations.set(operation.id, operation);
  }
  return Object.freeze({ source: path, operations });
}
