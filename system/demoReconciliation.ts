import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../platform/logger.ts';
import { gatewayRequest } from './gatewayRequest.ts';

interface RunState {
  readonly id: string;
  readonly status: 'RUNNING' | 'COMPLETED' | 'FAILED';
  readonly positionsCompared: number;
  readonly matched: number;
  readonly autoCorrected: number;
  readonly reviewed: number;
  readonly alerted: number;
  readonly error: string | null;
}

const RUN_FIELDS = 'id status positionsCompared matched autoCorrected reviewed alerted error';

/**
 * The demo's first reconciliation run, started through the gateway as an operator would
 * (startReconciliation over every location), once the demo orders have moved their stock:
 * its discrepancies, review tasks, alerts and holds are the running code's. Returns the run
 * once it has finished.
 */
export async function seedDemoReconciliation({ gatewayUrl, headers = {}, logger, timeoutMs = 120_000 }: {
  readonly gatewayUrl: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly logger: Pick<Logger, 'info'>;
  readonly timeoutMs?: number;
}): Promise<RunState> {
  const graphql = <Data>(query: string, variables: Record<string, unknown> = {}) => gatewayRequest<Data>(gatewayUrl, headers, query, variables);
  const { startReconciliation: started } = await graphql<{ startReconciliation: RunState }>(`mutation { startReconciliation { ${RUN_FIELDS} } }`);
  const deadline = Date.now() + timeoutMs;
  for (let run = started; ; ) {
    if (run.status === 'FAILED') throw new Error(`the demo reconciliation run ${run.id} failed: ${run.error}`);
    if (run.status === 'COMPLETED') {
      logger.info({ run: run.id, positionsCompared: run.positionsCompared, matched: run.matched, autoCorrected: run.autoCorrected, reviewed: run.reviewed, alerted: run.alerted }, 'demo reconciliation run completed');
      return run;
    }
    if (Date.now() > deadline) throw new Error(`the demo reconciliation run ${run.id} did not finish within ${timeoutMs} ms`);
    await delay(100);
    run = (await graphql<{ reconciliationRun: RunState }>(`query ($id: ID!) { reconciliationRun(id: $id) { ${RUN_FIELDS} } }`, { id: run.id })).reconciliationRun;
  }
}
