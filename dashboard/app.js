// The operations dashboard: sign-in, then the panels the credential's scopes allow. Every figure
// comes from the public GraphQL API (api.js); the API enforces scopes and a partner's locations,
// and the page offers only what the viewer query says the caller holds.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { connectApi } from './api.js';
import { html } from './format.js';
import { SignIn, SignInFailed, ViewerPanel, useViewer, CREDENTIAL_KEY } from './panels/signIn.js';
import { StockFeed } from './panels/stockFeed.js';
import { SkuLookup } from './panels/skuLookup.js';
import { SyncBacklog } from './panels/syncBacklog.js';
import { ReconciliationRuns } from './panels/reconciliationRuns.js';
import { ReviewTasks } from './panels/reviewTasks.js';
import { Alerts } from './panels/alerts.js';
import { Holds } from './panels/holds.js';
import { Orders } from './panels/orders.js';

function ConnectionBadge({ api }) {
  const [status, setStatus] = useState(api.status());
  useEffect(() => {
    const stopListening = api.onStatus(setStatus);
    // The socket may have connected between the render above and this effect, which runs after
    // paint: without reading the status again the badge would wait for a change that has passed.
    setStatus(api.status());
    return stopListening;
  }, [api]);
  const label = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Disconnected: reconnecting…' }[status];
  return html`<span class=${`badge ${status === 'live' ? 'live' : 'down'}`} role="status" data-connection=${status}>${label}</span>`;
}

function Dashboard({ token, signOut }) {
  const api = useMemo(() => connectApi(token), [token]);
  useEffect(() => () => api.close(), [api]);
  const { viewer, error } = useViewer(api);
  if (error) return html`<${SignInFailed} error=${error} signOut=${signOut} />`;
  if (!viewer) return html`<p class="state" aria-live="polite">Signing in…</p>`;
  const can = (scope) => viewer.scopes.includes(scope);
  const admin = can('reconciliation:admin');
  return html`
    <header class="top">
      <h1>Stockgraph operations</h1>
      <div class="who">
        <${ConnectionBadge} api=${api} />
        <span>Signed in as <strong>${viewer.name}</strong></span>
        <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main>
      <${ViewerPanel} viewer=${viewer} />
      ${can('inventory:read') && html`<${StockFeed} api=${api} viewer=${viewer} />`}
      ${can('inventory:read') && html`<${SkuLookup} api=${api} />`}
      ${can('reconciliation:read') && html`<${SyncBacklog} api=${api} admin=${admin} />`}
      ${can('reconciliation:read') && html`<${ReconciliationRuns} api=${api} />`}
      ${can('reconciliation:read') && html`<${ReviewTasks} api=${api} admin=${admin} viewer=${viewer} />`}
      ${can('reconciliation:read') && html`<${Alerts} api=${api} admin=${admin} />`}
      ${can('reconciliation:read') && html`<${Holds} api=${api} admin=${admin} />`}
      ${can('orders:read') && html`<${Orders} api=${api} />`}
    </main>`;
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(CREDENTIAL_KEY));
  const signIn = (value) => {
    sessionStorage.setItem(CREDENTIAL_KEY, value);
    setToken(value);
  };
  const signOut = () => {
    sessionStorage.removeItem(CREDENTIAL_KEY);
    setToken(null);
  };
  return token ? html`<${Dashboard} key=${token} token=${token} signOut=${signOut} />` : html`<${SignIn} onSignIn=${signIn} />`;
}

const root = document.getElementById('app');
root.replaceChildren(); // the "Loading" text shown until the modules ran
render(html`<${App} />`, root);
