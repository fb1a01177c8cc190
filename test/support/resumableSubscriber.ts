// A stock-change subscriber as a well-behaved client runs one: whenever its subscription ends
// (an error, its gateway gone), it subscribes again, to the gateway it is pointed at next, after
// the cursor of the last change it received.
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';

export interface ReceivedChange {
  readonly cursor: string;
  readonly sku: string;
  readonly locationId: string;
  readonly sequence: number;
}

const RESUBSCRIBE_DELAY_MS = 100;

const STOCK_CHANGED = `
  subscription ($skus: [ID!], $after: String) {
    stockChanged(skus: $skus, after: $after) { cursor sku locationId sequence }
  }`;

export interface ResumableSubscriber {
  readonly received: ReceivedChange[];
  /** Why each subscription ended: the GraphQL errors or the socket's close event. */
  readonly interruptions: unknown[];
  /** How many times it subscribed again after an interruption. */
  readonly resumptions: number;
  /** Resolves once `count` changes have arrived; fails after `timeoutMs`. */
  until(count: number, timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Subscribes to `skus`' changes after `after`; `gatewayUrl()` is asked for the gateway's base
 * URL at every (re)subscription, so that a test can steer a subscriber away from a dead replica.
 */
export function resumableSubscriber({ gatewayUrl, apiKey, skus, after }: { gatewayUrl: () => string; apiKey: string; skus: readonly string[]; after: string }): ResumableSubscriber {
  const received: ReceivedChange[] = [];
  const interruptions: unknown[] = [];
  const waiters = new Set<() => void>();
  let resumptions = 0;
  let disposed = false;
  let client: Client | null = null;

  const subscribe = () => {
    const cursor = received.at(-1)?.cursor ?? after;
    const current = createClient({ url: `${gatewayUrl().replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0, lazy: true });
    client = current;
    const resume = (why: unknown) => {
      if (disposed || client !== current) return;
      interruptions.push(why);
      resumptions += 1;
      void current.dispose();
      // A client's reconnect delay, as graphql-ws's own retries wait: not a tight loop against a gateway that is gone.
      setTimeout(() => disposed || subscribe(), RESUBSCRIBE_DELAY_MS);
    };
    current.subscribe<{ stockChanged: ReceivedChange }>(
      { query: STOCK_CHANGED, variables: { skus, after: cursor } },
      {
        next: ({ data, errors }) => {
          if (errors) return resume(errors);
          received.push(data!.stockChanged);
          for (const waiter of waiters) waiter();
        },
        error: resume,
        complete: () => resume('completed'),
      },
    );
  };
  subscribe();

  return {
    received,
    interruptions,
    get resumptions() {
      return resumptions;
    },
    until: (count, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`only ${received.length} of ${count} changes after ${timeoutMs} ms; interruptions: ${JSON.stringify(interruptions.slice(-3))}`))), timeoutMs);
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    dispose: async () => {
      disposed = true;
      await client?.dispose();
    },
  };
}
