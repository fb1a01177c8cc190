import type { Environment } from '../platform/config/environment.ts';
import { describeStartupError } from '../platform/runService.ts';

/** Runs a one-off command: a configuration error is one line; any failure exits non-zero. */
export function runTask(task: (env: Environment) => Promise<void>): void {
  task(process.env).catch((error: unknown) => {
    console.error(`stockgraph: ${describeStartupError(error)}`);
    process.exit(1);
  });
}
