import { ConfigurationError, logLevel, readEnvironment, redisUrl, variable, type Environment } from '../platform/config/environment.ts';
import { readObservabilitySettings, type ObservabilitySettings } from '../platform/config/observabilityConfig.ts';
import { DEFAULT_PORTS } from '../platform/config/services.ts';
import { identitySecret, IDENTITY_SECRET_VARIABLE } from '../platform/config/subgraphConfig.ts';
import type { CorsPolicy } from '../platform/http/cors.ts';
import type { CallerDefaults } from './clients/clientRegistry.ts';
import type { JwtSettings } from './edge/jwtVerifier.ts';
import { READ_SCOPES } from './edge/scopes.ts';
import { SUPERGRAPH_PATH } from './supergraph/composeSupergraph.ts';
import type { SubgraphUrlOverrides } from './supergraph/subgraphUrls.ts';

/** What the gateway's subscriptions may use. */
export interface SubscriptionSettings {
  /** Subscriptions one WebSocket connection may hold. */
  readonly maxPerConnection: number;
  /** Events one subscriber may have waiting before its connection is closed as a slow consumer. */
  readonly maxBufferedEvents: number;
  /** How long resolving an event's selection is retried while a subgraph is away, in milliseconds. */
  readonly lookupRetryMs: number;
}

/** The entity cache of subgraph answers (SubgraphAnswerCache); null in GatewayConfig when ENTITY_CACHE=off. */
export interface EntityCacheSettings {
  /** ENTITY_CACHE_MAX_ENTRIES: the most answers kept. */
  readonly maxEntries: number;
  /** ENTITY_CACHE_MAX_BYTES: the most bytes of answers kept. */
  readonly maxBytes: number;
  /** ENTITY_CACHE_MAX_LAG_MS: how far its stock change feed may fall behind before the cache is flushed and bypassed, in milliseconds. */
  readonly maxLagMs: number;
}

/** Who may call the gateway and how much they may ask of it. */
export interface EdgeSettings {
  /** CLIENTS_FILE: the clients, their scopes, locations, safelists and key digests. */
  readonly clientsFile: string;
  /** Scopes granted to callers that present no credentials (read scopes only). */
  readonly anonymousScopes: readonly string[];
  /** Null when no JWT issuer is configured. */
  readonly jwt: JwtSettings | null;
  /** Limits of callers whose client entry sets none. */
  readonly defaults: CallerDefaults;
  readonly maxBodyBytes: number;
  /** Null: no browser origin may call. */
  readonly cors: CorsPolicy | null;
  /** Introspection and "Did you mean" suggestions in validation errors. */
  readonly introspection: boolean;
  /** How long an automatic persisted query stays registered, in seconds. */
  readonly persistedQueryTtlSeconds: number;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly supergraphPath: string;
  /**
   * `<NAME>_URL` for every NAME, as `{ NAME: url }`: the URL of the subgraph whose join graph is
   * NAME, in place of the supergraph's (the others name no subgraph and are never used). They are
   * checked when a supergraph naming them loads (routeSubgraphs).
   */
  readonly subgraphUrls: SubgraphUrlOverrides;
  /** The Redis that carries the event streams, the rate limits and persisted queries; null when embedded. */
  readonly redis: { readonly url: string; readonly keyPrefix?: string } | null;
  /** GATEWAY_IDENTITY_SECRET, which signs callers' identities for the subgraphs; absent only when embedded. */
  readonly identitySecret: string | undefined;
  readonly edge: EdgeSettings;
  readonly subscriptions: SubscriptionSettings;
  /** How long a subgraph may take to start answering a fetch, and then between the parts of its answer, in milliseconds. */
  readonly subgraphTimeoutMs: number;
  /** Null when switched off (ENTITY_CACHE=off). */
  readonly entityCache: EntityCacheSettings | null;
  /** METRICS_TOKEN and ACCESS_LOG. */
  readonly observability: ObservabilitySettings;
}

/** Room for some 100,000 small answers (a stock level, a cart's availability) in 64 MiB. */
export const DEFAULT_ENTITY_CACHE: EntityCacheSettings = Object.freeze({
  maxEntries: 100_000,
  maxBytes: 64 * 1024 * 1024, // 64 MiB
  maxLagMs: 1_000, // 1 second
});

