import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';
import { ClientRegistry } from '../clients/clientRegistry.ts';
import type { EdgeSettings } from '../config.ts';
import { authenticator, type Authenticate } from './authentication.ts';
import { jwtVerifier } from './jwtVerifier.ts';
import { persistedQueryCache } from './persistedQueryCache.ts';
import { inMemoryRateLimiter, redisRateLimiter, type RateLimiter } from './rateLimiter.ts';

/** Everything the gateway's edge checks requests with, built from its settings. */
export interface GatewayEdge {
  readonly settings: EdgeSettings;
  readonly authenticate: Authenticate;
  readonly rateLimiter: RateLimiter;
  readonly persistedQueries: KeyValueCache<string>;
  readonly clients: ClientRegistry;
  close(): void;
}

/**
 * Opens the edge: the clients file (followed as it changes), the JWT verifier, and the rate
 * limits and persisted queries, in `redis` so that every replica shares them (in memory when
 * embedded, `redis` null). Throws when the clients file or a safelist it names is malformed.
 */
export async function openGatewayEdge(settings: EdgeSettings, { redis, logger }: { redis: Redis | null; logger: Logger }): Promise<GatewayEdge> {
  const clients = new ClientRegistry(settings.clientsFile, settings.defaults, logger);
  const verifyJwt = settings.jwt ? await jwtVerifier(settings.jwt, settings.defaults) : null;
  return {
    settings,
    authenticate: authenticator({ clients, verifyJwt, anonymousScopes: settings.anonymousScopes, defaults: settings.defaults }),
    rateLimiter: redis ? redisRateLimiter(redis) : inMemoryRateLimiter(),
    persistedQueries: persistedQueryCache(redis, logger),
    clients,
    close: () => clients.close(),
  };
}
