// Open and acknowledged alerts; with reconciliation:admin, acknowledge and resolve.
import { html, Time } from '../format.js';
import { ActionButton, LiveError, Panel, Position, QueryState, useQuery, useReloadOn } from '../components.js';

const ALERTS = `query OpenAlerts { alerts(filter: { status: [OPEN, ACKNOWLEDGED] }, first: 50) { nodes {
  id kind status message createdAt stockLevel { sku locationId }
} } }`;
const DISCREPANCY_RAISED = `subscription AlertsDiscrepancies($after: String) { discrepancyRaised(after: $after) { cursor } }`;
const ACKNOWLEDGE = `mutation Acknowledge($alertId: ID!) { acknowledgeAlert(alertId: $alertId) { id status } }`;
const RESOLVE = `mutation Resolve($alertId: ID!) { resolveAlert(alertId: $alertId) { id status } }`;

export function Alerts({ api, admin }) {
  const result = useQuery(api, ALERTS);
  const liveError = useReloadOn(api, DISCREPANCY_RAISED, 'discrepancyRaised', result.reload);
  const alerts = result.data?.alerts.nodes ?? [];
  const state = QueryState({ ...result, empty: alerts.length === 0, emptyText: 'No open alert.' });
  return html`<${Panel} title="Alerts" id="alerts">
    <${LiveError} error=${liveError} />
    ${state ?? html`<div class="scroll"><table>
      <thead><tr><th>Position</th><th>Alert</th><th>Raised</th>${admin && html`<th>Actions</th>`}</tr></thead>
      <tbody>${alerts.map((alert) => html`<tr key=${alert.id} data-alert-id=${alert.id}>
        <td><${Position} stockLevel=${alert.stockLevel} /></td>
        <td><span class=${`badge ${alert.status === 'OPEN' ? 'bad' : 'warn'}`}>${alert.status}</span> ${alert.message}</td>
        <td><${Time} value=${alert.createdAt} /></td>
        ${admin && html`<td class="actions">
          ${alert.status === 'OPEN' && html`<${ActionButton} label="Acknowledge" secondary run=${() => api.request(ACKNOWLEDGE, { alertId: alert.id })} onDone=${result.reload} />`}
          <${ActionButton} label="Resolve" run=${() => api.request(RESOLVE, { alertId: alert.id })} onDone=${result.reload} />
        </td>`}
      </tr>`)}</tbody>
    </table></div>`}
  <//>`;
}
