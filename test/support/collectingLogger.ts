import { createLogger } from '../../platform/logger.ts';

/** A logger that keeps the arguments of each call per level, for tests that check what was logged. */
export function collectingLogger() {
  const calls = { info: [] as unknown[][], warn: [] as unknown[][], error: [] as unknown[][] };
  const logger = {
    info: (...args: unknown[]) => void calls.info.push(args),
    warn: (...args: unknown[]) => void calls.warn.push(args),
    error: (...args: unknown[]) => void calls.error.push(args),
  };
  return { calls, logger };
}

/** A real logger (platform/logger.ts, every level) whose JSON lines are kept in `lines`, for tests that check what the system writes. */
export function capturedLogLines() {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
  return { lines, logger, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
