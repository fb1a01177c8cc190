import { logLevel, readEnvironment, redisUrl, variable, type Environment } from '../platform/config/environment.ts';
import { DEFAULT_PORTS, SUBGRAPH_NAMES, variablePrefix, type SubgraphName } from '../platform/config/services.ts';
import { SUPERGRAPH_PATH } from './supergraph/composeSupergraph.ts';

/** What the gateway's subscriptions may use. */
export interface SubscriptionSettings {
  /** Subscriptions one WebSocket connection may hold. */
  readonly maxPerConnection: number;
  /** Events one subscriber may have waiting before its connection is closed as a slow consumer. */
  readonly maxBufferedEvents: number;
  /** How long resolving an event's selection is retried while a subgraph is away, in milliseconds. */
  readonly lookupRetryMs: number;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly supergraphPath: string;
  /** GraphQL endpoint of each subgraph. */
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  /** The Redis that carries the event streams subscriptions are fed from; null when embedded. */
  readonly redis: { readonly url: string; readonly keyPrefix?: string } | null;
  /** Keys callers must present (`Authorization: Bearer <key>`); none means every caller is let in. */
  readonly apiKeys: readonly string[];
  readonly subscriptions: SubscriptionSettings;
}

const httpUrl = variable.url(['http:', 'https:']);

/**
 * Reads GATEWAY_PORT, HOST, LOG_LEVEL, SUPERGRAPH_PATH, `<SUBGRAPH>_URL` for each subgraph,
 * REDIS_URL, REDIS_KEY_PREFIX, GATEWAY_API_KEYS and the SUBSCRIPTION_* limits. REDIS_URL may be
 * left out only with `allowEmbedded` (`npm start`, where the gateway shares the in-process bus).
 */
export function readGatewayConfig(env: Environment, { allowEmbedded = false }: { allowEmbedded?: boolean } = {}): GatewayConfig {
  const urlVariable = (name: SubgraphName) => `${variablePrefix(name)}_URL`;
  const values = readEnvironment(
    {
      HOST: variable.text('127.0.0.1'),
      GATEWAY_PORT: variable.port(DEFAULT_PORTS.gateway),
      LOG_LEVEL: logLevel,
      SUPERGRAPH_PATH: variable.text(SUPERGRAPH_PATH),
      ...Object.fromEntries(
        SUBGRAPH_NAMES.map((name) => [urlVariable(name), httpUrl.default(`http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql`)]),
      ),
      REDIS_URL: allowEmbedded ? redisUrl.optional() : redisUrl,
      REDIS_KEY_PREFIX: variable.text('').optional(),
      GATEWAY_API_KEYS: variable.text('').optional(),
      SUBSCRIPTIONS_PER_CONNECTION: variable.positiveInt(100),
      SUBSCRIPTION_BUFFER_EVENTS: variable.positiveInt(1_000),
      SUBSCRIPTION_LOOKUP_RETRY_MS: variable.positiveInt(30_000),
    },
    env,
  ) as Record<string, string | number | undefined>;
  const keyPrefix = values.REDIS_KEY_PREFIX as string | undefined;
  return Object.freeze({
    host: values.HOST as string,
    port: values.GATEWAY_PORT as number,
    logLevel: values.LOG_LEVEL as string,
    supergraphPath: values.SUPERGRAPH_PATH as string,
    subgraphUrls: Object.freeze(
      Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, values[urlVariable(name)] as string])) as Record<SubgraphName, string>,
    ),
    redis: values.REDIS_URL ? { url: values.REDIS_URL as string, ...(keyPrefix && { keyPrefix }) } : null,
    apiKeys: String(values.GATEWAY_API_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean),
    subscriptions: {
      maxPerConnection: values.SUBSCRIPTIONS_PER_CONNECTION as number,
      maxBufferedEvents: values.SUBSCRIPTION_BUFFER_EVENTS as number,
      lookupRetryMs: values.SUBSCRIPTION_LOOKUP_RETRY_MS as number,
    },
  });
}
