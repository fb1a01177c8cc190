import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdirSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { GRANTABLE_SCOPE_NAMES } from '../../gateway/edge/scopes.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR, type TestClient } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { ordersApi } from '../support/orders.ts';
import { givenStock } from '../support/stock.ts';
import { givenPositions, reconciliationApi } from '../reconciliation/reconciliationFixtures.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// The operations dashboard in a real browser (Debian's chromium, driven by playwright-core)
// against the whole system: gateway, the three subgraphs, PostgreSQL and Redis. Every check of
// an effect is made through the public API as well, not only on the page.

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** A partner granted DC-01 alone, reading only: the dashboard must offer it no action. */
const PARTNER: TestClient = { name: 'partner-acme', scopes: ['inventory:read', 'reconciliation:read', 'orders:read'], locations: ['DC-01'], limits: OPERATOR.limits };
const FEED_ROWS = '#stock-feed tr[data-change-id]';
/** The demo seed's unit of SKU-0000n (prisma/seed.ts): an event in another unit is dead-lettered. */
const unitOf = (sku: string) => ['EA', 'EA', 'EA', 'CS', 'KG'][Number(sku.slice(4)) % 5]!;
/** acme-wms names SKU-0000n ACME-0000n; its sites ATL1 and ORD1 are DC-01 and DC-02. */
const acmeReceipt = (sku: string, site: 'ATL1' | 'ORD1', qty = 1) => acmeEvent({ item_code: sku.replace('SKU-', 'ACME-'), site, qty, uom: unitOf(sku) });

