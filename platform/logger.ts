import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; services take a child named after themselves. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
