import { readEnvironment, variable, type Environment } from '../../platform/config/environment.ts';
import { DEFAULT_PORTS } from '../../platform/config/services.ts';

export interface OrdersConfig {
  /** Inventory's base URL, where its internal order-stock API is served. */
  readonly inventoryApiUrl: string;
  /** The bearer token of inventory's internal API; null when none is configured (stock cannot be held or given back). */
  readonly internalApiToken: string | null;
  /** How long one call to inventory may take, in milliseconds. */
  readonly stockCallTimeoutMs: number;
  /** How often stock commands left unanswered (a crash, a timeout) are looked for, in milliseconds. */
  readonly recoveryIntervalMs: number;
  /** How often the outbox relay looks for changes it was not woken for, in milliseconds. */
  readonly outboxPollIntervalMs: number;
}

/** Reads the orders subgraph's own variables. */
export function readOrdersConfig(env: Environment): OrdersConfig {
  const values = readEnvironment(
    {
      INVENTORY_API_URL: variable.url(['http:', 'https:']).default(`http://127.0.0.1:${DEFAULT_PORTS.inventory}`),
      INTERNAL_API_TOKEN: variable.secret().optional(),
      ORDER_STOCK_TIMEOUT_MS: variable.positiveInt(10_000),
      ORDER_RECOVERY_INTERVAL_MS: variable.positiveInt(1_000),
      OUTBOX_POLL_INTERVAL_MS: variable.positiveInt(250),
    },
    env,
  );
  return Object.freeze({
    inventoryApiUrl: values.INVENTORY_API_URL,
    internalApiToken: values.INTERNAL_API_TOKEN ?? null,
    stockCallTimeoutMs: values.ORDER_STOCK_TIMEOUT_MS,
    recoveryIntervalMs: values.ORDER_RECOVERY_INTERVAL_MS,
    outboxPollIntervalMs: values.OUTBOX_POLL_INTERVAL_MS,
  });
}
