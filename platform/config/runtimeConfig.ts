import { logLevel, postgresUrl, readEnvironment, redisUrl, variable, type Environment } from './environment.ts';

/** Where a service keeps its data: PostgreSQL in production, PGlite in a folder when embedded. */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize: number }
  | { kind: 'embedded'; dataDir: string };

/** Where events travel: Redis Streams in production, an in-process bus when embedded. */
/** `keyPrefix` namespaces every Redis key, so that several deployments can share one Redis. */
export type EventBusTarget = { kind: 'redis'; url: string; keyPrefix?: string } | { kind: 'in-process' };

/** What every service (gateway and subgraphs) shares: its infrastructure and logging. */
export interface RuntimeConfig {
  readonly host: string;
  readonly logLevel: string;
  readonly database: DatabaseTarget;
  readonly eventBus: EventBusTarget;
}

/**
 * Reads the infrastructure variables. A service started alone (the production shape) needs
 * DATABASE_URL and REDIS_URL; `npm start` passes `allowEmbedded` and falls back to PGlite in
 * STOCKGRAPH_DATA_DIR and an in-process bus for whichever is unset.
 */
export function readRuntimeConfig(env: Environment, { allowEmbedded }: { allowEmbedded: boolean }): RuntimeConfig {
  const required = allowEmbedded ? postgresUrl.optional() : postgresUrl;
  const values = readEnvironment(
    {
      HOST: variable.text('127.0.0.1'),
      LOG_LEVEL: logLevel,
      DATABASE_URL: required,
      DATABASE_POOL_SIZE: variable.positiveInt(10),
      REDIS_URL: allowEmbedded ? redisUrl.optional() : redisUrl,
      REDIS_KEY_PREFIX: variable.text('').optional(),
      STOCKGRAPH_DATA_DIR: variable.text('./.stockgraph'),
    },
    env,
  );
  const config: RuntimeConfig = {
    host: values.HOST,
    logLevel: values.LOG_LEVEL,
    database: values.DATABASE_URL
      ? { kind: 'postgres', url: values.DATABASE_URL, poolSize: values.DATABASE_POOL_SIZE }
      : { kind: 'embedded', dataDir: values.STOCKGRAPH_DATA_DIR },
    eventBus: values.REDIS_URL ? { kind: 'redis', url: values.REDIS_URL, ...(values.REDIS_KEY_PREFIX && { keyPrefix: values.REDIS_KEY_PREFIX }) } : { kind: 'in-process' },
  };
  return Object.freeze(config);
}
