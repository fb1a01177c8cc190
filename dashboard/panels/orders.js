// Order counts by status and recent orders (both refreshed on each status change that the
// orderStatusChanged subscription announces), and one order's timeline, looked up by id or by
// its channel's reference.
import { useState } from 'preact/hooks';
import { html, formatNumber, Time } from '../format.js';
import { LiveError, Panel, QueryState, useQuery, useReloadOn } from '../components.js';

const RECENT_ORDERS = `query RecentOrders {
  orderStatusCounts { status count }
  orders(first: 20) { nodes { id reference channel status createdAt updatedAt } }
}`;
const ORDER_STATUS_CHANGED = `subscription OrdersChanged($after: String) { orderStatusChanged(after: $after) { cursor } }`;
const TIMELINE_FIELDS = `id reference channel status createdAt lines { quantity item { sku } location { id } } timeline { version status previousStatus cause causeId actor at }`;
const ORDER_BY_ID = `query OrderById($key: ID!) { order(id: $key) { ${TIMELINE_FIELDS} } }`;
const ORDER_BY_REFERENCE = `query OrderByReference($key: String!) { orderByReference(reference: $key) { ${TIMELINE_FIELDS} } }`;

function Timeline({ api, lookup }) {
  const result = useQuery(api, lookup.by === 'id' ? ORDER_BY_ID : ORDER_BY_REFERENCE, { key: lookup.key });
  const order = result.data && (result.data.order ?? result.data.orderByReference);
  const state = QueryState({ ...result, empty: result.data && !order, emptyText: `No order ${lookup.key} that this credential may see.` });
  if (state) return state;
  return html`<div data-order-id=${order.id}>
    <p><strong>${order.reference}</strong> (${order.channel}) · ${order.status} · lines: ${order.lines.map((line) => `${line.quantity} × ${line.item.sku} @ ${line.location.id}`).join(', ') || 'none'}</p>
    <ol>${order.timeline.map((step) => html`<li key=${step.version}>
      <strong>${step.status}</strong>${step.previousStatus ? ` (from ${step.previousStatus})` : ''} · ${step.cause} (${step.causeId}) by ${step.actor} · <${Time} value=${step.at} />
    </li>`)}</ol>
  </div>`;
}

export function Orders({ api }) {
  const recent = useQuery(api, RECENT_ORDERS);
  const liveError = useReloadOn(api, ORDER_STATUS_CHANGED, 'orderStatusChanged', recent.reload);
  const [input, setInput] = useState('');
  const [lookup, setLookup] = useState(null);
  const open = (key, by) => setLookup({ key, by });
  const submit = (event) => {
    event.preventDefault();
    if (input.trim()) open(input.trim(), input.trim().startsWith('ORD-') ? 'id' : 'reference');
  };
  const orders = recent.data?.orders.nodes ?? [];
  const state = QueryState({ ...recent, empty: orders.length === 0, emptyText: 'No order yet.' });
  return html`<${Panel} title="Orders" id="orders" wide>
    <${LiveError} error=${liveError} />
    <form class="inline" onSubmit=${submit} role="search">
      <label>Order id or reference <input value=${input} onInput=${(event) => setInput(event.currentTarget.value)} required /></label>
      <button type="submit">Show timeline</button>
    </form>
    ${lookup && html`<${Timeline} key=${`${lookup.by}:${lookup.key}`} api=${api} lookup=${lookup} />`}
    ${recent.data && html`<dl class="facts" aria-label="Orders by status">
      ${recent.data.orderStatusCounts.length === 0 ? html`<dt>Orders</dt><dd>none</dd>` : recent.data.orderStatusCounts.map(({ status, count }) => html`<dt>${status}</dt><dd data-status-count=${status}>${formatNumber(count)}</dd>`)}
    </dl>`}
    <h3>Recent orders</h3>
    ${state ?? html`<div class="scroll"><table>
      <thead><tr><th>Reference</th><th>Channel</th><th>Status</th><th>Updated</th><th></th></tr></thead>
      <tbody>${orders.map((order) => html`<tr key=${order.id}>
        <td>${order.reference}</td><td>${order.channel}</td><td>${order.status}</td><td><${Time} value=${order.updatedAt} /></td>
        <td><button type="button" class="secondary" onClick=${() => open(order.id, 'id')}>Timeline</button></td>
      </tr>`)}</tbody>
    </table></div>`}
  <//>`;
}
