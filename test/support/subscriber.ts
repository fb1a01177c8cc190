// One subscription through the gateway's WebSocket, as a client runs it, for tests that await
// what it delivers instead of sleeping.
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';

export interface Subscriber<T> {
  /** The root field's objects, in the order delivered. */
  readonly received: T[];
  /** Each result's `extensions.correlationId`, in the same order (null when it had none). */
  readonly correlationIds: (string | null)[];
  /** Resolves once `done` holds for what has arrived; fails on the subscription's first error, or after `timeoutMs` (a deadline, not a wait). */
  until(done: (received: readonly T[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes to `query` on the gateway at `gatewayUrl`, authenticated by `headers.authorization`; `field` is the root field's response key. */
export function subscribe<T>(gatewayUrl: string, headers: Record<string, string>, query: string, variables: Record<string, unknown>, field: string): Subscriber<T> {
  const client = createClient({ url: `${gatewayUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: headers });
  const received: T[] = [];
  const correlationIds: (string | null)[] = [];
  const failures: unknown[] = [];
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((waiter) => waiter());
  client.subscribe<Record<string, T>>({ query, variables }, {
    next: ({ data, errors, extensions }) => {
      if (errors) failures.push(errors);
      if (data?.[field]) {
        received.push(data[field]!);
        correlationIds.push(((extensions as { correlationId?: string } | undefined)?.correlationId) ?? null);
      }
      wake();
    },
    error: (error) => (failures.push(error), wake()),
    complete: () => {},
  });
  return {
    received,
    correlationIds,
    until: (done, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const finish = (error?: Error) => (clearTimeout(timer), waiters.delete(check), error ? reject(error) : resolve());
        const check = () => {
          if (failures.length) return finish(new Error(`the ${field} subscription failed: ${JSON.stringify(failures)}`));
          if (done(received)) finish();
        };
        const timer = setTimeout(() => finish(new Error(`${field}: not there after ${timeoutMs} ms; received ${JSON.stringify(received)}`)), timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => client.dispose() as Promise<void>,
  };
}