describe('operations dashboard: Chromium against the real system', () => {
  const cleanup = useCleanup();
  let running: TestSystem;
  let browser: Browser;
  let gatewayUrl: string;
  let inventoryUrl: string;

  before(async () => {
    running = await startTestSystem('dashboard', { skuCount: 12, env: { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', ANONYMOUS_SCOPES: 'inventory:read' }, clients: [OPERATOR, PARTNER] });
    gatewayUrl = running.system.gateway.url;
    inventoryUrl = running.system.subgraphs.inventory.url;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
  });

  /** A new tab at 1280x800 (or `width` wide), signed in with `client`'s key, once the feed is live. */
  async function signedInPage(client: string, { width = 1280, height = 800 } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height } });
    cleanup(() => context.close());
    const page = await context.newPage();
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    cleanup(() => assert.deepEqual(pageErrors.map(String), [], 'the page threw no error'));
    await page.goto(`${gatewayUrl}/dashboard`);
    await page.getByLabel('API key or bearer token (JWT)').fill(running.clients.key(client));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-connection="live"]').waitFor();
    await feedReceiving(page);
    return page;
  }

  /**
   * Resolves once the page's stock feed receives changes. graphql-ws acknowledges no subscribe
   * message, so a change is posted (SKU-00001 at DC-01, which the tests below do not look at)
   * until one reaches the page, as test/gateway/subscriptions.test.ts pokes its subscribers.
   */
  async function feedReceiving(page: Page): Promise<void> {
    const pokes = page.locator(FEED_ROWS).filter({ hasText: 'SKU-00001' });
    const seen = await pokes.count();
    await eventually(async () => {
      await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00001', 'ATL1')]);
      return pokes.count();
    }, (count) => count > seen, { intervalMs: 100, what: 'a change in the page\'s feed' });
  }

  it('serves the page, its modules and its libraries from the gateway with a strict Content-Security-Policy', async () => {
    const response = await fetch(`${gatewayUrl}/dashboard`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'scripts of this origin and the inline import map only');
    assert.match(csp, /connect-src 'self'/);
    const etag = response.headers.get('etag')!;
    assert.equal((await fetch(`${gatewayUrl}/dashboard`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidated by ETag');
    const client = await fetch(`${gatewayUrl}/dashboard/vendor/graphql-ws/client.js`);
    assert.equal(client.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await fetch(`${gatewayUrl}/dashboard/vendor/graphql-ws/index.js`)).status, 404, 'the client of graphql-ws only, not its server');
    assert.equal((await fetch(`${gatewayUrl}/dashboard/nothing-here.js`)).status, 404);
  });

  it('answers the viewer query, which the page builds itself from, for a partner and for an anonymous caller', async () => {
    const viewer = '{ viewer { name scopes locations { id } } }';
    const asPartner = await graphql(gatewayUrl, viewer, {}, running.clients.headers(PARTNER.name));
    assert.deepEqual(asPartner.data, { viewer: { name: PARTNER.name, scopes: [...PARTNER.scopes].sort(), locations: [{ id: 'DC-01' }] } });
    const anonymous = await graphql(gatewayUrl, viewer, {});
    assert.deepEqual(anonymous.data, { viewer: { name: 'anonymous', scopes: ['inventory:read'], locations: null } });
  });

  it('loads, signs in with an API key and shows the caller, its scopes and every location', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    cleanup(() => context.close());
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${gatewayUrl}/dashboard`);
    await page.getByLabel('API key or bearer token (JWT)').waitFor();
    console.log(`dashboard: sign-in form ready ${Math.round(performance.now() - started)} ms after navigation`);

    await page.getByLabel('API key or bearer token (JWT)').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    await page.getByRole('button', { name: 'Try another credential' }).click();

    // By keyboard alone: the credential field is the first stop, Enter submits
    const signInStarted = performance.now();
    await page.keyboard.press('Tab');
    await page.keyboard.type(running.clients.key(OPERATOR.name));
    await page.keyboard.press('Enter');
    await page.locator('[data-connection="live"]').waitFor();
    console.log(`dashboard: signed in and live ${Math.round(performance.now() - signInStarted)} ms after sign-in`);
    assert.equal(await page.locator('[data-scopes]').textContent(), [...GRANTABLE_SCOPE_NAMES].sort().join(', '));
    assert.equal(await page.locator('[data-locations]').textContent(), 'every location');
    assert.equal(await page.evaluate('sessionStorage.length'), 1, 'the credential is kept in the tab');
  });

  it('shows a signed WMS event in the live feed within 1 s, and filters the feed by SKU prefix', async () => {
    const page = await signedInPage(OPERATOR.name);
    const posted = performance.now();
    const answer = await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00002', 'ATL1', 7)]);
    assert.equal(answer.body.applied, 1, JSON.stringify(answer.body));
    const row = page.locator(FEED_ROWS).filter({ hasText: 'SKU-00002' });
    await row.waitFor({ timeout: 1_000 });
    console.log(`dashboard: WMS event in the feed ${Math.round(performance.now() - posted)} ms after it was posted`);
    assert.match((await row.textContent())!, /DC-01.*WAREHOUSE_EVENT.*→/);

    await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00006', 'ORD1', 2)]);
    await page.locator(FEED_ROWS).filter({ hasText: 'SKU-00006' }).waitFor();
    await page.getByLabel('SKU starts with').fill('sku-00006');
    assert.equal(await page.locator(FEED_ROWS).count(), 1, 'only the SKU-00006 change matches');
  });

  it('fits a 390 px wide phone screen without horizontal scrolling', async () => {
    const page = await signedInPage(OPERATOR.name, { width: 390, height: 844 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.equal(overflow, 0);
  });

  it('shows a partner key only its locations: its grant, its location filter and the changes at DC-01 alone', async () => {
    const page = await signedInPage(PARTNER.name);
    assert.match((await page.locator('[data-locations]').textContent())!, /^DC-01 \(/);
    const options = await page.getByLabel('Location').locator('option').allTextContents();
    assert.equal(options.length, 2, JSON.stringify(options));
    assert.equal(options[0], 'All my locations');
    assert.match(options[1]!, /^DC-01 /);

    // Published in this order: once the DC-01 change is on the page, the DC-02 one would be too.
    await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00004', 'ORD1', 3)]);
    await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00004', 'ATL1', 4)]);
    await page.locator(FEED_ROWS).filter({ hasText: 'SKU-00004' }).filter({ hasText: 'DC-01' }).waitFor();
    assert.equal(await page.locator(FEED_ROWS).filter({ hasText: 'DC-02' }).count(), 0, 'no change at DC-02 reaches the partner');
    await page.getByLabel('SKU', { exact: true }).fill('SKU-00004');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('[data-sku-result="SKU-00004"]').waitFor();
    assert.deepEqual(await page.locator('[data-sku-result] tr[data-location]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-location'))), ['DC-01'], 'its lookup shows DC-01 alone');
    const asOperator = await graphql<{ stockLevel: { onHandWms: number } }>(gatewayUrl, '{ stockLevel(sku: "SKU-00004", locationId: "DC-02") { onHandWms } }', {}, running.clients.headers());
    assert.ok(asOperator.data!.stockLevel.onHandWms >= 3, 'the DC-02 change did happen');
  });

  it('reconnects a dropped socket by itself and shows every change made while it was down, once', async () => {
    const page = await signedInPage(OPERATOR.name);
    const sockets = new Set<Duplex>();
    let refuseUpgrades = false;
    const onUpgrade = (_request: IncomingMessage, socket: Duplex) => {
      if (refuseUpgrades) return void socket.destroy();
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    // Before the gateway's own WebSocket server sees the upgrade, so that a refused one never opens.
    running.system.gateway.httpServer.prependListener('upgrade', onUpgrade);
    cleanup(() => running.system.gateway.httpServer.off('upgrade', onUpgrade));
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    await feedReceiving(page);
    assert.equal(sockets.size, 1, 'the page holds one socket');

    refuseUpgrades = true;
    for (const socket of sockets) socket.destroy();
    await page.locator('[data-connection="reconnecting"]').waitFor();
    for (const qty of [1, 2, 3]) await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00005', 'ATL1', qty)]);
    refuseUpgrades = false;

    const rows = page.locator(FEED_ROWS).filter({ hasText: 'SKU-00005' });
    await page.locator('[data-connection="live"]').waitFor();
    await postEvents(inventoryUrl, 'acme-wms', [acmeReceipt('SKU-00005', 'ATL1', 4)]);
    // The last change follows the three in the stream: once it is shown, a repeat of any would be too.
    await rows.nth(3).waitFor();
    const ids = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-change-id')));
    assert.equal(ids.length, 4, 'four changes, none twice');
    assert.equal(new Set(ids).size, 4);
  });

  it('approves a review task from the page, through the API, and offers a read-only partner no action on it', async () => {
    // Given a REVIEW discrepancy at DC-01 (WMS 100, ERP 80: 20 units, between the default tiers)
    const sku = 'SKU-98001';
    await givenStock(running.database.db, sku, { 'DC-01': 100 });
    await running.database.db.query('UPDATE stock_position SET on_hand_erp = 80 WHERE sku = $1', [sku]);
    await givenPositions(running.database.db, [{ sku, locationId: 'DC-01', wms: 100, erp: 80 }]);
    const operatorPage = await signedInPage(OPERATOR.name);
    const partnerPage = await signedInPage(PARTNER.name);
    const reconciliation = reconciliationApi(gatewayUrl, undefined, running.clients.headers());
    await reconciliation.reconcile(['DC-01']);
    const [task] = await reconciliation.tasks({ sku, status: ['OPEN'] });
    assert.ok(task, 'the run opened a review task');

    // The task appears on both pages (the run's discrepancyRaised reloads the list); only the operator may act
    const operatorRow = operatorPage.locator(`#review-tasks tr[data-task-id="${task.id}"]`);
    await operatorRow.waitFor();
    const partnerRow = partnerPage.locator(`#review-tasks tr[data-task-id="${task.id}"]`);
    await partnerRow.waitFor();
    assert.equal(await partnerPage.locator('#review-tasks button, #alerts button, #holds button, #sync-backlog button').filter({ hasNotText: 'Refresh' }).count(), 0, 'no action offered to a partner without reconciliation:admin');

    // When the operator approves it in the page
    await operatorRow.getByRole('button', { name: 'Approve' }).click();
    await operatorRow.waitFor({ state: 'detached' });

    // Then the API has it approved, by the operator
    const approved = await reconciliation.call<{ reviewTask: { status: string; audit: { action: string; actor: string }[] } }>(
      'query ($id: ID!) { reviewTask(id: $id) { status audit { action actor } } }', { id: task.id });
    assert.equal(approved.data!.reviewTask.status, 'APPROVED');
    assert.ok(approved.data!.reviewTask.audit.some((entry) => entry.actor === OPERATOR.name), JSON.stringify(approved.data!.reviewTask.audit));
  });

  it('looks a SKU up: ATP per location, every bucket, lots, as-of, source and stale flag', async () => {
    const page = await signedInPage(OPERATOR.name);
    // SKU-00010 is lot-controlled in the demo seed, with two lots (one expired)
    await page.getByLabel('SKU', { exact: true }).fill('sku-00010');
    await page.getByRole('button', { name: 'Look up' }).click();
    const result = page.locator('[data-sku-result="SKU-00010"]');
    await result.waitFor();
    const levels = await graphql<{ item: { stockLevels: { locationId: string; available: number }[] } }>(gatewayUrl,
      '{ item(sku: "SKU-00010") { stockLevels { locationId available } } }', {}, running.clients.headers());
    assert.equal(await result.locator('tr[data-location]').count(), levels.data!.item.stockLevels.length, 'a row per stock level');
    const dc01 = await result.locator('tr[data-location="DC-01"]').textContent();
    assert.match(dc01!, /SKU-00010-A: .*SKU-00010-B: .*\(expired\)/, 'both lots, the expired one marked');
    assert.match(dc01!, /(ago|now)/, 'its as-of, relative');
    await page.getByLabel('SKU', { exact: true }).fill('SKU-NOPE');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('#sku-lookup [role="alert"]').filter({ hasText: 'UNKNOWN_SKU' }).waitFor();
  });

  it('counts orders by status as the API does, live, and shows an order\'s timeline', async () => {
    const page = await signedInPage(OPERATOR.name);
    await page.locator('#orders [aria-label="Orders by status"]').waitFor();
    const placed = await ordersApi(gatewayUrl, running.clients.headers()).place({ reference: `DASH-${process.pid}`, lines: [{ sku: 'SKU-00002', quantity: 1, locationId: 'DC-01' }] });
    assert.equal(placed.errors, undefined, JSON.stringify(placed.errors));
    const order = placed.data!.placeOrder;

    // A partner's counts leave out what it may not see: this order at DC-02
    const partnerTotal = async () => (await graphql<{ orderStatusCounts: { count: number }[] }>(gatewayUrl, '{ orderStatusCounts { count } }', {}, running.clients.headers(PARTNER.name)))
      .data!.orderStatusCounts.reduce((sum, { count }) => sum + count, 0);
    const partnerBefore = await partnerTotal();
    assert.ok(partnerBefore >= 1, 'the order at DC-01 is counted for the partner');
    const elsewhere = await ordersApi(gatewayUrl, running.clients.headers()).place({ reference: `DASH-02-${process.pid}`, lines: [{ sku: 'SKU-00002', quantity: 1, locationId: 'DC-02' }] });
    assert.equal(elsewhere.errors, undefined, JSON.stringify(elsewhere.errors));
    assert.equal(await partnerTotal(), partnerBefore);

    const counts = await graphql<{ orderStatusCounts: { status: string; count: number }[] }>(gatewayUrl, '{ orderStatusCounts { status count } }', {}, running.clients.headers());
    assert.ok(counts.data!.orderStatusCounts.some(({ status }) => status === order.status), JSON.stringify(counts.data));
    for (const { status, count } of counts.data!.orderStatusCounts) {
      await page.locator(`#orders [data-status-count="${status}"]`).filter({ hasText: new RegExp(`^${count}$`) }).waitFor();
    }
    await page.locator('#orders tr').filter({ hasText: order.reference }).getByRole('button', { name: 'Timeline' }).click();
    const timeline = page.locator(`#orders [data-order-id="${order.id}"] li`);
    await timeline.last().filter({ hasText: order.status }).waitFor();
    assert.match((await timeline.first().textContent())!, /CREATED.*MUTATION/);

    // The README's screenshot: the operator's dashboard with the feed, the lookup and the lists filled in
    await page.getByLabel('SKU', { exact: true }).fill('SKU-00010');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('[data-sku-result="SKU-00010"]').waitFor();
    mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
    await page.screenshot({ path: new URL('../../docs/dashboard.png', import.meta.url).pathname, fullPage: true });
  });
});