const httpUrl = variable.url(['http:', 'https:']);
const scopeList = (name: string, value: string | undefined, allowed: readonly string[]) => {
  const scopes = (value ?? '').split(',').map((scope) => scope.trim()).filter(Boolean);
  const refused = scopes.find((scope) => !allowed.includes(scope));
  if (refused) throw new ConfigurationError(name, `may grant only ${allowed.join(', ')} (got "${refused}")`);
  return scopes;
};

/**
 * Reads the gateway's variables (README, Configuration). REDIS_URL and GATEWAY_IDENTITY_SECRET
 * may be left out only with `allowEmbedded` (`npm start`, where the gateway shares the
 * in-process bus and the subgraphs' secret).
 */
export function readGatewayConfig(env: Environment, { allowEmbedded = false }: { allowEmbedded?: boolean } = {}): GatewayConfig {
  if (env.GATEWAY_API_KEYS?.trim()) {
    throw new ConfigurationError('GATEWAY_API_KEYS', 'is no longer read: give each caller a client of its own in CLIENTS_FILE (npm run clients -- add <name> --scopes ...)');
  }
  const values = readEnvironment(
    {
      HOST: variable.text('127.0.0.1'),
      GATEWAY_PORT: variable.port(DEFAULT_PORTS.gateway),
      LOG_LEVEL: logLevel,
      SUPERGRAPH_PATH: variable.text(SUPERGRAPH_PATH),
      REDIS_URL: allowEmbedded ? redisUrl.optional() : redisUrl,
      REDIS_KEY_PREFIX: variable.text('').optional(),
      [IDENTITY_SECRET_VARIABLE]: allowEmbedded ? identitySecret.optional() : identitySecret,
      CLIENTS_FILE: variable.text('./clients.json'),
      ANONYMOUS_SCOPES: variable.text('').optional(),
      JWT_JWKS_URL: httpUrl.optional(),
      JWT_PUBLIC_KEY: variable.text('').optional(),
      JWT_ALGORITHM: variable.oneOf(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'], 'RS256'),
      JWT_SECRET: variable.secret().optional(),
      JWT_ISSUER: variable.text('').optional(),
      JWT_AUDIENCE: variable.text('').optional(),
      JWT_CLOCK_SKEW_SECONDS: variable.positiveInt(30),
      JWT_LOCATIONS_CLAIM: variable.text('stockgraph_locations'),
      QUERY_MAX_DEPTH: variable.positiveInt(12),
      QUERY_MAX_ALIASES: variable.positiveInt(20),
      QUERY_MAX_COST: variable.positiveInt(100_000),
      GATEWAY_MAX_BODY_BYTES: variable.positiveInt(256 * 1024),
      RATE_LIMIT_PER_SECOND: variable.positiveInt(100),
      RATE_LIMIT_BURST: variable.positiveInt(200),
      CORS_ORIGINS: variable.text('').optional(),
      CORS_MAX_AGE_SECONDS: variable.positiveInt(600),
      GATEWAY_INTROSPECTION: variable.oneOf(['true', 'false'], env.NODE_ENV === 'production' ? 'false' : 'true'),
      PERSISTED_QUERY_TTL_SECONDS: variable.positiveInt(7 * 24 * 3600),
      SUBSCRIPTIONS_PER_CONNECTION: variable.positiveInt(100),
      SUBSCRIPTION_BUFFER_EVENTS: variable.positiveInt(1_000),
      SUBSCRIPTION_LOOKUP_RETRY_MS: variable.positiveInt(30_000),
      SUBGRAPH_TIMEOUT_MS: variable.positiveInt(30_000),
      ENTITY_CACHE: variable.oneOf(['on', 'off'], 'on'),
      ENTITY_CACHE_MAX_ENTRIES: variable.positiveInt(DEFAULT_ENTITY_CACHE.maxEntries),
      ENTITY_CACHE_MAX_BYTES: variable.positiveInt(DEFAULT_ENTITY_CACHE.maxBytes),
      ENTITY_CACHE_MAX_LAG_MS: variable.positiveInt(DEFAULT_ENTITY_CACHE.maxLagMs),
    },
    env,
  ) as Record<string, string | number | undefined>;
  const text = (name: string) => values[name] as string | undefined;
  const keyPrefix = text('REDIS_KEY_PREFIX');
  const corsOrigins = (text('CORS_ORIGINS') ?? '').split(',').map((origin) => origin.trim()).filter(Boolean);
  return Object.freeze({
    host: text('HOST')!,
    port: values.GATEWAY_PORT as number,
    logLevel: text('LOG_LEVEL')!,
    supergraphPath: text('SUPERGRAPH_PATH')!,
    subgraphUrls: subgraphUrlVariables(env),
    redis: values.REDIS_URL ? { url: text('REDIS_URL')!, ...(keyPrefix && { keyPrefix }) } : null,
    identitySecret: text(IDENTITY_SECRET_VARIABLE),
    edge: {
      clientsFile: text('CLIENTS_FILE')!,
      anonymousScopes: scopeList('ANONYMOUS_SCOPES', text('ANONYMOUS_SCOPES'), READ_SCOPES),
      jwt: jwtSettings(text, values.JWT_CLOCK_SKEW_SECONDS as number),
      defaults: {
        limits: { maxDepth: values.QUERY_MAX_DEPTH as number, maxAliases: values.QUERY_MAX_ALIASES as number, maxCost: values.QUERY_MAX_COST as number },
        rateLimit: { perSecond: values.RATE_LIMIT_PER_SECOND as number, burst: values.RATE_LIMIT_BURST as number },
      },
      maxBodyBytes: values.GATEWAY_MAX_BODY_BYTES as number,
      cors: corsOrigins.length > 0 ? { allowedOrigins: corsOrigins, maxAgeSeconds: values.CORS_MAX_AGE_SECONDS as number } : null,
      introspection: text('GATEWAY_INTROSPECTION') === 'true',
      persistedQueryTtlSeconds: values.PERSISTED_QUERY_TTL_SECONDS as number,
    },
    subscriptions: {
      maxPerConnection: values.SUBSCRIPTIONS_PER_CONNECTION as number,
      maxBufferedEvents: values.SUBSCRIPTION_BUFFER_EVENTS as number,
      lookupRetryMs: values.SUBSCRIPTION_LOOKUP_RETRY_MS as number,
    },
    subgraphTimeoutMs: values.SUBGRAPH_TIMEOUT_MS as number,
    entityCache: text('ENTITY_CACHE') === 'off' ? null : {
      maxEntries: values.ENTITY_CACHE_MAX_ENTRIES as number,
      maxBytes: values.ENTITY_CACHE_MAX_BYTES as number,
      maxLagMs: values.ENTITY_CACHE_MAX_LAG_MS as number,
    },
    observability: readObservabilitySettings(env),
  });
}

// A join graph's enum value, upper-cased, as composition makes them (`INVENTORY`, `PRICE_LIST`).
const SUBGRAPH_URL_VARIABLE = /^([A-Z][A-Z0-9_]*)_URL$/;

/**
 * Every `<NAME>_URL` variable as `{ NAME: url }`. Which subgraphs there are is the supergraph's
 * to say, and it may change while the gateway runs: the variables are matched with its graphs as
 * it loads.
 */
function subgraphUrlVariables(env: Environment): SubgraphUrlOverrides {
  const urls: Record<string, string> = {};
  for (const name of Object.keys(env)) {
    const graph = SUBGRAPH_URL_VARIABLE.exec(name)?.[1];
    const value = graph && env[name]?.trim();
    if (graph && value) urls[graph] = value;
  }
  return Object.freeze(urls);
}

function jwtSettings(text: (name: string) => string | undefined, clockSkewSeconds: number): JwtSettings | null {
  const keys = (['JWT_JWKS_URL', 'JWT_PUBLIC_KEY', 'JWT_SECRET'] as const).filter((name) => text(name));
  if (keys.length === 0) return null;
  if (keys.length > 1) throw new ConfigurationError(keys[1]!, `cannot be set together with ${keys[0]}: tokens are verified against one key source`);
  for (const required of ['JWT_ISSUER', 'JWT_AUDIENCE']) {
    if (!text(required)) throw new ConfigurationError(required, `is required with ${keys[0]}: a token from any issuer or for any audience would be accepted`);
  }
  const key = text('JWT_JWKS_URL')
    ? { jwksUrl: text('JWT_JWKS_URL')! }
    : text('JWT_SECRET')
      ? { secret: text('JWT_SECRET')! }
      : { publicKeyPem: text('JWT_PUBLIC_KEY')!.replace(/\\n/g, '\n'), algorithm: text('JWT_ALGORITHM')! };
  return { key, issuer: text('JWT_ISSUER')!, audience: text('JWT_AUDIENCE')!, clockSkewSeconds, locationsClaim: text('JWT_LOCATIONS_CLAIM')! };
}
