// The ERP sync ledger: counts by status, the oldest pending age, and the failed transactions
// with their last error; an operator with reconciliation:admin can redrive them.
import { html, formatDuration, formatNumber, Time } from '../format.js';
import { ActionButton, LiveError, Panel, Position, QueryState, useQuery, useReloadOn } from '../components.js';

const SYNC_BACKLOG = `query SyncBacklog {
  syncBacklog { pending synced failed oldestPendingAgeSeconds erpCircuitOpen }
  syncTransactions(filter: { status: [SYNC_FAILED] }, first: 20) {
    nodes { id transactionId kind quantity attempts lastError failedAt stockLevel { sku locationId } }
  }
}`;
const SYNC_FAILED = `subscription SyncFailed($after: String) { syncFailed(after: $after) { cursor } }`;
const REDRIVE = `mutation Redrive($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id status } }`;

export function SyncBacklog({ api, admin }) {
  const result = useQuery(api, SYNC_BACKLOG);
  const liveError = useReloadOn(api, SYNC_FAILED, 'syncFailed', result.reload);
  const state = QueryState(result);
  const refresh = html`<button type="button" class="secondary" onClick=${result.reload}>Refresh</button>`;
  if (state) return html`<${Panel} title="ERP sync backlog" id="sync-backlog" actions=${refresh}>${state}<//>`;
  const { syncBacklog: backlog, syncTransactions } = result.data;
  return html`<${Panel} title="ERP sync backlog" id="sync-backlog" actions=${refresh}>
    <${LiveError} error=${liveError} />
    <dl class="facts">
      <dt>Pending</dt><dd data-count="pending">${formatNumber(backlog.pending)}${backlog.pending > 0 ? ` (oldest ${formatDuration(backlog.oldestPendingAgeSeconds)})` : ''}</dd>
      <dt>Failed</dt><dd data-count="failed">${formatNumber(backlog.failed)}</dd>
      <dt>Synced (kept)</dt><dd>${formatNumber(backlog.synced)}</dd>
      <dt>ERP circuit</dt><dd>${backlog.erpCircuitOpen ? html`<span class="badge bad">open: ERP not called</span>` : html`<span class="badge ok">closed</span>`}</dd>
    </dl>
    <h3 class="visually-hidden">Failed transactions</h3>
    ${syncTransactions.nodes.length === 0 ? html`<p class="state">No failed transaction.</p>` : html`<div class="scroll"><table>
      <thead><tr><th>Transaction</th><th>Position</th><th class="num">Qty</th><th>Last error</th><th>Failed</th>${admin && html`<th>Action</th>`}</tr></thead>
      <tbody>${syncTransactions.nodes.map((transaction) => html`<tr data-sync-id=${transaction.id}>
        <td>${transaction.transactionId} (${transaction.kind}, ${formatNumber(transaction.attempts)} attempts)</td>
        <td><${Position} stockLevel=${transaction.stockLevel} /></td>
        <td class="num">${formatNumber(transaction.quantity)}</td>
        <td>${transaction.lastError ?? '–'}</td>
        <td><${Time} value=${transaction.failedAt} /></td>
        ${admin && html`<td><${ActionButton} label="Redrive" run=${() => api.request(REDRIVE, { ids: [transaction.id] })} onDone=${result.reload} /></td>`}
      </tr>`)}</tbody>
    </table></div>`}
  <//>`;
}
