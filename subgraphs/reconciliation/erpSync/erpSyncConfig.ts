import { z } from 'zod';
import { ConfigurationError, readEnvironment, variable, type Environment } from '../../../platform/config/environment.ts';
import { erpOrganizationPairs, readErpOrganizations } from '../../../platform/config/erpOrganizations.ts';

/** Where and how the connector posts to the ERP. */
export interface ErpConnectionConfig {
  /** The ERP's base URL; the staged inventory transactions resource path is appended. */
  readonly baseUrl: string;
  /** Stockgraph location id -> ERP organization (ERP_ORGANIZATIONS). */
  readonly locationOrganizations: ReadonlyMap<string, string>;
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface ErpSyncConfig {
  /** null when ERP_BASE_URL is unset: the ledger records every transaction and nothing is posted. */
  readonly erp: ErpConnectionConfig | null;
  /** Failed attempts after which a transaction is SYNC_FAILED. */
  readonly maxAttempts: number;
  /** The least wait before the first retry, in milliseconds; doubled for each retry after it, plus up to a quarter at random. */
  readonly backoffMs: number;
  /** How long one post may take, answer included, in milliseconds. */
  readonly timeoutMs: number;
  /** Posts under way at once per replica, at most. */
  readonly concurrency: number;
  /** How often the connector looks for due transactions when nothing wakes it, in milliseconds. */
  readonly intervalMs: number;
  /** Consecutive failed posts that open the circuit breaker. */
  readonly circuitFailures: number;
  /** How long the circuit stays open before a post probes the ERP, in milliseconds. */
  readonly circuitHalfOpenMs: number;
  /** How long a SYNCED transaction is kept after it synced, in days, before the connector prunes it (see SyncTransactionStore.pruneSynced). */
  readonly retentionDays: number;
}

/** Reads the ERP sync ledger's variables; a ConfigurationError names the first bad one. */
export function readErpSyncConfig(env: Environment): ErpSyncConfig {
  const values = readEnvironment(
    {
      ERP_BASE_URL: variable.url(['http:', 'https:']).optional(),
      ERP_ORGANIZATIONS: erpOrganizationPairs.optional(),
      ERP_USERNAME: z.string().optional(),
      ERP_PASSWORD: z.string().optional(),
      ERP_SYNC_MAX_ATTEMPTS: variable.positiveInt(3),
      ERP_SYNC_BACKOFF_MS: variable.positiveInt(1_000),
      ERP_SYNC_TIMEOUT_MS: variable.positiveInt(10_000),
      ERP_SYNC_CONCURRENCY: variable.positiveInt(16),
      ERP_SYNC_INTERVAL_MS: variable.positiveInt(500),
      ERP_SYNC_CIRCUIT_FAILURES: variable.positiveInt(5),
      ERP_SYNC_CIRCUIT_HALF_OPEN_MS: variable.positiveInt(5_000),
      ERP_SYNC_RETENTION_DAYS: variable.positiveInt(30),
    },
    env,
  );
  const { ERP_BASE_URL: baseUrl, ERP_ORGANIZATIONS: organizations, ERP_USERNAME: username, ERP_PASSWORD: password } = values;
  // Each of these alone would post nothing, post every transaction to fail, or post without credentials.
  if (baseUrl === undefined && organizations !== undefined) throw new ConfigurationError('ERP_BASE_URL', 'is required when ERP_ORGANIZATIONS is set');
  if (baseUrl !== undefined && organizations === undefined) throw new ConfigurationError('ERP_ORGANIZATIONS', 'is required when ERP_BASE_URL is set (e.g. ORG1=DC-01,ORG2=DC-02)');
  if (username === undefined && password !== undefined) throw new ConfigurationError('ERP_USERNAME', 'is required when ERP_PASSWORD is set');
  if (username !== undefined && password === undefined) throw new ConfigurationError('ERP_PASSWORD', 'is required when ERP_USERNAME is set');
  return Object.freeze({
    erp: baseUrl === undefined || organizations === undefined ? null : Object.freeze({
      baseUrl,
      locationOrganizations: readErpOrganizations(organizations).locationOrganizations,
      ...(username === undefined || password === undefined ? {} : { auth: Object.freeze({ username, password }) }),
    }),
    maxAttempts: values.ERP_SYNC_MAX_ATTEMPTS,
    backoffMs: values.ERP_SYNC_BACKOFF_MS,
    timeoutMs: values.ERP_SYNC_TIMEOUT_MS,
    concurrency: values.ERP_SYNC_CONCURRENCY,
    intervalMs: values.ERP_SYNC_INTERVAL_MS,
    circuitFailures: values.ERP_SYNC_CIRCUIT_FAILURES,
    circuitHalfOpenMs: values.ERP_SYNC_CIRCUIT_HALF_OPEN_MS,
    retentionDays: values.ERP_SYNC_RETENTION_DAYS,
  });
}
