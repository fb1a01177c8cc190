import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { RunningSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { parsePrometheusText, scrapeMetrics, type Scrape } from '../support/prometheusText.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

const METRICS_TOKEN = randomBytes(24).toString('hex');
const LIMITED = { ...OPERATOR, name: 'limited', limits: { ...OPERATOR.limits!, requestsPerSecond: 1, burst: 1 } };
const SERVICES = ['gateway', 'inventory', 'orders', 'reconciliation'] as const;
type Service = (typeof SERVICES)[number];

/** An access-log line as the services write it. */
interface AccessLine {
  readonly service: string;
  readonly msg: string;
  readonly method: string;
  readonly path: string;
  readonly operation: string | null;
  readonly operationType: string | null;
  readonly client: string;
  readonly status: number;
  readonly durationMs: number;
  readonly correlationId: string | null;
  readonly errorCodes: readonly string[];
}

describe('metrics and the access log of the running system', () => {
  let running: TestSystem;
  let system: RunningSystem;
  let clients: TestSystem['clients'];
  const cleanup = useCleanup();
  const logLines: Record<string, unknown>[] = [];
  const accessLines = () => logLines.filter((line) => line.msg === 'request') as unknown as AccessLine[];

  const urlOf = (service: Service) => (service === 'gateway' ? system.gateway.url : system.subgraphs[service].url);
  const scrape = (service: Service) => scrapeMetrics(urlOf(service), METRICS_TOKEN);
  const asOperator = <Data = any>(query: string, variables: Record<string, unknown> = {}) => graphql<Data>(system.gateway.url, query, variables, clients.headers());
  /** How much each counter named in `read` moved while `act` ran. */
  const moved = async (service: Service, act: () => Promise<unknown>, read: (scrape: Scrape) => number): Promise<number> => {
    const before = read(await scrape(service));
    await act();
    return read(await scrape(service)) - before;
  };

  before(async () => {
    // A real pino logger, writing to the test instead of stdout.
    const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    running = await startTestSystem('observability', { logger, clients: [OPERATOR, LIMITED], env: { METRICS_TOKEN, WMS_SOURCE_SECRETS: 'acme-wms=test-secret' } });
    ({ system, clients } = running);
  });

  after(() => running?.stop());

  it('answers /metrics on every service only to the METRICS_TOKEN, in the Prometheus text format with a service label', async () => {
    for (const service of SERVICES) {
      const anonymous = await fetch(`${urlOf(service)}/metrics`);
      const wrong = await fetch(`${urlOf(service)}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token' } });

      assert.equal(anonymous.status, 401, service);
      assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
      assert.equal(wrong.status, 401, service);
      await wrong.body?.cancel();
      const scraped = await scrape(service);
      assert.ok(scraped.sum('process_cpu_user_seconds_total', { service }) > 0, `${service} reports its process metrics under its own service label`);
      assert.deepEqual(scraped.labelValues('process_cpu_user_seconds_total', 'service'), new Set([service]));
    }
  });

  it('counts a query at the gateway by operation and client, its subgraph fetch (the single-fetch fast path), and the fetch in the subgraph', async () => {
    const gatewayBefore = await scrape('gateway');
    const inventoryBefore = await scrape('inventory');

    const { errors } = await asOperator('query ItemSku { item(sku: "SKU-00001") { sku description } }');

    assert.equal(errors, undefined);
    const gatewayAfter = await scrape('gateway');
    const inventoryAfter = await scrape('inventory');
    const delta = (after: Scrape, before: Scrape, name: string, labels: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
    const labels = { path: '/graphql', operation: 'ItemSku', operation_type: 'query', client: 'operator', status: '200' };
    assert.equal(delta(gatewayAfter, gatewayBefore, 'stockgraph_http_requests_total', labels), 1);
    assert.equal(delta(gatewayAfter, gatewayBefore, 'stockgraph_http_request_duration_seconds_count', labels), 1);
    assert.equal(delta(gatewayAfter, gatewayBefore, 'stockgraph_subgraph_fetches_total', { subgraph: 'inventory', outcome: 'ok' }), 1);
    assert.equal(delta(gatewayAfter, gatewayBefore, 'stockgraph_subgraph_fetch_duration_seconds_count', { subgraph: 'inventory', outcome: 'ok' }), 1);
    assert.equal(delta(gatewayAfter, gatewayBefore, 'stockgraph_subgraph_fetches_total', { subgraph: 'orders' }), 0);
    // The subgraph sees the gateway's fetch, named by the gateway after the client's operation, for the caller the gateway vouched for.
    assert.equal(delta(inventoryAfter, inventoryBefore, 'stockgraph_http_requests_total', { path: '/graphql', operation_type: 'query', client: 'operator', status: '200' }), 1);
    assert.ok(inventoryAfter.labelValues('stockgraph_http_requests_total', 'operation').has('ItemSku__inventory__0'));
  });

  it('counts the fetches of a query plan over two subgraphs, as it counts the single-fetch fast path', async () => {
    const fetches = async () => {
      const scraped = await scrape('gateway');
      return { inventory: scraped.sum('stockgraph_subgraph_fetches_total', { subgraph: 'inventory', outcome: 'ok' }), orders: scraped.sum('stockgraph_subgraph_fetches_total', { subgraph: 'orders', outcome: 'ok' }) };
    };
    const before = await fetches();

    const { errors } = await asOperator('query ItemOrders { item(sku: "SKU-00001") { sku openOrders { id } } }');

    assert.equal(errors, undefined);
    const after = await fetches();
    assert.deepEqual({ inventory: after.inventory - before.inventory, orders: after.orders - before.orders }, { inventory: 1, orders: 1 });
  });

  it('counts reservation outcomes and the error codes a mutation is answered with', async () => {
    const reserve = (quantity: number, key: string) => asOperator(
      'mutation Reserve($input: CreateReservationInput!) { createReservation(input: $input) { id } }',
      { input: { sku: 'SKU-00001', locationId: 'DC-01', quantity, channel: 'WEB', reference: 'cart-metrics', idempotencyKey: key } },
    );
    const inventoryBefore = await scrape('inventory');
    const gatewayBefore = await scrape('gateway');

    const reserved = await reserve(1, `metrics-${randomBytes(4).toString('hex')}`);
    const refused = await reserve(1_000_000, `metrics-${randomBytes(4).toString('hex')}`);

    assert.equal(reserved.errors, undefined);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'INSUFFICIENT_STOCK');
    const inventoryAfter = await scrape('inventory');
    const gatewayAfter = await scrape('gateway');
    const outcome = (scrape: Scrape, outcome: string) => scrape.sum('stockgraph_reservation_outcomes_total', { action: 'create', outcome });
    assert.equal(outcome(inventoryAfter, 'OK') - outcome(inventoryBefore, 'OK'), 1);
    assert.equal(outcome(inventoryAfter, 'INSUFFICIENT_STOCK') - outcome(inventoryBefore, 'INSUFFICIENT_STOCK'), 1);
    const errors = (scrape: Scrape) => scrape.sum('stockgraph_graphql_errors_total', { operation: 'Reserve', code: 'INSUFFICIENT_STOCK' });
    assert.equal(errors(gatewayAfter) - errors(gatewayBefore), 1);
    assert.equal(gatewayAfter.sum('stockgraph_http_requests_total', { operation: 'Reserve', operation_type: 'mutation', client: 'operator' }) - gatewayBefore.sum('stockgraph_http_requests_total', { operation: 'Reserve', operation_type: 'mutation', client: 'operator' }), 2);
  });

  it('sees requests refused at the edge: a bad key as anonymous with UNAUTHENTICATED, a rate-limited client by name', async () => {
    const unauthenticated = await moved('gateway', async () => {
      const refused = await graphql(system.gateway.url, 'query Sneaky { __typename }', {}, { authorization: 'Bearer sg_not-a-key' });
      assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }, (scrape) => scrape.sum('stockgraph_http_requests_total', { operation: 'none', client: 'anonymous', status: '401' }));
    assert.equal(unauthenticated, 1);

    let refusals = 0;
    const limited = await moved('gateway', async () => {
      for (let request = 0; request < 4; request++) {
        const { errors } = await graphql(system.gateway.url, '{ __typename }', {}, clients.headers('limited'));
        if (errors?.[0]?.extensions?.code === 'RATE_LIMITED') refusals += 1;
      }
    }, (scrape) => scrape.sum('stockgraph_rate_limit_refusals_total', { client: 'limited', transport: 'http' }));
    assert.ok(refusals >= 2, 'a client allowed one request a second is refused within four quick ones');
    assert.equal(limited, refusals);
    const codes = (await scrape('gateway')).sum('stockgraph_graphql_errors_total', { operation: 'none', code: 'RATE_LIMITED' });
    assert.equal(codes, refusals);
  });

  it('counts signed WMS events by source and outcome: applied, duplicate and dead-lettered', async () => {
    const receipt = acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00001', site: 'ATL1', qty: 4 });
    const outcome = (scrape: Scrape, outcome: string) => scrape.sum('stockgraph_warehouse_events_total', { source: 'acme-wms', outcome });
    const before = await scrape('inventory');

    assert.equal((await postEvents(system.subgraphs.inventory.url, 'acme-wms', [receipt])).status, 200);
    assert.equal((await postEvents(system.subgraphs.inventory.url, 'acme-wms', [receipt, acmeEvent({ item_code: 'ACME-99999' })])).status, 200);

    const after = await scrape('inventory');
    assert.equal(outcome(after, 'APPLIED') - outcome(before, 'APPLIED'), 1);
    assert.equal(outcome(after, 'DUPLICATE') - outcome(before, 'DUPLICATE'), 1);
    assert.equal(outcome(after, 'DEAD_LETTERED') - outcome(before, 'DEAD_LETTERED'), 1);
    // The posts themselves are requests of the inventory service, by an unauthenticated (signed, not gateway-vouched) caller.
    assert.equal(after.sum('stockgraph_http_requests_total', { path: '/events/acme-wms', client: 'anonymous', status: '200' }) - before.sum('stockgraph_http_requests_total', { path: '/events/acme-wms', client: 'anonymous', status: '200' }), 2);
  });

  it('reports outbox lag per producer and the ERP sync backlog, read at scrape time', async () => {
    // The receipt above is an inventory transaction: with no ERP configured, its sync row stays PENDING_SYNC.
    await eventually(async () => (await scrape('reconciliation')).sum('stockgraph_erp_sync_backlog', { status: 'PENDING_SYNC' }), (pending) => pending >= 1, { what: 'a pending ERP sync transaction' });
    const reconciliation = await scrape('reconciliation');
    assert.ok(reconciliation.sum('stockgraph_erp_sync_oldest_pending_age_seconds') >= 0);
    assert.equal(reconciliation.sum('stockgraph_erp_sync_backlog', { status: 'SYNC_FAILED' }), 0);
    for (const service of ['inventory', 'orders', 'reconciliation'] as const) {
      const scraped = await scrape(service);
      assert.deepEqual(scraped.labelValues('stockgraph_outbox_pending_events', 'producer'), new Set([service]));
      assert.ok(scraped.declared.has('stockgraph_outbox_oldest_pending_age_seconds'));
      assert.equal(scraped.sum('stockgraph_metric_read_failures_total'), 0);
    }
  });

  it('reports a reconciliation run it carried out: its outcome, duration and accuracy', async () => {
    const { errors } = await asOperator('mutation { startReconciliation(input: { locationIds: ["DC-01"] }) { id } }');

    assert.equal(errors, undefined);
    await eventually(async () => (await scrape('reconciliation')).sum('stockgraph_reconciliation_runs_total', { outcome: 'COMPLETED' }), (runs) => runs === 1, { what: 'a completed run' });
    const scraped = await scrape('reconciliation');
    assert.equal(scraped.sum('stockgraph_reconciliation_run_duration_seconds_count', { outcome: 'COMPLETED' }), 1);
    const accuracy = scraped.sum('stockgraph_reconciliation_accuracy_ratio');
    assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
  });

  it('counts active subscriptions and what they deliver', async () => {
    const socket = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers() });
    cleanup(() => socket.dispose());
    const delivered = new Promise<string>((resolve, reject) => {
      socket.subscribe<{ stockChanged: { sku: string } }>({ query: 'subscription { stockChanged(skus: ["SKU-00005"]) { sku } }' }, {
        next: ({ data }) => data && resolve(data.stockChanged.sku),
        error: reject,
        complete: () => {},
      });
    });
    const sent = (scrape: Scrape) => scrape.sum('stockgraph_subscription_deliveries_total', { stream: 'stockgraph:stock-changes', outcome: 'sent' });
    await eventually(async () => (await scrape('gateway')).sum('stockgraph_active_subscriptions'), (active) => active === 1, { what: 'one active subscription' });
    const before = await scrape('gateway');

    await postEvents(system.subgraphs.inventory.url, 'acme-wms', [acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00005', site: 'ATL1', qty: 2 })]);

    assert.equal(await delivered, 'SKU-00005');
    assert.equal(sent(await scrape('gateway')) - sent(before), 1);
    await socket.dispose();
    await eventually(async () => (await scrape('gateway')).sum('stockgraph_active_subscriptions'), (active) => active === 0, { what: 'no active subscription' });
  });

  it('keeps operation and client labels bounded under many random operation names and keys', async () => {
    const random = () => randomBytes(6).toString('hex');
    for (let request = 0; request < 120; request++) {
      await asOperator(`query Random_${random()} { __typename }`);
      await graphql(system.gateway.url, `query Broken_${random()} { __typename`, {}, { authorization: `Bearer sg_${random()}` });
    }

    const scraped = await scrape('gateway');
    const operations = scraped.labelValues('stockgraph_http_requests_total', 'operation');
    assert.ok(operations.size <= 51, `${operations.size} operation label values`);
    assert.ok(operations.has('other'));
    assert.ok(![...operations].some((name) => name.startsWith('Broken_')), 'an operation name is taken only from a parsed, valid document');
    assert.ok(scraped.sum('stockgraph_http_requests_total', { operation: 'other', client: 'operator' }) >= 120 - 50);
    assert.ok(!scraped.labelValues('stockgraph_http_requests_total', 'client').has('sg_'), 'a bad key never becomes a client label');
    assert.deepEqual([...scraped.labelValues('stockgraph_http_requests_total', 'client')].sort(), ['anonymous', 'limited', 'operator']);
  });

  it('writes one access-log line per request, a 401 and a success among them, with its fields and no credential', async () => {
    const correlationId = `metrics-test-${random()}`;
    const deniedId = `metrics-test-denied-${random()}`;
    await graphql(system.gateway.url, 'query Denied { __typename }', {}, { authorization: 'Bearer sg_wrong-key-for-the-log', 'x-request-id': deniedId });
    await graphql(system.gateway.url, 'query Allowed { item(sku: "SKU-00002") { sku } }', { unused: 'secret-variable-value' }, { ...clients.headers(), 'x-correlation-id': correlationId });

    const gatewayLines = accessLines().filter((line) => line.service === 'gateway');
    const denied = gatewayLines.find((line) => line.correlationId === deniedId);
    const allowed = gatewayLines.find((line) => line.operation === 'Allowed');
    assert.ok(denied, 'a line for the 401');
    assert.deepEqual({ ...denied, durationMs: 0 }, {
      level: 30, time: (denied as unknown as { time: string }).time, service: 'gateway', msg: 'request',
      method: 'POST', path: '/graphql', operation: null, operationType: null, client: 'anonymous', status: 401, durationMs: 0, correlationId: deniedId, errorCodes: ['UNAUTHENTICATED'],
    });
    assert.ok(allowed, 'a line for the successful request');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.client, 'operator');
    assert.equal(allowed.operationType, 'query');
    assert.equal(allowed.correlationId, correlationId);
    assert.deepEqual(allowed.errorCodes, []);
    assert.ok(allowed.durationMs > 0);
    // The subgraph's line for the gateway's fetch carries the same correlation id.
    assert.ok(accessLines().some((line) => line.service === 'inventory' && line.correlationId === correlationId && line.client === 'operator'));
    const everything = JSON.stringify(logLines);
    assert.ok(!everything.includes('sg_wrong-key-for-the-log'));
    assert.ok(!everything.includes(clients.key('operator')));
    assert.ok(!everything.includes('secret-variable-value'));
    assert.ok(!everything.includes(METRICS_TOKEN));
  });

  it('uses in the Grafana dashboard and the README only metrics the services really export', async () => {
    const declared = new Set<string>();
    for (const service of SERVICES) for (const name of (await scrape(service)).declared) declared.add(name);
    const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/dashboards/stockgraph.json', import.meta.url), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Metrics and logs'), readme.indexOf('\n## ', readme.indexOf('## Metrics and logs') + 1));
    const readmeQueries = [...section.matchAll(/```promql\n([\s\S]*?)```/g)].map((match) => match[1]!);
    const dashboardQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));

    assert.ok(dashboardQueries.length >= 8, 'the dashboard has panels with queries');
    assert.ok(readmeQueries.length >= 5, 'the README has example PromQL');
    for (const expr of [...dashboardQueries, ...readmeQueries]) {
      const names = [...expr.matchAll(/\b(?:stockgraph|process|nodejs)_[a-z0-9_]+/g)].map(([name]) => name);
      assert.ok(names.length > 0, `no metric in ${expr}`);
      for (const name of names) {
        const metric = declared.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(declared.has(metric), `${name} (in ${expr}) is not exported by any service`);
      }
    }
  });
});

const random = () => randomBytes(4).toString('hex');

// The parser itself, so that a test above cannot pass on a misread scrape.
describe('reading the Prometheus text format', () => {
  it('reads names, escaped label values and numbers, and the declared metrics', () => {
    const scrape = parsePrometheusText([
      '# HELP stockgraph_x_total Things',
      '# TYPE stockgraph_x_total counter',
      'stockgraph_x_total{service="gateway",operation="a \\"quoted\\" one"} 2',
      'stockgraph_x_total{service="gateway",operation="b"} 3',
      '# TYPE stockgraph_idle gauge',
      '',
    ].join('\n'));

    assert.equal(scrape.sum('stockgraph_x_total'), 5);
    assert.equal(scrape.sum('stockgraph_x_total', { operation: 'a "quoted" one' }), 2);
    assert.deepEqual(scrape.declared, new Set(['stockgraph_x_total', 'stockgraph_idle']));
  });
});
