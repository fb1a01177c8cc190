// The operations dashboard: sign-in, then the panels the credential's scopes allow. Every figure
// comes from the public GraphQL API (api.js); the API enforces scopes and a partner's locations,
// and the page offers only what the viewer query says the caller holds.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { connectApi } from './api.js';
import { html } from './format.js';
import { SignIn, ViewerPanel, useViewer, CREDENTIAL_KEY } from './panels/signIn.js';
import { StockFeed } from './panels/stockFeed.js';

function ConnectionBadge({ api }) {
  const [status, setStatus] = useState(api.status());
  useEffect(() => api.onStatus(setStatus), [api]);
  const label = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Disconnected: reconnecting…' }[status];
  return html`<span class=${`badge ${status === 'live' ? 'live' : 'down'}`} role="status" data-connection=${status}>${label}</span>`;
}

function Dashboard({ token, signOut }) {
  const api = useMemo(() => connectApi(token), [token]);
  useEffect(() => () => api.close(), [api]);
  const { viewer, error } = useViewer(api);
  if (error) return html`<${SignIn} error=${error} onSignIn=${() => {}} signOut=${signOut} />`;
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

render(html`<${App} />`, document.getElementById('app'));
