import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigurationError, readEnvironment, variable, type Environment } from '../../platform/config/environment.ts';
import { readBalances, type OnhandBalance } from './balanceBook.ts';

export interface ErpSimulatorConfig {
  readonly host: string;
  readonly port: number;
  /** A JSON file of the balances to start with (see readBalances for its shape); null to start with none. */
  readonly balancesPath: string | null;
  /** The HTTP Basic credentials ERP requests must carry; null to let every request in. */
  readonly auth: { readonly username: string; readonly password: string } | null;
}

/** Reads ERP_SIMULATOR_HOST, ERP_SIMULATOR_PORT, ERP_SIMULATOR_BALANCES, ERP_USERNAME and ERP_PASSWORD (the inventory service's names for the same credentials). */
export function readErpSimulatorConfig(env: Environment): ErpSimulatorConfig {
  const values = readEnvironment(
    {
      ERP_SIMULATOR_HOST: variable.text('127.0.0.1'),
      ERP_SIMULATOR_PORT: variable.port(4010),
      ERP_SIMULATOR_BALANCES: z.string().optional(),
      ERP_USERNAME: z.string().optional(),
      ERP_PASSWORD: z.string().optional(),
    },
    env,
  );
  const { ERP_USERNAME: username, ERP_PASSWORD: password } = values;
  if (username === undefined && password !== undefined) throw new ConfigurationError('ERP_USERNAME', 'is required when ERP_PASSWORD is set');
  if (username !== undefined && password === undefined) throw new ConfigurationError('ERP_PASSWORD', 'is required when ERP_USERNAME is set');
  return Object.freeze({
    host: values.ERP_SIMULATOR_HOST,
    port: values.ERP_SIMULATOR_PORT,
    balancesPath: values.ERP_SIMULATOR_BALANCES ?? null,
    auth: username === undefined ? null : { username, password: password! },
  });
}

/** The balances in the ERP_SIMULATOR_BALANCES file; a ConfigurationError when it cannot be read or holds bad balances. */
export async function readBalancesFile(path: string): Promise<OnhandBalance[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError('ERP_SIMULATOR_BALANCES', `names a file that cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError('ERP_SIMULATOR_BALANCES', `names a file that is not JSON (${path}: ${(error as Error).message})`);
  }
  const balances = readBalances(json);
  if (typeof balances === 'string') throw new ConfigurationError('ERP_SIMULATOR_BALANCES', `names a file of bad balances (${path}): ${balances}`);
  return balances;
}
