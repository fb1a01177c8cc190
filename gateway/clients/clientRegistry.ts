import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../platform/logger.ts';
import { readPersistedQueryManifest } from '../edge/persistedQueryManifest.ts';
import type { OperationLimits, Principal, RateLimit } from '../edge/principal.ts';
import { apiKeyDigest, readClientsFile, type ClientEntry } from './clientsFile.ts';

/** What a client gets where its entry sets no limits of its own. */
export interface CallerDefaults {
  readonly limits: OperationLimits;
  readonly rateLimit: RateLimit;
}

/**
 * The clients file as the gateway serves it: each API key's digest mapped to its client's
 * principal. It follows the file: a change is read within `pollIntervalMs`, and a file that no
 * longer parses keeps the last good definition (logged), so that a bad edit never opens the
 * gateway nor locks every client out.
 */
export class ClientRegistry {
  private principals: ReadonlyMap<string, Principal> = new Map();
  private readonly reloadListeners = new Set<() => void>();
  /** The file's state when it was last read: a change is any other state. */
  private readState: string;
  private readonly poller: NodeJS.Timeout;

  /** Throws naming the problem when the file is malformed, so that the gateway does not start on it. */
  constructor(
    readonly path: string,
    private readonly defaults: CallerDefaults,
    private readonly logger: Logger,
    pollIntervalMs = 1_000,
  ) {
    this.readState = fileState(path);
    this.principals = this.read();
    // Polled rather than fs.watch'ed: the CLI replaces the file by renaming over it, which
    // fs.watch loses track of on some platforms, and container volumes often send no events.
    // Nor fs.watchFile: it takes its first state asynchronously, after this read, so that an
    // edit in between went unseen until the next one. Each poll compares with what was read.
    this.poller = setInterval(() => {
      const state = fileState(path);
      if (state === this.readState) return;
      this.readState = state;
      this.reload();
    }, pollIntervalMs);
  }

  /** The principal of the client holding `key`, or undefined for a key no client holds. */
  principalForKey(key: string): Principal | undefined {
    return this.principals.get(apiKeyDigest(key));
  }

  /** Calls `listener` after every reload (tests and logs await it rather than time). */
  onReload(listener: () => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  close(): void {
    clearInterval(this.poller);
  }

  private reload(): void {
    try {
      this.principals = this.read();
      this.logger.info({ path: this.path, keys: this.principals.size }, 'clients file reloaded');
    } catch (error) {
      this.logger.error({ path: this.path, reason: (error as Error).message }, 'clients file changed but cannot be used; keeping the previous clients');
    }
    for (const listener of this.reloadListeners) listener();
  }

  private read(): ReadonlyMap<string, Principal> {
    const principals = new Map<string, Principal>();
    for (const entry of readClientsFile(this.path).clients) {
      const principal = this.principalOf(entry);
      for (const key of entry.keys) principals.set(key.sha256, principal);
    }
    return principals;
  }

  private principalOf(entry: ClientEntry): Principal {
    const { limits = {} } = entry;
    return Object.freeze({
      kind: 'client',
      name: entry.name,
      scopes: new Set(entry.scopes),
      locations: entry.locations ? Object.freeze([...entry.locations]) : null,
      manifest: entry.manifest ? readPersistedQueryManifest(resolve(dirname(this.path), entry.manifest)) : null,
      limits: {
        maxDepth: limits.maxDepth ?? this.defaults.limits.maxDepth,
        maxAliases: limits.maxAliases ?? this.defaults.limits.maxAliases,
        maxCost: limits.maxCost ?? this.defaults.limits.maxCost,
      },
      rateLimit: {
        perSecond: limits.requestsPerSecond ?? this.defaults.rateLimit.perSecond,
        burst: limits.burst ?? this.defaults.rateLimit.burst,
      },
      rateLimitKey: `client:${entry.name}`,
    } satisfies Principal);
  }
}

/** What tells one version of a file from the next: its inode (a rename over it), change time and size; `missing` when there is none. */
function fileState(path: string): string {
  const stats = statSync(path, { throwIfNoEntry: false, bigint: true });
  return stats ? `${stats.ino}:${stats.ctimeNs}:${stats.mtimeNs}:${stats.size}` : 'missing';
}
