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
  // One client: graphql-ws reconnects a dropped socket itself, with its own backoff, to the URL
  // asked anew each time, and subscribes again with the same payload, whose cursor is kept at
  // the last change received.
  const client: Client = createClient({
    url: () => `${gatewayUrl().replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    lazy: true,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => !disposed,
    on: { closed: (event) => void (disposed || (interruptions.push(event), (resumptions += 1))) },
  });
  const payload = { query: STOCK_CHANGED, variables: { skus, after } };

  // A subscription the gateway ends (an error, its upstream away) is subscribed to again at once.
  const subscribe = () => {
    client.subscribe<{ stockChanged: ReceivedChange }>(payload, {
      next: ({ data, errors }) => {
        if (errors) return void interruptions.push(errors);
        received.push(data!.stockChanged);
        payload.variables.after = data!.stockChanged.cursor;
        for (const waiter of waiters) waiter();
      },
      error: (error) => {
        if (disposed) return;
        interruptions.push(error);
        resumptions += 1;
        subscribe();
      },
      complete: () => disposed || subscribe(),
    });
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
        // A deadline that fails the test with what went wrong, not a wait: it is cleared on the change awaited.
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
      await client.dispose();
    },
  };
}
