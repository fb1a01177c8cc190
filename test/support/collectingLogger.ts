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
