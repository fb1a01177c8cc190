import { setTimeout as delay } from 'node:timers/promises';

/**
 * Runs `round` at once and then `intervalMs` after each round ends, so that rounds never
 * overlap, until `signal` aborts. A round that fails is handed to `onError` (unless the loop is
 * stopping) and the next one runs on schedule. Resolves once the loop has ended; never rejects.
 */
export async function runPeriodically(
  round: () => Promise<unknown>,
  { intervalMs, signal, onError }: { intervalMs: number; signal: AbortSignal; onError: (error: unknown) => void },
): Promise<void> {
  while (!signal.aborted) {
    try {
      await round();
    } catch (error) {
      if (!signal.aborted) onError(error);
    }
    await delay(intervalMs, undefined, { signal }).catch(() => {});
  }
}
