import { ConfigurationError } from '../../platform/config/environment.ts';
import { runService } from '../../platform/runService.ts';
import { readBalancesFile, readErpSimulatorConfig } from './erpSimulatorConfig.ts';
import { startErpSimulator } from './erpSimulator.ts';

runService(async (env) => {
  const config = readErpSimulatorConfig(env);
  const balances = config.balancesPath === null ? [] : await readBalancesFile(config.balancesPath);
  const simulator = await startErpSimulator({ host: config.host, port: config.port, balances, keepRequests: false, ...config.auth }).catch((error: NodeJS.ErrnoException) => {
    // An address that cannot be taken is a setting to change, so it gets one line like a bad value.
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES') {
      throw new ConfigurationError('ERP_SIMULATOR_PORT', `${config.port} cannot be listened on at ${config.host} (${error.code})`);
    }
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
      throw new ConfigurationError('ERP_SIMULATOR_HOST', `${config.host} is not an address of this machine (${error.code})`);
    }
    throw error;
  });
  console.log(`ERP simulator listening on ${simulator.baseUrl} (admin: ${simulator.adminUrl})`);
  return simulator;
});
