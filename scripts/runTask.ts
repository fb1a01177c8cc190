import { ConfigurationError, type Environment } from '../platform/config/environment.ts';

/** Runs a one-off command: a configuration error is one line; any failure exits non-zero. */
export function runTask(task: (env: Environment) => Promise<void>): void {
  task(process.env).catch((error: unknown) => {
    console.error(`stockgraph: ${error instanceof ConfigurationError ? error.message : (error as Error).stack ?? error}`);
    process.exit(1);
  });
}
