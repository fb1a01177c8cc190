/** Runs one batch of requests that share a key; returns one result or Error per request, in order. */
export type BatchRunner<Request, Result> = (key: string, requests: readonly Request[]) => Promise<readonly (Result | Error)[]>;

interface Waiting<Request, Result> {
  readonly request: Request;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit per key: a request whose key is idle runs at once, alone; requests that arrive
 * while a batch for their key is running wait and then run together, as the next batch. So a
 * hot key pays for one transaction per batch instead of one per request, while requests for
 * different keys run side by side. A batch that throws rejects every request in it.
 */
export class KeyedBatcher<Request, Result> {
  private readonly waitingByKey = new Map<string, Waiting<Request, Result>[]>();

  constructor(
    private readonly runBatch: BatchRunner<Request, Result>,
    private readonly maxBatchSize = 200,
  ) {}

  submit(key: string, request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      const waiting = this.waitingByKey.get(key);
      if (waiting) return void waiting.push({ request, resolve, reject });
      const queue = [{ request, resolve, reject }];
      this.waitingByKey.set(key, queue);
      void this.drain(key, queue);
    });
  }

  private async drain(key: string, queue: Waiting<Request, Result>[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, this.maxBatchSize);
      try {
        const results = await this.runBatch(key, batch.map((waiting) => waiting.request));
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
    this.waitingByKey.delete(key);
  }
}
