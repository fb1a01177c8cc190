// The latest reconciliation runs and their accuracy over time (a plain SVG line: one series,
// no chart library needed).
import { html, formatNumber, formatPercent, Time } from '../format.js';
import { Panel, QueryState, useQuery } from '../components.js';

const RUNS = `query ReconciliationRuns { reconciliationRuns(first: 30) { nodes {
  id status startedAt finishedAt positionsCompared matched accuracy reviewed alerted autoCorrected locationIds error
} } }`;
const WIDTH = 360;
const HEIGHT = 160;
const MARGIN = 28;

function AccuracyChart({ runs }) {
  const finished = runs.filter((run) => run.finishedAt).reverse(); // oldest first
  if (finished.length < 2) return html`<p class="state">The chart needs two finished runs.</p>`;
  const times = finished.map((run) => Date.parse(run.startedAt));
  const [first, last] = [Math.min(...times), Math.max(...times)];
  const low = Math.min(0.9, ...finished.map((run) => run.accuracy));
  const x = (time) => MARGIN + ((time - first) / Math.max(1, last - first)) * (WIDTH - MARGIN * 1.5);
  const y = (accuracy) => HEIGHT - MARGIN + ((low - accuracy) / (1 - low || 1)) * (HEIGHT - MARGIN * 1.5);
  const points = finished.map((run, index) => `${x(times[index]).toFixed(1)},${y(run.accuracy).toFixed(1)}`).join(' ');
  return html`<svg class="chart" viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${`Accuracy of the last ${finished.length} runs, from ${formatPercent(finished[0].accuracy)} to ${formatPercent(finished.at(-1).accuracy)}`}>
    <line class="axis" x1=${MARGIN} y1=${y(1)} x2=${WIDTH - MARGIN / 2} y2=${y(1)} />
    <line class="axis" x1=${MARGIN} y1=${y(low)} x2=${WIDTH - MARGIN / 2} y2=${y(low)} />
    <text x="2" y=${y(1) + 4}>${formatPercent(1)}</text>
    <text x="2" y=${y(low) + 4}>${formatPercent(low)}</text>
    <polyline class="line" points=${points} />
    ${finished.map((run, index) => html`<circle cx=${x(times[index])} cy=${y(run.accuracy)} r="3" fill="currentColor"><title>${formatPercent(run.accuracy)} on ${new Date(run.startedAt).toLocaleString()}</title></circle>`)}
  </svg>`;
}

export function ReconciliationRuns({ api }) {
  const result = useQuery(api, RUNS);
  const refresh = html`<button type="button" class="secondary" onClick=${result.reload}>Refresh</button>`;
  const runs = result.data?.reconciliationRuns.nodes ?? [];
  const state = QueryState({ ...result, empty: runs.length === 0, emptyText: 'No reconciliation run yet.' });
  return html`<${Panel} title="Reconciliation runs" id="reconciliation-runs" actions=${refresh}>
    ${state ?? html`
      <${AccuracyChart} runs=${runs} />
      <div class="scroll"><table>
        <thead><tr><th>Started</th><th>Status</th><th class="num">Compared</th><th class="num">Accuracy</th><th class="num">Review / alert</th></tr></thead>
        <tbody>${runs.slice(0, 10).map((run) => html`<tr data-run-id=${run.id}>
          <td><${Time} value=${run.startedAt} /></td>
          <td>${run.status}${run.error ? html` <span class="error">${run.error}</span>` : ''}</td>
          <td class="num">${formatNumber(run.positionsCompared)}</td>
          <td class="num">${formatPercent(run.accuracy)}</td>
          <td class="num">${formatNumber(run.reviewed)} / ${formatNumber(run.alerted)}</td>
        </tr>`)}</tbody>
      </table></div>`}
  <//>`;
}
