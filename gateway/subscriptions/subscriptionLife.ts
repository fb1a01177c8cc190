/**
 * A subscription's life, as the async iterator graphql-ws holds for it. It yields nothing (the
 * hub writes results straight to the socket); it ends when the consumer returns it or the
 * subscriber falls too far behind, and fails with the error that ends the subscription, which
 * graphql-ws sends as the subscription's error. `onEnd` runs once, however it ends.
 */
export class SubscriptionLife implements AsyncIterableIterator<never> {
  private outcome: 'ended' | { readonly error: unknown } | null = null;
  private waiting: { resolve: (result: IteratorResult<never>) => void; reject: (error: unknown) => void } | null = null;

  constructor(
    private readonly onOverflow: () => void,
    private readonly onEnd: () => void,
  ) {}

  get ended(): boolean {
    return this.outcome !== null;
  }

  /** The subscriber fell too far behind: `onOverflow` decides what the consumer is told. */
  overflow(): void {
    if (this.end('ended')) this.onOverflow();
  }

  fail(error: unknown): void {
    this.end({ error });
  }

  next(): Promise<IteratorResult<never>> {
    const outcome = this.outcome;
    if (outcome === null) return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
    this.outcome = 'ended';
    return outcome === 'ended' ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(outcome.error);
  }

  /** The consumer is done (graphql-ws calls this when the client completes or disconnects). */
  return(): Promise<IteratorResult<never>> {
    this.end('ended');
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<never>> {
    this.end('ended');
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Records how the life ended, and tells a waiting consumer; false if it had ended already. */
  private end(outcome: 'ended' | { readonly error: unknown }): boolean {
    if (this.outcome !== null) return false;
    this.outcome = outcome;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) {
      this.outcome = 'ended';
      if (outcome === 'ended') waiting.resolve({ value: undefined, done: true });
      else waiting.reject(outcome.error);
    }
    this.onEnd();
    return true;
  }
}
