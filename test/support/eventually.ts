import { setTimeout as delay } from 'node:timers/promises';

/**
 * Resolves with `probe`'s value once `done` holds for it, probing every `intervalMs`; fails after
 * `timeoutMs` with the last value seen. For effects that no event announces (a row a background
 * consumer writes): where an event can be awaited, await it instead.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 20, what = 'the expected state' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(value)}`);
    await delay(intervalMs);
  }
}
