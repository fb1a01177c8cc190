import { readEnvironment, variable, type Environment } from './environment.ts';
import { readObservabilitySettings, type ObservabilitySettings } from './observabilityConfig.ts';
import { readRuntimeConfig, type RuntimeConfig } from './runtimeConfig.ts';
import { DEFAULT_PORTS, variablePrefix, type SubgraphName } from './services.ts';

export interface SubgraphConfig extends RuntimeConfig {
  readonly port: number;
  /** GATEWAY_IDENTITY_SECRET: what the gateway signs callers' identities with; absent only when embedded (startSystem makes one up). */
  readonly identitySecret: string | undefined;
  /** METRICS_TOKEN and ACCESS_LOG. */
  readonly observability: ObservabilitySettings;
}

/** The variable holding the secret the gateway and the subgraphs share; see platform/graphql/callerIdentity.ts. */
export const IDENTITY_SECRET_VARIABLE = 'GATEWAY_IDENTITY_SECRET';

export const identitySecret = variable.secret();

/** A subgraph's configuration: the shared infrastructure variables, `<NAME>_PORT`, GATEWAY_IDENTITY_SECRET, METRICS_TOKEN and ACCESS_LOG. */
export function readSubgraphConfig(name: SubgraphName, env: Environment, options: { allowEmbedded: boolean }): SubgraphConfig {
  const portVariable = `${variablePrefix(name)}_PORT`;
  const runtime = readRuntimeConfig(env, options);
  const values = readEnvironment(
    {
      [portVariable]: variable.port(DEFAULT_PORTS[name]),
      [IDENTITY_SECRET_VARIABLE]: options.allowEmbedded ? identitySecret.optional() : identitySecret,
    },
    env,
  );
  return Object.freeze({
    ...runtime,
    port: values[portVariable] as number,
    identitySecret: values[IDENTITY_SECRET_VARIABLE] as string | undefined,
    observability: readObservabilitySettings(env),
  });
}
