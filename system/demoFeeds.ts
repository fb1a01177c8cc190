import { randomBytes } from 'node:crypto';
import type { Environment } from '../platform/config/environment.ts';

/** The WMS sources whose example mappings ship with inventory. */
const EXAMPLE_SOURCES = ['acme-wms', 'northwind-3pl'];

export interface DemoFeedSecrets {
  /** The variables to start the services with: those configured, and the ones made up. */
  readonly env: Environment;
  /** The signing secret made up for every example WMS source; null when WMS_SOURCE_SECRETS was set. */
  readonly wmsSecret: string | null;
  /** The ERP upload token made up; null when ERP_IMPORT_TOKEN was set. */
  readonly erpImportToken: string | null;
}

/**
 * The embedded demo's means of feeding stock in, so that the README's signed WMS post and CSV
 * upload work as pasted: a WMS signing secret (for both example sources) and an ERP upload token,
 * made up at each start unless configured, like the demo client's key.
 */
export function demoFeedSecrets(env: Environment): DemoFeedSecrets {
  const wmsSecret = env.WMS_SOURCE_SECRETS ? null : randomBytes(18).toString('base64url');
  const erpImportToken = env.ERP_IMPORT_TOKEN ? null : randomBytes(18).toString('base64url');
  return {
    env: {
      ...env,
      ...(wmsSecret && { WMS_SOURCE_SECRETS: EXAMPLE_SOURCES.map((source) => `${source}=${wmsSecret}`).join(',') }),
      ...(erpImportToken && { ERP_IMPORT_TOKEN: erpImportToken }),
    },
    wmsSecret,
    erpImportToken,
  };
}
