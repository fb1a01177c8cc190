import { pino, type Logger } from 'pino';
import { currentCorrelationId } from './observability/requestContext.ts';

export type { Logger };

/**
 * One JSON logger per process; services take a child named after themselves. Every line written
 * while a request or an event is handled carries its `correlationId` (the request context).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  // pino calls the mixin per line written, never for a line below the level.
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, mixin: correlationMixin }, destination);
}

function correlationMixin(): { correlationId?: string } {
  const correlationId = currentCorrelationId();
  return correlationId === undefined ? {} : { correlationId };
}
