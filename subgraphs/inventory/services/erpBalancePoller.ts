import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../../platform/logger.ts';
import { ErpUnavailableError, type InventoryBalancesClientOptions } from '../erp/inventoryBalancesClient.ts';
import type { ErpBalanceImport, ErpImportResult } from './erpBalanceImport.ts';

export interface ErpBalancePollerOptions {
  /** Time from the end of one pull to the start of the next, in milliseconds. */
  readonly intervalMs: number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called once a pull has changed stock levels (wakes the outbox relay). */
  readonly onCommitted: () => void;
}

type PullResult = ErpImportResult & { pages: number };

/**
 * Pulls the ERP's on-hand balances in 'full' mode: once on start(), then `intervalMs` after
 * each pull ends, so that pulls never overlap. A failed pull is logged and the next one
 * happens on schedule. Stopped for good by stop().
 */
export class ErpBalancePoller {
  private readonly intervalMs: number;
  private readonly logger: ErpBalancePollerOptions['logger'];
  private readonly onCommitted: () => void;
  private readonly stopping = new AbortController();
  private inFlight: Promise<PullResult> | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly importer: ErpBalanceImport,
    private readonly clientOptions: InventoryBalancesClientOptions,
    { intervalMs, logger, onCommitted }: ErpBalancePollerOptions,
  ) {
    this.intervalMs = intervalMs;
    this.logger = logger;
    this.onCommitted = onCommitted;
  }

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    const { signal } = this.stopping;
    this.loop = (async () => {
      while (!signal.aborted) {
        await this.pullNow().then(
          ({ rejected, ...counts }) => this.logger.info({ ...counts, rejected: rejected.length, firstRejected: rejected.slice(0, 10) }, 'ERP balances pulled'),
          (error: unknown) => this.logFailure(error),
        );
        await delay(this.intervalMs, undefined, { signal }).catch(() => {});
      }
    })();
  }

  /** Pulls now, or joins the pull under way; rejects with its error. */
  pullNow(): Promise<PullResult> {
    this.inFlight ??= this.importer.pull(this.clientOptions, this.stopping.signal)
      .then((result) => {
        if (result.updated > 0) this.onCommitted();
        return result;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  /** Aborts the pull under way, if any, and resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('ERP balance poller stopped'));
    await this.loop;
    await this.inFlight?.catch(() => {});
  }

  private logFailure(error: unknown): void {
    if (this.stopping.signal.aborted) return;
    if (error instanceof ErpUnavailableError) {
      this.logger.warn({ nextPullInMs: this.intervalMs }, `ERP balance pull failed: ${error.message}`);
    } else {
      this.logger.error({ err: error, nextPullInMs: this.intervalMs }, 'ERP balance pull failed');
    }
  }
}
