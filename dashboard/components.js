// What every panel is made of: a titled section, a query's loading / error / empty states.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from './format.js';

export function Panel({ title, id, wide = false, actions = null, children }) {
  return html`<section class=${wide ? 'panel wide' : 'panel'} aria-labelledby=${`${id}-title`} id=${id}>
    <h2 id=${`${id}-title`}><span>${title}</span>${actions}</h2>
    ${children}
  </section>`;
}

/** Runs `query` when `variables` change (compared as JSON); `reload()` runs it again. */
export function useQuery(api, query, variables = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    api.request(query, variables).then(
      (data) => current && setState({ loading: false, data, error: null }),
      (error) => current && setState({ loading: false, data: null, error }),
    );
    return () => {
      current = false;
    };
  }, [api, query, key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}

/** The state of a query that has nothing to show yet: loading, failed, or empty. Null when there is data to show. */
export function QueryState({ loading, error, data, empty, emptyText = 'Nothing to show.' }) {
  if (error) return html`<p class="state error" role="alert">Could not load: ${error.message} (${error.code})</p>`;
  if (loading && !data) return html`<p class="state" aria-live="polite">Loading…</p>`;
  if (data && empty) return html`<p class="state">${emptyText}</p>`;
  return null;
}

/** A button for an action that calls the API: disabled while it runs, its error shown beside it. */
export function ActionButton({ label, run, onDone, secondary = false }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try {
      await run();
      onDone?.();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<span>
    <button type="button" class=${secondary ? 'secondary' : ''} disabled=${busy} onClick=${click}>${label}</button>
    ${error && html`<span class="error" role="alert"> ${error.message}</span>`}
  </span>`;
}

/**
 * Runs `reload` on each event of a subscription: for lists whose rows a subscription announces
 * but does not carry whole (tasks, alerts, holds, failed sync transactions). Returns the
 * subscription's error, if it failed, for LiveError.
 */
export function useReloadOn(api, subscription, field, reload) {
  const [error, setError] = useState(null);
  useEffect(() => api.subscribe(subscription, {}, field, () => reload(), setError), [api, subscription, field, reload]);
  return error;
}

/** Why a panel no longer updates by itself. */
export function LiveError({ error }) {
  return error && html`<p class="state error" role="alert">Live updates stopped: ${error.message} (${error.code}).</p>`;
}

/** "SKU-00001 @ DC-01", the position a row is about. */
export function Position({ stockLevel }) {
  return html`<span>${stockLevel.sku} @ ${stockLevel.locationId}</span>`;
}
