import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readGatewayConfig } from '../gateway/config.ts';
import type { Environment } from '../platform/config/environment.ts';
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { DEFAULT_PORTS, SUBGRAPH_NAMES } from '../platform/config/services.ts';
import { readSubgraphConfig } from '../platform/config/subgraphConfig.ts';
import { readInventoryConfig } from '../subgraphs/inventory/config.ts';
import { readOrdersConfig } from '../subgraphs/orders/config.ts';
import { readErpSyncConfig } from '../subgraphs/reconciliation/erpSync/erpSyncConfig.ts';
import { readReconciliationConfig } from '../subgraphs/reconciliation/reconciliationConfig.ts';

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const composeText = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
/** The values `docker compose up` would take from the environment (`${NAME:?...}`), as a deployment sets them. */
const DEPLOYMENT_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'deployment-postgres-password',
  GATEWAY_IDENTITY_SECRET: 'deployment-identity-secret',
  INTERNAL_API_TOKEN: 'deployment-internal-token',
};
const compose = parse(composeText.replace(/\$\{(\w+):\?[^}]*\}/g, (_, name: string) => DEPLOYMENT_SECRETS[name] ?? `unset ${name}`), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const service = (name: string) => compose.services[name]!;

/** The environment, recording which variables the code asks for. */
function recording(env: Record<string, string>): { env: Environment; read: Set<string> } {
  const read = new Set<string>();
  return { read, env: new Proxy(env, { get: (target, name: string) => (read.add(name), target[name]) }) };
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL, Redis, a one-off migration, the three subgraphs, the gateway and the ERP simulator', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['erp-simulator', 'gateway', 'inventory', 'migrate', 'orders', 'postgres', 'reconciliation', 'redis']);
    for (const name of ['postgres', 'redis']) assert.ok(service(name).healthcheck, `${name} has a health check`);
    assert.deepEqual(service('migrate').command, ['npm', 'run', 'db:migrate']);
  });

  // What each subgraph reads besides the variables every subgraph reads.
  const ownConfig: Record<(typeof SUBGRAPH_NAMES)[number], (env: Environment) => unknown> = {
    inventory: readInventoryConfig,
    orders: readOrdersConfig,
    reconciliation: (env) => [readReconciliationConfig(env), readErpSyncConfig(env)],
  };

  for (const name of SUBGRAPH_NAMES) {
    it(`gives the ${name} subgraph exactly the variables its configuration reads, on its usual port`, () => {
      const { env, read } = recording(service(name).environment ?? {});
      const config = readSubgraphConfig(name, env, { allowEmbedded: false });
      ownConfig[name](env);

      assert.deepEqual(Object.keys(service(name).environment ?? {}).filter((variable) => !read.has(variable)), [], 'unread variables');
      assert.equal(config.port, DEFAULT_PORTS[name]);
      assert.equal(config.host, '0.0.0.0');
      assert.equal(config.database.kind === 'postgres' && new URL(config.database.url).hostname, 'postgres');
      assert.equal(config.eventBus.kind === 'redis' && new URL(config.eventBus.url).hostname, 'redis');
      assert.deepEqual(service(name).ports, name === 'inventory' ? [`${config.port}:${config.port}`] : undefined, 'only inventory (for the WMS event endpoints) is published');
      assert.deepEqual(service(name).command, ['npm', 'run', `start:${name}`]);
      assert.match(service(name).healthcheck!.test.join(' '), new RegExp(`http://127\\.0\\.0\\.1:${config.port}/readyz`));
      assert.deepEqual(Object.keys(service(name).depends_on ?? {}).sort(), ['migrate', 'postgres', 'redis']);
    });
  }

  it('points the gateway at each subgraph by service name and port, and waits for them', () => {
    const { env, read } = recording(service('gateway').environment ?? {});
    const config = readGatewayConfig(env);

    assert.deepEqual(Object.keys(service('gateway').environment ?? {}).filter((variable) => !read.has(variable)), [], 'unread variables');
    for (const name of SUBGRAPH_NAMES) {
      const url = new URL(config.subgraphUrls[name]);
      const subgraphPort = readSubgraphConfig(name, service(name).environment ?? {}, { allowEmbedded: false }).port;
      assert.equal(url.hostname, name);
      assert.equal(Number(url.port), subgraphPort);
      assert.equal(service('gateway').depends_on?.[name]?.condition, 'service_healthy');
    }
    assert.deepEqual(service('gateway').ports, [`${config.port}:${config.port}`]);
    assert.match(service('gateway').healthcheck!.test.join(' '), new RegExp(`http://127\\.0\\.0\\.1:${config.port}/readyz`));
  });

  it('lets orders reach inventory by service name, both holding the same internal token', () => {
    const inventory = readInventoryConfig(service('inventory').environment ?? {});
    const orders = readOrdersConfig(service('orders').environment ?? {});
    assert.equal(new URL(orders.inventoryApiUrl).host, `inventory:${DEFAULT_PORTS.inventory}`);
    assert.equal(orders.internalApiToken, inventory.internalApiToken);
    assert.equal(orders.internalApiToken, DEPLOYMENT_SECRETS.INTERNAL_API_TOKEN, 'taken from the environment docker compose runs in, never a default');
  });

  it('points inventory and the reconciliation sync connector at one ERP, the shipped simulator', () => {
    const inventory = readInventoryConfig(service('inventory').environment ?? {});
    const sync = readErpSyncConfig(service('reconciliation').environment ?? {});
    const simulator = service('erp-simulator');
    assert.deepEqual(simulator.command, ['npm', 'run', 'erp-simulator']);
    assert.equal(simulator.ports, undefined, 'its admin endpoints take no credentials: reachable on the compose network only');
    assert.equal(service('inventory').environment!.ERP_BASE_URL, service('reconciliation').environment!.ERP_BASE_URL);
    assert.equal(service('inventory').environment!.ERP_ORGANIZATIONS, service('reconciliation').environment!.ERP_ORGANIZATIONS);
    assert.equal(inventory.erpPull?.baseUrl, `http://erp-simulator:${simulator.environment!.ERP_SIMULATOR_PORT}`);
    assert.equal(sync.erp?.baseUrl, inventory.erpPull?.baseUrl);
    assert.deepEqual([...sync.erp!.locationOrganizations].sort(), Object.entries(inventory.erpPull!.organizationLocations).map(([organization, location]) => [location, organization]).sort());
  });

  it('takes every password and secret from the environment, with no default in the file, and publishes only the gateway and the WMS endpoints', () => {
    for (const name of Object.keys(DEPLOYMENT_SECRETS)) assert.match(composeText, new RegExp(`\\$\\{${name}:\\?`), `${name} must be set for docker compose up`);
    assert.doesNotMatch(composeText, /postgres:postgres@|POSTGRES_PASSWORD: postgres/, 'no default database password');
    const published = Object.entries(compose.services).filter(([, definition]) => definition.ports).map(([name]) => name).sort();
    assert.deepEqual(published, ['gateway', 'inventory']);
    for (const name of ['gateway', ...SUBGRAPH_NAMES]) assert.equal(service(name).environment?.GATEWAY_IDENTITY_SECRET, DEPLOYMENT_SECRETS.GATEWAY_IDENTITY_SECRET, `${name} shares the identity secret`);
  });

  it('migrates the database the services use', () => {
    const migrate = readRuntimeConfig(service('migrate').environment ?? {}, { allowEmbedded: true }).database;
    const inventory = readSubgraphConfig('inventory', service('inventory').environment ?? {}, { allowEmbedded: false }).database;
    assert.deepEqual(migrate, inventory);
  });
});
