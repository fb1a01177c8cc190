import { currentCorrelationId, runOnBehalfOf } from '../observability/requestContext.ts';

/** Runs one batch of requests that share a key; returns one result or Error per request, in order. */
export type BatchRunner<Request, Result> = (key: string, requests: readonly Request[]) => Promise<readonly (Result | Error)[]>;

interface Waiting<Request, Result> {
  readonly request: Request;
  /** The submitter's, so that a batch runs under the id its requests share (runOnBehalfOf). */
  readonly correlationId: string | null;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

interface KeyState<Request, Result> {
  readonly waiting: Waiting<Request, Result>[];
  running: number;
}

export interface KeyedBatcherOptions<Request> {
  /** The most requests in one batch, or with `sizeOf` the most units; a larger request runs alone. */
  readonly maxBatchSize?: number;
  /** How many units a request counts for toward maxBatchSize (1 by default): e.g. the items of a request that carries several. */
  readonly sizeOf?: (request: Request) => number;
  /**
   * Batches of one key that may run at once. Two let the next batch do its work that needs no
   * lock while the one before it holds the lock, so that a hot key's lock is never idle.
   */
  readonly maxConcurrentBatches?: number;
}

/**
 * Group commit per key: a request whose key is idle runs at once, alone; requests that arrive
 * while batches for their key are running wait and then run together, as the next batch. So a
 * hot key pays for one transaction per batch instead of one per request, while requests for
 * different keys run side by side. A batch that throws rejects every request in it. A batch
 * runs under its requests' correlation id when they share one, under none otherwise.
 */
export class KeyedBatcher<Request, Result> {
  private readonly stateByKey = new Map<string, KeyState<Request, Result>>();
  private readonly maxBatchSize: number;
  private readonly maxConcurrentBatches: number;
  private readonly sizeOf: (request: Request) => number;

  constructor(
    private readonly runBatch: BatchRunner<Request, Result>,
    { maxBatchSize = 200, maxConcurrentBatches = 1, sizeOf = () => 1 }: KeyedBatcherOptions<Request> = {},
  ) {
    this.maxBatchSize = maxBatchSize;
    this.maxConcurrentBatches = maxConcurrentBatches;
    this.sizeOf = sizeOf;
  }

  submit(key: string, request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      let state = this.stateByKey.get(key);
      if (!state) this.stateByKey.set(key, (state = { waiting: [], running: 0 }));
      state.waiting.push({ request, correlationId: currentCorrelationId() ?? null, resolve, reject });
      if (state.running < this.maxConcurrentBatches) void this.drain(key, state);
    });
  }

  private async drain(key: string, state: KeyState<Request, Result>): Promise<void> {
    state.running += 1;
    while (state.waiting.length > 0) {
      const batch = state.waiting.splice(0, this.countThatFit(state.waiting));
      try {
        const results = await runOnBehalfOf(batch, () => this.runBatch(key, batch.map((waiting) => waiting.request)));
        if (results.length !== batch.length) throw new TypeError(`KeyedBatcher: the runner returned ${results.length} results for ${batch.length} requests`);
        batch.forEach((waiting, index) => {
          const result = results[index]!;
          if (result instanceof Error) waiting.reject(result);
          else waiting.resolve(result);
        });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    state.running -= 1;
    if (state.running === 0) this.stateByKey.delete(key);
  }

  /** How many of the first waiting requests make the next batch: as many as fit, and at least one. */
  private countThatFit(waiting: readonly Waiting<Request, Result>[]): number {
    let size = 0;
    let count = 0;
    while (count < waiting.length && (count === 0 || size + this.sizeOf(waiting[count]!.request) <= this.maxBatchSize)) {
      size += this.sizeOf(waiting[count]!.request);
      count += 1;
    }
    return count;
  }
}
