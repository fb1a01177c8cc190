import { RedisEventBus } from '../platform/events/redisEventBus.ts';
import { createLogger } from '../platform/logger.ts';
import { connectRedis } from '../platform/redis.ts';
import { runService } from '../platform/runService.ts';
import { apiKeyAuthentication } from './authentication.ts';
import { readGatewayConfig } from './config.ts';
import { startGateway } from './gateway.ts';

runService(async (env) => {
  const config = readGatewayConfig(env);
  // Started alone, the gateway always has a REDIS_URL: readGatewayConfig requires it.
  const redis = connectRedis(config.redis!.url, config.redis!.keyPrefix);
  const bus = new RedisEventBus(redis);
  const gateway = await startGateway({
    host: config.host,
    port: config.port,
    supergraphPath: config.supergraphPath,
    subgraphUrls: config.subgraphUrls,
    bus,
    authenticate: apiKeyAuthentication(config.apiKeys),
    subscriptions: config.subscriptions,
    readinessChecks: [['redis', async () => void (await redis.ping())]],
    logger: createLogger(config.logLevel).child({ service: 'gateway' }),
  });
  return {
    stop: async () => {
      await gateway.stop();
      await bus.close();
      redis.disconnect();
    },
  };
});
