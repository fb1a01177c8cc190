import { readFileSync } from 'node:fs';
import { createLogger } from '../platform/logger.ts';
import { runService } from '../platform/runService.ts';
import { readGatewayConfig } from './config.ts';
import { startGateway } from './gateway.ts';

runService(async (env) => {
  const config = readGatewayConfig(env);
  return startGateway({
    host: config.host,
    port: config.port,
    supergraphSdl: readFileSync(config.supergraphPath, 'utf8'),
    subgraphUrls: config.subgraphUrls,
    logger: createLogger(config.logLevel).child({ service: 'gateway' }),
  });
});
