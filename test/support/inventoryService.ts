import type { Environment } from '../../platform/config/environment.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import type { Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { testSubgraphServing } from './trustedCaller.ts';
import { inventorySubgraph } from '../../subgraphs/inventory/inventorySubgraph.ts';

/** The inventory subgraph on a free loopback port, over `infrastructure`, configured by `env`. */
export function startInventory(infrastructure: Infrastructure, env: Environment, logger: Logger = createLogger('silent')): Promise<RunningService> {
  return startSubgraphServer(inventorySubgraph({ infrastructure, env, logger }), testSubgraphServing);
}

/** `count` replicas of the inventory service over one infrastructure (so one database), as in production. */
export async function startReplicas(infrastructure: Infrastructure, env: Environment, count = 2): Promise<RunningService[]> {
  const replicas: RunningService[] = [];
  for (let i = 0; i < count; i += 1) replicas.push(await startInventory(infrastructure, env));
  return replicas;
}
