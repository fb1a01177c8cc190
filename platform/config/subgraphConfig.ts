import { readEnvironment, variable, type Environment } from './environment.ts';
import { readRuntimeConfig, type RuntimeConfig } from './runtimeConfig.ts';
import { DEFAULT_PORTS, variablePrefix, type SubgraphName } from './services.ts';

export interface SubgraphConfig extends RuntimeConfig {
  readonly port: number;
}

/** A subgraph's configuration: the shared infrastructure variables plus `<NAME>_PORT`. */
export function readSubgraphConfig(name: SubgraphName, env: Environment, options: { allowEmbedded: boolean }): SubgraphConfig {
  const portVariable = `${variablePrefix(name)}_PORT`;
  const ports = readEnvironment({ [portVariable]: variable.port(DEFAULT_PORTS[name]) }, env);
  return Object.freeze({ ...readRuntimeConfig(env, options), port: ports[portVariable] as number });
}
