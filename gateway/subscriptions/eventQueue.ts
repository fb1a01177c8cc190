/**
 * The events waiting for one subscriber, as the async iterator graphql-ws sends from. Bounded:
 * a subscriber that lets more than `maxWaiting` pile up is a slow consumer, and the queue ends
 * rather than grow; `onEnd` runs once however it ends (consumer done, failure, overflow).
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  private failure: { error: unknown } | null = null;
  private ended = false;

  constructor(
    private readonly maxWaiting: number,
    private readonly onOverflow: () => void,
    private readonly onEnd: () => void,
  ) {}

  /** How many events may wait; also the bound for what a subscriber holds elsewhere. */
  get capacity(): number {
    return this.maxWaiting;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
    } else if (this.items.length >= this.maxWaiting) {
      this.overflow();
    } else {
      this.items.push(item);
    }
  }

  /** Ends the queue as a slow consumer's: `onOverflow` decides what the consumer is told. */
  overflow(): void {
    if (this.ended) return;
    this.end();
    this.onOverflow();
  }

  /** Ends the queue: what is waiting is still delivered, then `error` is thrown to the consumer. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = null;
      reject(error);
    }
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = null;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The consumer is done (graphql-ws calls this when the client completes or disconnects). */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = null;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }
}
