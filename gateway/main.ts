import { openEventBus } from '../platform/infrastructure.ts';
import { createLogger } from '../platform/logger.ts';
import { runService } from '../platform/runService.ts';
import { apiKeyAuthentication } from './authentication.ts';
import { readGatewayConfig } from './config.ts';
import { startGateway } from './gateway.ts';

runService(async (env) => {
  const config = readGatewayConfig(env);
  // Started alone, the gateway always has a REDIS_URL: readGatewayConfig requires it.
  const events = openEventBus({ kind: 'redis', ...config.redis! });
  const gateway = await startGateway({
    host: config.host,
    port: config.port,
    supergraphPath: config.supergraphPath,
    subgraphUrls: config.subgraphUrls,
    bus: events.bus,
    authenticate: apiKeyAuthentication(config.apiKeys),
    subscriptions: config.subscriptions,
    readinessChecks: events.readinessChecks,
    logger: createLogger(config.logLevel).child({ service: 'gateway' }),
  });
  return {
    stop: async () => {
      await gateway.stop();
      await events.close();
    },
  };
});
