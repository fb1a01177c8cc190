import { readEnvironment, variable, type Environment } from '../../platform/config/environment.ts';
import { z } from 'zod';

export interface InventoryConfig {
  /** Signing secret per WMS source. */
  readonly wmsSourceSecrets: ReadonlyMap<string, string>;
  /** How far a signed batch's timestamp may be from the server's clock, in seconds. */
  readonly signatureWindowSeconds: number;
  readonly maxBatchEvents: number;
  /** A stock level whose WMS has been quiet longer than this is flagged stale, in seconds. */
  readonly staleAfterSeconds: number;
  /** How often the outbox relay looks for changes it was not woken for, in milliseconds. */
  readonly outboxPollIntervalMs: number;
}

const sourceSecrets = z
  .string()
  .regex(/^[A-Za-z0-9._-]+=[^,\s]+(,[A-Za-z0-9._-]+=[^,\s]+)*$/, 'must look like source=secret,other-source=secret');

/** Reads the inventory subgraph's own variables. */
export function readInventoryConfig(env: Environment): InventoryConfig {
  const values = readEnvironment(
    {
      WMS_SOURCE_SECRETS: sourceSecrets.optional(),
      WMS_SIGNATURE_WINDOW_SECONDS: variable.positiveInt(300),
      WMS_MAX_BATCH_EVENTS: variable.positiveInt(1_000),
      STALE_AFTER_SECONDS: variable.positiveInt(3_600),
      OUTBOX_POLL_INTERVAL_MS: variable.positiveInt(250),
    },
    env,
  );
  const secrets = (values.WMS_SOURCE_SECRETS ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=') as [string, string]);
  return Object.freeze({
    wmsSourceSecrets: new Map(secrets),
    signatureWindowSeconds: values.WMS_SIGNATURE_WINDOW_SECONDS,
    maxBatchEvents: values.WMS_MAX_BATCH_EVENTS,
    staleAfterSeconds: values.STALE_AFTER_SECONDS,
    outboxPollIntervalMs: values.OUTBOX_POLL_INTERVAL_MS,
  });
}
