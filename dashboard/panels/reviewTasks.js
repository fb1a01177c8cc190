// Open review tasks (adjustments a reconciliation run proposes); with reconciliation:admin the
// operator approves, rejects or assigns them. New tasks come with new discrepancies.
import { useState } from 'preact/hooks';
import { html, formatNumber, Time } from '../format.js';
import { ActionButton, LiveError, Panel, Position, QueryState, useQuery, useReloadOn } from '../components.js';

const OPEN_TASKS = `query OpenReviewTasks { reviewTasks(filter: { status: [OPEN] }, first: 50) { nodes {
  id kind proposedAdjustment assignee createdAt stockLevel { sku locationId }
} } }`;
const DISCREPANCY_RAISED = `subscription TasksDiscrepancies($after: String) { discrepancyRaised(after: $after) { cursor } }`;
const APPROVE = `mutation Approve($taskId: ID!) { approveAdjustment(taskId: $taskId) { id status } }`;
const REJECT = `mutation Reject($taskId: ID!) { rejectAdjustment(taskId: $taskId) { id status } }`;
const ASSIGN = `mutation Assign($taskId: ID!, $assignee: String!) { assignTask(taskId: $taskId, assignee: $assignee) { id assignee } }`;

function AssignForm({ api, task, viewer, onDone }) {
  const [assignee, setAssignee] = useState(task.assignee ?? viewer.name);
  return html`<span class="actions">
    <label class="visually-hidden" for=${`assignee-${task.id}`}>Assignee of task ${task.id}</label>
    <input id=${`assignee-${task.id}`} size="10" value=${assignee} onInput=${(event) => setAssignee(event.currentTarget.value)} />
    <${ActionButton} label="Assign" secondary run=${() => api.request(ASSIGN, { taskId: task.id, assignee })} onDone=${onDone} />
  </span>`;
}

export function ReviewTasks({ api, admin, viewer }) {
  const result = useQuery(api, OPEN_TASKS);
  const liveError = useReloadOn(api, DISCREPANCY_RAISED, 'discrepancyRaised', result.reload);
  const tasks = result.data?.reviewTasks.nodes ?? [];
  const state = QueryState({ ...result, empty: tasks.length === 0, emptyText: 'No open review task.' });
  return html`<${Panel} title="Open review tasks" id="review-tasks">
    <${LiveError} error=${liveError} />
    ${state ?? html`<div class="scroll"><table>
      <thead><tr><th>Position</th><th class="num">Adjust by</th><th>Assignee</th><th>Opened</th>${admin && html`<th>Actions</th>`}</tr></thead>
      <tbody>${tasks.map((task) => html`<tr key=${task.id} data-task-id=${task.id}>
        <td><${Position} stockLevel=${task.stockLevel} /> <small>${task.kind}</small></td>
        <td class="num">${formatNumber(task.proposedAdjustment)}</td>
        <td>${task.assignee ?? '–'}</td>
        <td><${Time} value=${task.createdAt} /></td>
        ${admin && html`<td class="actions">
          <${ActionButton} label="Approve" run=${() => api.request(APPROVE, { taskId: task.id })} onDone=${result.reload} />
          <${ActionButton} label="Reject" secondary run=${() => api.request(REJECT, { taskId: task.id })} onDone=${result.reload} />
          <${AssignForm} api=${api} task=${task} viewer=${viewer} onDone=${result.reload} />
        </td>`}
      </tr>`)}</tbody>
    </table></div>`}
  <//>`;
}
