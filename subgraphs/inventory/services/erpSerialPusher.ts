import { runPeriodically } from '../../../platform/concurrency/runPeriodically.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Logger } from '../../../platform/logger.ts';
import {
  claimDueSerialBatches, serialBatchBacklog, settleSerialBatch, type ClaimedSerialBatch, type SerialBatchBacklog, type SerialBatchOutcome,
} from '../data/erpSerialBatchStore.ts';
import { ErpRefusal, TransientErpFailure } from '../erp/erpHttp.ts';
import { postStagedTransaction, type StagedTransactionsClientOptions } from '../erp/stagedTransactionsClient.ts';

export interface ErpSerialPusherOptions {
  /** Stockgraph location id -> the ERP organization it is. */
  readonly locationOrganizations: ReadonlyMap<string, string>;
  /** How often to look for batches that are due, in milliseconds. */
  readonly intervalMs: number;
  /**
   * Wait before a failed batch is sent again, in milliseconds; doubled after each failure, up to
   * maxRetryBackoffMs. With 0 a round resends at once until the ERP takes the batch (tests).
   */
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs?: number;
  /** Calls under way at once. */
  readonly concurrency?: number;
  /**
   * How long a claimed batch is left to its pusher before another may send it, in milliseconds:
   * longer than a call can take, so that only a pusher that died loses its batches to another.
   */
  readonly leaseMs?: number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface PushRound {
  /** Batches the ERP accepted. */
  readonly sent: number;
  /** Batches that failed and will be sent again after their backoff. */
  readonly retrying: number;
  /** Batches the ERP refused, or that cannot be sent; they wait for an operator. */
  readonly refused: number;
}

// How often the backlog is logged while nothing moves, so that a stuck backlog is still seen.
const QUIET_BACKLOG_LOG_INTERVAL_MS = 60_000; // 1 minute

/**
 * Sends the serials of shipped transfers to the ERP, one staged transaction per batch of at
 * most 50 (planned when the transfer shipped), and records what the ERP accepted. Safe on any
 * number of replicas: each batch is claimed under a lease by one pusher at a time.
 *
 * Every batch reaches the ERP at least once, under the same reference each time, so that the
 * ERP recognises a resend (after a lost answer, a timeout or a crash) as the batch it already
 * has. A failure that may pass (5xx, 429, timeout, no connection) is retried with exponential
 * backoff for as long as it lasts; a refusal (other 4xx), or a location with no ERP
 * organization, marks the batch FAILED with the reason and it is not sent again.
 */
export class ErpSerialPusher {
  private readonly options: Required<Omit<ErpSerialPusherOptions, 'logger' | 'locationOrganizations'>>;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private lastBacklogLogAt = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly client: StagedTransactionsClientOptions,
    private readonly settings: ErpSerialPusherOptions,
  ) {
    const { intervalMs, retryBackoffMs, maxRetryBackoffMs = 300_000 /* 5 minutes */, concurrency = 4 } = settings;
    const { leaseMs = 2 * client.timeoutMs + 30_000 } = settings;
    if (leaseMs <= client.timeoutMs) throw new TypeError(`leaseMs (${leaseMs}) must exceed the client's timeoutMs (${client.timeoutMs}), or a slow call would be sent twice at once`);
    this.options = { intervalMs, retryBackoffMs, maxRetryBackoffMs, concurrency, leaseMs };
  }

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    const { signal } = this.stopping;
    this.loop = runPeriodically(async () => {
      const round = await this.pushDue();
      if (!signal.aborted) await this.reportBacklog(round);
    }, {
      intervalMs: this.options.intervalMs,
      signal,
      onError: (error) => this.settings.logger.error({ err: error }, 'ERP serial push failed; retrying'),
    });
  }

  /**
   * Sends every batch that is due, until none is: those whose backoff or lease has not run out
   * wait for a later round. Resolves early, releasing what it holds, once stop() is called.
   */
  async pushDue(): Promise<PushRound> {
    const counts = { sent: 0, retrying: 0, refused: 0 };
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const batches = await claimDueSerialBatches(this.prisma, this.options.concurrency, this.options.leaseMs);
      if (batches.length === 0) break;
      for (const outcome of await Promise.all(batches.map((batch) => this.push(batch)))) {
        if (outcome.kind === 'sent') counts.sent++;
        else if (outcome.kind === 'retry') counts.retrying++;
        else if (outcome.kind === 'refused') counts.refused++;
      }
    }
    return counts;
  }

  backlog(): Promise<SerialBatchBacklog> {
    return serialBatchBacklog(this.prisma);
  }

  /** Aborts the calls under way, releases their batches, and resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('ERP serial pusher stopped'));
    await this.loop;
  }

  private async push(batch: ClaimedSerialBatch): Promise<SerialBatchOutcome> {
    const outcome = await this.send(batch);
    // A claim overtaken by another pusher (its lease ran out) leaves the batch to that one.
    if (await settleSerialBatch(this.prisma, batch, outcome)) this.logOutcome(batch, outcome);
    return outcome;
  }

  private async send(batch: ClaimedSerialBatch): Promise<SerialBatchOutcome> {
    const { locationOrganizations } = this.settings;
    const unmapped = [batch.from.locationId, batch.to.locationId].filter((locationId) => !locationOrganizations.has(locationId));
    if (unmapped.length) return { kind: 'refused', reason: `no ERP organization for location ${[...new Set(unmapped)].join(', ')} (ERP_ORGANIZATIONS)` };
    try {
      const erpTransactionId = await postStagedTransaction(this.client, {
        reference: batch.reference,
        sku: batch.sku,
        unitOfMeasure: batch.unitOfMeasure,
        fromOrganization: locationOrganizations.get(batch.from.locationId)!,
        fromSubinventory: batch.from.subinventory,
        toOrganization: locationOrganizations.get(batch.to.locationId)!,
        toSubinventory: batch.to.subinventory,
        transactionDate: batch.shippedAt,
        serials: batch.serials,
      }, this.stopping.signal);
      return { kind: 'sent', erpTransactionId };
    } catch (error) {
      if (this.stopping.signal.aborted) return { kind: 'released' };
      if (error instanceof ErpRefusal) return { kind: 'refused', reason: `ERP refused it: ${error.message}` };
      if (error instanceof TransientErpFailure) return { kind: 'retry', error: `ERP ${error.message}`, afterMs: this.backoffMs(batch.attempt) };
      throw error;
    }
  }

  private backoffMs(attempt: number): number {
    return Math.min(this.options.retryBackoffMs * 2 ** (attempt - 1), this.options.maxRetryBackoffMs);
  }

  private logOutcome(batch: ClaimedSerialBatch, outcome: SerialBatchOutcome): void {
    const fields = { reference: batch.reference, serials: batch.serials.length, attempt: batch.attempt };
    if (outcome.kind === 'retry') this.settings.logger.warn({ ...fields, retryInMs: outcome.afterMs }, `ERP serial batch not sent: ${outcome.error}`);
    if (outcome.kind === 'refused') this.settings.logger.error(fields, `ERP serial batch failed for good: ${outcome.reason}`);
  }

  /** Logs the backlog after a round that moved something, and now and then while a backlog sits still. */
  private async reportBacklog(round: PushRound): Promise<void> {
    const moved = round.sent + round.retrying + round.refused > 0;
    if (!moved && Date.now() - this.lastBacklogLogAt < QUIET_BACKLOG_LOG_INTERVAL_MS) return;
    const backlog = await this.backlog();
    // Stamped before the check, so that an idle pusher looks at the backlog once a minute, not every round.
    this.lastBacklogLogAt = Date.now();
    if (!moved && backlog.pendingBatches + backlog.failedBatches === 0) return;
    this.settings.logger.info({ ...round, ...backlog }, 'ERP serial push backlog');
  }
}
