import { ConfigurationError, type Environment } from './config/environment.ts';
import { describeConnectionFailure } from './database/connectionErrors.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service's composition root: a configuration error ends the process with one line
 * naming the variable; SIGINT/SIGTERM stop the service gracefully, also when they arrive
 * while it is still starting.
 */
export function runService(start: (env: Environment) => Promise<Stoppable>): void {
  let stopRequested = false;
  const started = start(process.env);
  const stop = () => {
    if (stopRequested) return;
    stopRequested = true;
    started
      .then((service) => service.stop())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  started.catch((error: unknown) => {
    console.error(`stockgraph: ${describeStartupError(error)}`);
    process.exit(1);
  });
}

/** One line for a configuration error or an unreachable database, the whole story for anything else. */
export function describeStartupError(error: unknown): string {
  if (error instanceof ConfigurationError) return error.message;
  const unreachable = describeConnectionFailure(error);
  if (unreachable) return unreachable;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
