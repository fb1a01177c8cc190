import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readGatewayConfig } from '../gateway/config.ts';
import { SUPERGRAPH_PATH } from '../gateway/supergraph/composeSupergraph.ts';
import { routeSubgraphs } from '../gateway/supergraph/subgraphUrls.ts';
import type { Environment } from '../platform/config/environment.ts';
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { DEFAULT_PORTS, SUBGRAPH_NAMES } from '../platform/config/services.ts';
import { readSubgraphConfig } from '../platform/config/subgraphConfig.ts';
import { readInventoryConfig } from '../subgraphs/inventory/config.ts';
import { readOrdersConfig } from '../subgraphs/orders/config.ts';
import { readErpSyncConfig } from '../subgraphs/reconciliation/erpSync/erpSyncConfig.ts';
import { readReconciliationConfig } from '../subgraphs/reconciliation/reconciliationConfig.ts';

interface ComposeService {
  image?: string;
  command?: string[];
  volumes?: string[];
  configs?: { source: string; target: string }[];
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
  METRICS_TOKEN: 'deployment-metrics-token',
  GRAFANA_ADMIN_PASSWORD: 'deployment-grafana-password',
};
const compose = parse(composeText.replace(/\$\{(\w+):\?[^}]*\}/g, (_, name: string) => DEPLOYMENT_SECRETS[name] ?? `unset ${name}`), { merge: true }) as {
  services: Record<string, ComposeService>;
  configs: Record<string, { content: string }>;
};
const service = (name: string) => compose.services[name]!;

/** The environment, recording which variables the code asks for. */
function recording(env: Record<string, string>): { env: Environment; read: Set<string> } {
  const read = new Set<string>();
  return { read, env: new Proxy(env, { get: (target, name: string) => (read.add(name), target[name]) }) };
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL, Redis, a one-off migration, the three subgraphs, the gateway, the ERP simulator, Prometheus and Grafana', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['erp-simulator', 'gateway', 'grafana', 'inventory', 'migrate', 'orders', 'postgres', 'prometheus', 'reconciliation', 'redis']);
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
    const { urls } = routeSubgraphs(readFileSync(SUPERGRAPH_PATH, 'utf8'), config.subgraphUrls);
    for (const name of SUBGRAPH_NAMES) {
      const url = new URL(urls.get(name)!);
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

  it('takes every password and secret from the environment, with no default in the file, and publishes only the gateway, the WMS endpoints, Grafana and (on loopback) Prometheus', () => {
    for (const name of Object.keys(DEPLOYMENT_SECRETS)) assert.match(composeText, new RegExp(`\\$\\{${name}:\\?`), `${name} must be set for docker compose up`);
    assert.doesNotMatch(composeText, /postgres:postgres@|POSTGRES_PASSWORD: postgres/, 'no default database password');
    const published = Object.entries(compose.services).filter(([, definition]) => definition.ports).map(([name]) => name).sort();
    assert.deepEqual(published, ['gateway', 'grafana', 'inventory', 'prometheus']);
    assert.deepEqual(service('prometheus').ports, ['127.0.0.1:9090:9090'], 'Prometheus has no login: reachable from this machine only');
    for (const name of ['gateway', ...SUBGRAPH_NAMES]) {
      assert.equal(service(name).environment?.GATEWAY_IDENTITY_SECRET, DEPLOYMENT_SECRETS.GATEWAY_IDENTITY_SECRET, `${name} shares the identity secret`);
      assert.equal(service(name).environment?.METRICS_TOKEN, DEPLOYMENT_SECRETS.METRICS_TOKEN, `${name} guards /metrics with the metrics token`);
    }
  });

  it('has Prometheus scrape /metrics of the gateway and each subgraph on their ports, with the metrics token the services check', () => {
    const prometheus = service('prometheus');
    const configPath = prometheus.command!.find((argument) => argument.startsWith('--config.file='))!.split('=')[1]!;
    const mounted = prometheus.volumes!.find((volume) => volume.split(':')[1] === configPath)!.split(':')[0]!;
    const scrape = parse(readFileSync(new URL(`../${mounted}`, import.meta.url), 'utf8')) as {
      scrape_configs: { metrics_path: string; authorization: { type: string; credentials_file: string }; static_configs: { targets: string[] }[] }[];
    };
    const [job] = scrape.scrape_configs;
    const targets = job!.static_configs.flatMap((config) => config.targets).sort();
    const ports = { gateway: readGatewayConfig(service('gateway').environment ?? {}).port, ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, readSubgraphConfig(name, service(name).environment ?? {}, { allowEmbedded: false }).port])) };

    assert.deepEqual(targets, Object.entries(ports).map(([name, port]) => `${name}:${port}`).sort());
    assert.equal(job!.metrics_path, '/metrics');
    assert.equal(job!.authorization.type, 'Bearer');
    const token = prometheus.configs!.find((config) => config.target === job!.authorization.credentials_file)!;
    assert.equal(compose.configs[token.source]!.content, DEPLOYMENT_SECRETS.METRICS_TOKEN);
    assert.match(prometheus.image!, /^prom\/prometheus:v\d+\.\d+\.\d+$/, 'pinned by version');
  });

  it('provisions Grafana with that Prometheus and the Stockgraph dashboard, behind an admin password from the environment', () => {
    const grafana = service('grafana');
    const mountOf = (target: string) => grafana.volumes!.find((volume) => volume.split(':')[1] === target)!.split(':')[0]!;
    const provisioning = mountOf('/etc/grafana/provisioning');
    const datasources = parse(readFileSync(new URL(`../${provisioning}/datasources/prometheus.yml`, import.meta.url), 'utf8')) as { datasources: { uid: string; url: string }[] };
    const providers = parse(readFileSync(new URL(`../${provisioning}/dashboards/stockgraph.yml`, import.meta.url), 'utf8')) as { providers: { options: { path: string } }[] };
    const dashboards = mountOf(providers.providers[0]!.options.path);
    const dashboard = JSON.parse(readFileSync(new URL(`../${dashboards}/stockgraph.json`, import.meta.url), 'utf8')) as { panels: { datasource: { uid: string } }[] };

    assert.equal(new URL(datasources.datasources[0]!.url).host, `prometheus:${service('prometheus').ports![0]!.split(':').at(-1)}`);
    assert.ok(dashboard.panels.every((panel) => panel.datasource.uid === datasources.datasources[0]!.uid), 'every panel reads the provisioned datasource');
    assert.equal(grafana.environment!.GF_SECURITY_ADMIN_PASSWORD, DEPLOYMENT_SECRETS.GRAFANA_ADMIN_PASSWORD);
    assert.deepEqual(grafana.ports, ['3000:3000']);
    assert.match(grafana.image!, /^grafana\/grafana:\d+\.\d+\.\d+$/, 'pinned by version');
  });

  it('migrates the database the services use', () => {
    const migrate = readRuntimeConfig(service('migrate').environment ?? {}, { allowEmbedded: true }).database;
    const inventory = readSubgraphConfig('inventory', service('inventory').environment ?? {}, { allowEmbedded: false }).database;
    assert.deepEqual(migrate, inventory);
  });
});
