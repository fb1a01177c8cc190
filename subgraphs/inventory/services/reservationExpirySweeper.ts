import { runPeriodically } from '../../../platform/concurrency/runPeriodically.ts';
import type { ReservationService } from './reservationService.ts';

const BATCH_SIZE = 500;

/**
 * Expires reservations past their time to live: every `intervalMs`, batch after batch until
 * none is due. Several replicas may sweep at once (see ReservationService.expireDue).
 */
export class ReservationExpirySweeper {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly reservations: ReservationService,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    const { signal } = this.stopping;
    this.loop = runPeriodically(async () => {
      while (!signal.aborted && (await this.reservations.expireDue(BATCH_SIZE)) === BATCH_SIZE);
    }, { intervalMs: this.intervalMs, signal, onError: this.onError });
  }

  /** Resolves once the batch under way, if any, has committed or failed. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }
}
