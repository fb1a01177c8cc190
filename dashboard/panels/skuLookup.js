// One SKU: what can be promised per location (availability, one snapshot), every bucket of its
// stock levels, their lots, when and from which source each was last reported, and staleness.
import { useState } from 'preact/hooks';
import { html, formatNumber, Time } from '../format.js';
import { Panel, QueryState, useQuery } from '../components.js';

const SKU_LOOKUP = `query SkuLookup($sku: ID!) {
  availability(skus: [$sku]) { asOf items { sku available inboundInTransit earliestPromiseDate locations { locationId available stale } } }
  item(sku: $sku) {
    sku description unitOfMeasure
    stockLevels {
      locationId onHandWms onHandErp onHandNonNettable allocated reserved inboundInTransit qualityHold damaged safetyStock expired available
      asOf stale wmsReportedAt erpReportedAt
      lots { lot expiresAt expired onHand qualityHold }
      bucketChanges { bucket source at }
    }
  }
}`;
const BUCKETS = [
  ['onHandWms', 'On hand (WMS)'], ['onHandErp', 'On hand (ERP)'], ['onHandNonNettable', 'Non-nettable'], ['allocated', 'Allocated'],
  ['reserved', 'Reserved'], ['inboundInTransit', 'Inbound'], ['qualityHold', 'QA hold'], ['damaged', 'Damaged'],
  ['safetyStock', 'Safety'], ['expired', 'Expired'], ['available', 'Available'],
];

/** The source of the most recent bucket change, e.g. "acme-wms". */
const latestSource = (level) => [...level.bucketChanges].sort((a, b) => b.at.localeCompare(a.at))[0]?.source ?? '–';

function LookupResult({ api, sku }) {
  const result = useQuery(api, SKU_LOOKUP, { sku });
  const state = QueryState({ ...result, empty: result.data && !result.data.item, emptyText: `No item ${sku}.` });
  if (state) return state;
  const { availability, item } = result.data;
  const line = availability.items[0];
  const promised = new Map(line.locations.map((location) => [location.locationId, location]));
  return html`<div data-sku-result=${item.sku}>
    <p><strong>${item.sku}</strong> ${item.description} (${item.unitOfMeasure}) · ATP <strong>${formatNumber(line.available)}</strong>
      · inbound ${formatNumber(line.inboundInTransit)} · as of <${Time} value=${availability.asOf} /></p>
    <div class="scroll"><table>
      <thead><tr><th>Location</th><th class="num">ATP</th>${BUCKETS.map(([, label]) => html`<th class="num">${label}</th>`)}<th>Lots</th><th>As of</th><th>Source</th><th>Stale</th></tr></thead>
      <tbody>${item.stockLevels.map((level) => html`<tr data-location=${level.locationId}>
        <td>${level.locationId}</td>
        <td class="num">${formatNumber(promised.get(level.locationId)?.available)}</td>
        ${BUCKETS.map(([bucket]) => html`<td class="num">${formatNumber(level[bucket])}</td>`)}
        <td>${level.lots.length === 0 ? '–' : level.lots.map((lot) => html`<div>${lot.lot}: ${formatNumber(lot.onHand)}${lot.expired ? ' (expired)' : ''}${lot.expiresAt ? html` · expires <${Time} value=${lot.expiresAt} />` : ''}</div>`)}</td>
        <td><${Time} value=${level.asOf} /></td>
        <td>${latestSource(level)}</td>
        <td>${level.stale ? html`<span class="badge warn">stale</span>` : 'no'}</td>
      </tr>`)}</tbody>
    </table></div>
  </div>`;
}

export function SkuLookup({ api }) {
  const [input, setInput] = useState('');
  const [sku, setSku] = useState(null);
  const submit = (event) => {
    event.preventDefault();
    if (input.trim()) setSku(input.trim().toUpperCase());
  };
  return html`<${Panel} title="SKU lookup" id="sku-lookup" wide>
    <form class="inline" onSubmit=${submit} role="search">
      <label>SKU <input value=${input} onInput=${(event) => setInput(event.currentTarget.value)} placeholder="SKU-00001" required /></label>
      <button type="submit">Look up</button>
    </form>
    ${sku ? html`<${LookupResult} key=${sku} api=${api} sku=${sku} />` : html`<p class="state">Enter a SKU to see its stock at every location.</p>`}
  <//>`;
}
