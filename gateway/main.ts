import { setFlagsFromString } from 'node:v8';
import { openEventBus } from '../platform/infrastructure.ts';
import { createLogger } from '../platform/logger.ts';
import { readTracingConfig, startTracing } from '../platform/observability/tracing.ts';
import { runService } from '../platform/runService.ts';
import { readGatewayConfig } from './config.ts';
import { openGatewayEdge } from './edge/gatewayEdge.ts';
import { startGateway } from './gateway.ts';

// V8 lets the old generation grow to about 1.3 times what survived the last full collection. The
// gateway's survivors are some 55 MB of code, source and schema that never die, so it was always
// close to that limit and ran a full collection, mostly in steps on the request thread, every few
// requests: 27 of its 38 ms of CPU per 1,000-SKU availability answer, measured side by side.
// Twice the survivors leaves room for what requests allocate. V8 reads the factor at every
// collection, so setting it here, after start-up, takes effect.
setFlagsFromString('--heap-growing-percent=100');

runService(async (env) => {
  const config = readGatewayConfig(env);
  const tracing = startTracing(readTracingConfig(env), { defaultServiceName: 'stockgraph-gateway' });
  const logger = createLogger(config.logLevel).child({ service: 'gateway' });
  // Started alone, the gateway always has a REDIS_URL and an identity secret: readGatewayConfig requires them.
  const events = openEventBus({ kind: 'redis', ...config.redis! });
  const edge = await openGatewayEdge(config.edge, { redis: events.redis, logger });
  const gateway = await startGateway({
    host: config.host,
    port: config.port,
    supergraphPath: config.supergraphPath,
    subgraphUrls: config.subgraphUrls,
    bus: events.bus,
    edge,
    identitySecret: config.identitySecret!,
    subscriptions: config.subscriptions,
    subgraphTimeoutMs: config.subgraphTimeoutMs,
    entityCache: config.entityCache,
    readinessChecks: events.readinessChecks,
    logger,
    observability: config.observability,
  });
  return {
    stop: async () => {
      await gateway.stop();
      await events.close();
      await tracing.shutdown();
    },
  };
});
