import { afterEach } from 'node:test';

/**
 * Registers clean-ups as a test starts things; after each test they run newest first, so that
 * what was started last stops first.
 */
export function useCleanup(): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return (cleanup) => void cleanups.push(cleanup);
}
