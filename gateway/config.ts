import { logLevel, readEnvironment, variable, type Environment } from '../platform/config/environment.ts';
import { DEFAULT_PORTS, SUBGRAPH_NAMES, variablePrefix, type SubgraphName } from '../platform/config/services.ts';
import { SUPERGRAPH_PATH } from './supergraph/composeSupergraph.ts';

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly supergraphPath: string;
  /** GraphQL endpoint of each subgraph. */
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
}

const httpUrl = variable.url(['http:', 'https:']);

/** Reads GATEWAY_PORT, HOST, LOG_LEVEL, SUPERGRAPH_PATH and `<SUBGRAPH>_URL` for each subgraph. */
export function readGatewayConfig(env: Environment): GatewayConfig {
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
    },
    env,
  ) as Record<string, string | number>;
  return Object.freeze({
    host: values.HOST as string,
    port: values.GATEWAY_PORT as number,
    logLevel: values.LOG_LEVEL as string,
    supergraphPath: values.SUPERGRAPH_PATH as string,
    subgraphUrls: Object.freeze(
      Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, values[urlVariable(name)] as string])) as Record<SubgraphName, string>,
    ),
  });
}
