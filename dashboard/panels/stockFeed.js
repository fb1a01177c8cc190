// Stock changes as they happen (the stockChanged subscription), filtered by location (sent to
// the API) and SKU prefix (applied here: the subscription filters by exact SKUs only).
import { useEffect, useState } from 'preact/hooks';
import { html, formatNumber, Time } from '../format.js';
import { Panel } from '../components.js';

const STOCK_CHANGED = `subscription StockFeed($locationIds: [ID!], $after: String) {
  stockChanged(locationIds: $locationIds, after: $after) {
    id cursor sku locationId sequence occurredAt
    cause { type id }
    before { available onHandWms }
    after { available onHandWms }
  }
}`;
const LOCATIONS = `query FeedLocations { locations { id name } }`;
const KEPT_CHANGES = 200;

export function StockFeed({ api, viewer }) {
  const [locations, setLocations] = useState(viewer.locations ?? []);
  const [locationId, setLocationId] = useState('');
  const [skuPrefix, setSkuPrefix] = useState('');
  const [changes, setChanges] = useState([]);
  const [error, setError] = useState(null);

  useEffect(() => {
    if (viewer.locations === null) api.request(LOCATIONS).then(({ locations }) => setLocations(locations), setError);
  }, [api, viewer]);

  useEffect(() => {
    setChanges([]);
    setError(null);
    return api.subscribe(STOCK_CHANGED, { locationIds: locationId ? [locationId] : null }, 'stockChanged', (change) => {
      setChanges((previous) => [change, ...previous].slice(0, KEPT_CHANGES));
    }, setError);
  }, [api, locationId]);

  const prefix = skuPrefix.trim().toUpperCase();
  const shown = prefix ? changes.filter((change) => change.sku.toUpperCase().startsWith(prefix)) : changes;
  return html`<${Panel} title="Live stock changes" id="stock-feed" wide>
    <div class="filters">
      <label>Location
        <select value=${locationId} onChange=${(event) => setLocationId(event.currentTarget.value)}>
          <option value="">${viewer.locations === null ? 'Every location' : 'All my locations'}</option>
          ${locations.map((location) => html`<option value=${location.id}>${location.id} – ${location.name}</option>`)}
        </select>
      </label>
      <label>SKU starts with
        <input type="search" value=${skuPrefix} onInput=${(event) => setSkuPrefix(event.currentTarget.value)} placeholder="SKU-000" />
      </label>
    </div>
    ${error && html`<p class="state error" role="alert">${error.message} (${error.code})</p>`}
    ${shown.length === 0
      ? html`<p class="state">${changes.length === 0 ? 'Waiting for stock changes…' : 'No change matches the filter.'}</p>`
      : html`<div class="scroll"><table>
          <thead><tr><th>When</th><th>SKU</th><th>Location</th><th>Cause</th><th class="num">Available</th><th class="num">On hand (WMS)</th></tr></thead>
          <tbody>${shown.map((change) => html`<tr key=${change.id} data-change-id=${change.id}>
            <td><${Time} value=${change.occurredAt} /></td>
            <td>${change.sku}</td>
            <td>${change.locationId}</td>
            <td>${change.cause.type}</td>
            <td class="num">${formatNumber(change.before.available)} → ${formatNumber(change.after.available)}</td>
            <td class="num">${formatNumber(change.before.onHandWms)} → ${formatNumber(change.after.onHandWms)}</td>
          </tr>`)}</tbody>
        </table></div>`}
  <//>`;
}
