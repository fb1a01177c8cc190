// Active holds on order releases (placed by alerts); with reconciliation:admin, release them.
import { html, Time } from '../format.js';
import { ActionButton, LiveError, Panel, Position, QueryState, useQuery, useReloadOn } from '../components.js';

const HOLDS = `query ActiveHolds { holds(filter: { status: [ACTIVE] }, first: 50) { nodes { id reason placedAt stockLevel { sku locationId } } } }`;
const HOLD_CHANGED = `subscription HoldChanged($after: String) { holdChanged(after: $after) { cursor } }`;
const RELEASE = `mutation ReleaseHold($holdId: ID!) { releaseHold(holdId: $holdId) { id status } }`;

export function Holds({ api, admin }) {
  const result = useQuery(api, HOLDS);
  const liveError = useReloadOn(api, HOLD_CHANGED, 'holdChanged', result.reload);
  const holds = result.data?.holds.nodes ?? [];
  const state = QueryState({ ...result, empty: holds.length === 0, emptyText: 'No active hold.' });
  return html`<${Panel} title="Holds on order releases" id="holds">
    <${LiveError} error=${liveError} />
    ${state ?? html`<div class="scroll"><table>
      <thead><tr><th>Position</th><th>Reason</th><th>Placed</th>${admin && html`<th>Action</th>`}</tr></thead>
      <tbody>${holds.map((hold) => html`<tr key=${hold.id} data-hold-id=${hold.id}>
        <td><${Position} stockLevel=${hold.stockLevel} /></td>
        <td>${hold.reason}</td>
        <td><${Time} value=${hold.placedAt} /></td>
        ${admin && html`<td><${ActionButton} label="Release" run=${() => api.request(RELEASE, { holdId: hold.id })} onDone=${result.reload} /></td>`}
      </tr>`)}</tbody>
    </table></div>`}
  <//>`;
}
