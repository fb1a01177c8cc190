import { ConfigurationError, type Environment } from './config/environment.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service's composition root: a configuration error ends the process with one line
 * naming the variable; SIGINT/SIGTERM stop the service gracefully.
 */
export function runService(start: (env: Environment) => Promise<Stoppable>): void {
  start(process.env).then(
    (service) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        service.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: unknown) => {
      if (error instanceof ConfigurationError) console.error(`stockgraph: ${error.message}`);
      else console.error('stockgraph: failed to start:', error);
      process.exit(1);
    },
  );
}
