import { setImmediate as nextTurn } from 'node:timers/promises';
import { runPeriodically } from './runPeriodically.ts';

export interface BatchSweeperOptions {
  /** The most one call of the sweep handles; a full batch means more may be due at once. */
  readonly batchSize: number;
  readonly intervalMs: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Calls `sweepBatch` batch after batch until one comes back short of `batchSize` (or `stopped`
 * says so); returns how many items the batches handled.
 */
export async function sweepUntilShort(
  sweepBatch: (batchSize: number) => Promise<number>,
  batchSize: number,
  stopped: () => boolean = () => false,
): Promise<number> {
  let total = 0;
  let handled = batchSize;
  while (handled === batchSize && !stopped()) {
    handled = await sweepBatch(batchSize);
    total += handled;
    // On the embedded database a batch can complete without any I/O, its promises settled as
    // microtasks: without a turn of the event loop between batches, requests and timers would
    // wait for the whole sweep.
    await nextTurn();
  }
  return total;
}

/**
 * Runs a sweep every `intervalMs`, batch after batch until one comes back short of
 * `batchSize`. `sweepBatch` handles up to that many due items and returns how many it handled;
 * several replicas may sweep at once when it claims its items (FOR UPDATE SKIP LOCKED).
 */
export class BatchSweeper {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly sweepBatch: (batchSize: number) => Promise<number>,
    private readonly options: BatchSweeperOptions,
  ) {}

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    const { signal } = this.stopping;
    const { batchSize, intervalMs, onError } = this.options;
    this.loop = runPeriodically(() => sweepUntilShort(this.sweepBatch, batchSize, () => signal.aborted), { intervalMs, signal, onError });
  }

  /** Resolves once the batch under way, if any, has committed or failed. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }
}
