import { randomBytes } from 'node:crypto';
import type { SubgraphName } from '../platform/config/services.ts';
import type { BaseContext } from '@apollo/server';
import { startSubgraphServer, type SubgraphDefinition, type SubgraphEnvironment } from '../platform/graphql/subgraphServer.ts';
import type { Environment } from '../platform/config/environment.ts';
import type { RunningService } from '../platform/http/serviceHttpServer.ts';
import type { Infrastructure } from '../platform/infrastructure.ts';
import type { Logger } from '../platform/logger.ts';
import { readGatewayConfig } from '../gateway/config.ts';
import { openGatewayEdge } from '../gateway/edge/gatewayEdge.ts';
import { startGateway } from '../gateway/gateway.ts';
import { SUPERGRAPH_PATH } from '../gateway/supergraph/composeSupergraph.ts';
import { inventorySubgraph } from '../subgraphs/inventory/inventorySubgraph.ts';
import { ordersSubgraph } from '../subgraphs/orders/ordersSubgraph.ts';
import { reconciliationSubgraph } from '../subgraphs/reconciliation/reconciliationSubgraph.ts';

export interface SystemOptions {
  readonly infrastructure: Infrastructure;
  readonly host: string;
  /** Port per service; 0 picks a free one. */
  readonly ports: Readonly<Record<SubgraphName | 'gateway', number>>;
  readonly logger: Logger;
  /** Where the subgraphs read their own variables. */
  readonly env: Environment;
}

export interface RunningSystem {
  readonly gateway: RunningService;
  readonly subgraphs: Readonly<Record<SubgraphName, RunningService>>;
  stop(): Promise<void>;
}

/**
 * All four services in this process on one shared infrastructure: the embedded mode (PGlite
 * takes a single connection, so its users must share a process) and the in-process test rig.
 */
export async function startSystem({ infrastructure, host, ports, logger, env }: SystemOptions): Promise<RunningSystem> {
  // Orders calls inventory's internal API: in one process they share a token made up for the run
  // unless one is configured.
  const internal = { INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN || randomBytes(24).toString('hex') };
  // The gateway signs callers' identities for the subgraphs: in one process, with a secret made up for the run unless one is configured.
  const gatewayConfig = readGatewayConfig(env, { allowEmbedded: true });
  const identitySecret = gatewayConfig.identitySecret ?? randomBytes(32).toString('hex');
  // One process: every service answers /metrics and logs as the gateway's configuration says.
  const { observability } = gatewayConfig;
  const start = <Context extends BaseContext>(name: SubgraphName, define: (environment: SubgraphEnvironment) => SubgraphDefinition<Context>, subgraphEnv: Environment) => {
    const subgraphLogger = logger.child({ service: name });
    return startSubgraphServer(define({ infrastructure, env: subgraphEnv, logger: subgraphLogger }), {
      port: ports[name],
      host,
      logger: subgraphLogger,
      readinessChecks: infrastructure.readinessChecks,
      identitySecret,
      observability,
    });
  };
  const inventory = await start('inventory', inventorySubgraph, { ...env, ...internal });
  const subgraphs = {
    inventory,
    orders: await start('orders', ordersSubgraph, { ...env, ...internal, INVENTORY_API_URL: inventory.url }),
    reconciliation: await start('reconciliation', reconciliationSubgraph, env),
  };
  const gatewayLogger = logger.child({ service: 'gateway' });
  const gateway = await startGateway({
    host,
    port: ports.gateway,
    supergraphPath: SUPERGRAPH_PATH,
    bus: infrastructure.bus,
    edge: await openGatewayEdge(gatewayConfig.edge, { redis: infrastructure.redis, logger: gatewayLogger }),
    identitySecret,
    subscriptions: gatewayConfig.subscriptions,
    subgraphTimeoutMs: gatewayConfig.subgraphTimeoutMs,
    entityCache: gatewayConfig.entityCache,
    subgraphUrls: {
      inventory: `${subgraphs.inventory.url}/graphql`,
      orders: `${subgraphs.orders.url}/graphql`,
      reconciliation: `${subgraphs.reconciliation.url}/graphql`,
    },
    logger: gatewayLogger,
    observability,
  });
  return {
    gateway,
    subgraphs,
    stop: async () => {
      await gateway.stop();
      await Promise.all(Object.values(subgraphs).map((subgraph) => subgraph.stop()));
    },
  };
}
