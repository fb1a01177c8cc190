import type { BaseContext } from '@apollo/server';
import { readSubgraphConfig } from './config/subgraphConfig.ts';
import type { SubgraphName } from './config/services.ts';
import { startSubgraphServer, type SubgraphDefinition, type SubgraphEnvironment } from './graphql/subgraphServer.ts';
import { openInfrastructure } from './infrastructure.ts';
import { createLogger } from './logger.ts';
import { readTracingConfig, startTracing } from './observability/tracing.ts';
import { runService } from './runService.ts';

/**
 * The production shape of a subgraph: a process of its own on PostgreSQL and Redis
 * (DATABASE_URL, REDIS_URL and GATEWAY_IDENTITY_SECRET are required).
 */
export function startStandaloneSubgraph<Context extends BaseContext>(
  name: SubgraphName,
  define: (environment: SubgraphEnvironment) => SubgraphDefinition<Context>,
): void {
  runService(async (env) => {
    const config = readSubgraphConfig(name, env, { allowEmbedded: false });
    const tracing = startTracing(readTracingConfig(env), { defaultServiceName: `stockgraph-${name}` });
    const logger = createLogger(config.logLevel).child({ service: name });
    const infrastructure = await openInfrastructure(config);
    const server = await startSubgraphServer(define({ infrastructure, env, logger }), {
      port: config.port,
      host: config.host,
      logger,
      readinessChecks: infrastructure.readinessChecks,
      // Required when the subgraph runs alone (readSubgraphConfig refuses to start without it).
      identitySecret: config.identitySecret!,
      observability: config.observability,
    });
    return {
      stop: async () => {
        await server.stop();
        await infrastructure.close();
        await tracing.shutdown();
      },
    };
  });
}
