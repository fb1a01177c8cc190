import { readEnvironment, variable, type Environment } from './environment.ts';

/** How a service exposes what it does: its /metrics endpoint and its access log. */
export interface ObservabilitySettings {
  /** METRICS_TOKEN: /metrics answers only `Authorization: Bearer <token>`; null leaves it open. */
  readonly metricsToken: string | null;
  /** ACCESS_LOG (on | off): one `info` line per HTTP request. */
  readonly accessLog: boolean;
}

/** Reads METRICS_TOKEN and ACCESS_LOG, the same for the gateway and every subgraph. */
export function readObservabilitySettings(env: Environment): ObservabilitySettings {
  const values = readEnvironment({ METRICS_TOKEN: variable.secret().optional(), ACCESS_LOG: variable.oneOf(['on', 'off'], 'on') }, env);
  return Object.freeze({ metricsToken: values.METRICS_TOKEN ?? null, accessLog: values.ACCESS_LOG === 'on' });
}

/** What a service started without settings (a test, a tool) uses: /metrics open, the access log on. */
export const DEFAULT_OBSERVABILITY: ObservabilitySettings = Object.freeze({ metricsToken: null, accessLog: true });
