// Sign-in with an API key or a bearer token (kept in sessionStorage: gone with the tab), and
// what the API says the caller may do (the `viewer` query).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../format.js';
import { Panel } from '../components.js';

export const CREDENTIAL_KEY = 'stockgraph.credential';

const VIEWER = `query Viewer { viewer { name scopes locations { id name } } }`;

export function useViewer(api) {
  const [state, setState] = useState({ viewer: null, error: null });
  useEffect(() => {
    api.request(VIEWER).then(({ viewer }) => setState({ viewer, error: null }), (error) => setState({ viewer: null, error }));
  }, [api]);
  return state;
}

/** Why the credential was refused, and the way back to the form. */
export function SignInFailed({ error, signOut }) {
  return html`<div class="signin">
    <h1>Sign-in failed</h1>
    <p class="error" role="alert">${error.message} (${error.code})</p>
    <button type="button" onClick=${signOut}>Try another credential</button>
  </div>`;
}

/** The sign-in form. */
export function SignIn({ onSignIn }) {
  const [value, setValue] = useState('');
  const submit = (event) => {
    event.preventDefault();
    if (value.trim()) onSignIn(value.trim());
  };
  return html`<div class="signin">
    <h1>Stockgraph operations</h1>
    <form onSubmit=${submit}>
      <label>API key or bearer token (JWT)
        <input type="password" name="credential" autocomplete="off" required value=${value} onInput=${(event) => setValue(event.currentTarget.value)} />
      </label>
      <button type="submit">Sign in</button>
    </form>
    <p class="state">Kept in this tab only (sessionStorage). \`npm start\` prints a demo key.</p>
  </div>`;
}

export function ViewerPanel({ viewer }) {
  return html`<${Panel} title="Signed in" id="viewer">
    <dl class="facts">
      <dt>Caller</dt><dd>${viewer.name}</dd>
      <dt>Scopes</dt><dd data-scopes>${viewer.scopes.join(', ') || 'none'}</dd>
      <dt>Locations</dt><dd data-locations>${viewer.locations === null ? 'every location' : viewer.locations.map((location) => `${location.id} (${location.name})`).join(', ') || 'none'}</dd>
    </dl>
  <//>`;
}
