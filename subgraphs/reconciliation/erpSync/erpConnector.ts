import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { ErpRateLimited, ErpRefusal, TransientErpFailure } from '../../../platform/erp/erpHttp.ts';
import type { Logger } from '../../../platform/logger.ts';
import { stagedTransactionOf } from './stagedTransaction.ts';
import type { ClaimedSyncTransaction, Settlement, SyncTransactionStore } from './syncTransactionStore.ts';

/** Where the connector posts; StagedTransactionsClient in production. */
export interface StagedTransactionPoster {
  /** @returns the ERP's TransactionInterfaceId; throws TransientErpFailure or ErpRefusal. */
  post(body: Readonly<Record<string, unknown>>): Promise<string>;
  close(): Promise<void>;
}

export interface ErpConnectorOptions {
  /** Stockgraph location id -> the ERP organization it is. */
  readonly locationOrganizations: ReadonlyMap<string, string>;
  /** Failed attempts after which a row is SYNC_FAILED. */
  readonly maxAttempts: number;
  /** The least wait before the first retry, in milliseconds (see retryDelayMs). */
  readonly backoffMs: number;
  /** How long one post may take, in milliseconds (the client's timeout). */
  readonly timeoutMs: number;
  /** Posts under way at once, at most (one per location at a time). */
  readonly concurrency: number;
  /** How often it looks for due rows when nothing wakes it, in milliseconds. */
  readonly intervalMs: number;
  /** Consecutive failed posts that open the circuit. */
  readonly circuitFailures: number;
  /** How long an open circuit stays open before one post probes the ERP, in milliseconds. */
  readonly circuitHalfOpenMs: number;
  /** How long a SYNCED row is kept after it synced, in days: older ones are pruned as the connector goes. */
  readonly retentionDays: number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called after `count` rows became SYNC_FAILED: their events wait in the outbox. Should not throw. */
  readonly onFailed: (count: number) => void;
}

// Time a claim leaves for settling after its last post may have ended.
const SETTLE_MARGIN_MS = 5_000; // 5 seconds
// Rows claimed per round, per post allowed at once: enough to keep every lane busy between claims.
const CLAIMS_PER_POST = 64;
const MAX_CLAIM = 1_000;
const MAX_RETRY_DELAY_MS = 300_000; // 5 minutes
// Slack after a scheduled retry, so that the round it wakes finds the row due by the database's clock.
const WAKE_SLACK_MS = 10;
// Outcomes are recorded a batch at a time: this long after the first of a batch, or once this
// many wait. One statement per post cost the database more than the post itself.
const SETTLE_AFTER_MS = 50;
const SETTLE_BATCH = 500;
// SYNCED rows pruned per round at most: one short statement (a larger batch makes the planner
// trade the synced_at index for scans of the whole ledger). Once a batch comes back short the
// connector looks again after this long.
const PRUNE_BATCH = 1_000;
const PRUNE_INTERVAL_MS = 60_000; // 1 minute

/**
 * Posts the sync ledger's PENDING_SYNC rows to the ERP, and records what became of each. Runs on
 * every replica: rows are claimed under a lease (see SyncTransactionStore.claimDue), so that no
 * two connectors post one row at once. Rows of different locations are posted concurrently (up to
 * `concurrency`), those of one location one after another, oldest first.
 *
 * Only the ERP's 2xx with a TransactionInterfaceId makes a row SYNCED. A 5xx, a 429, a timeout, a
 * dropped connection or a garbled answer is a failed attempt: it is tried again after a backoff
 * (a 429 after its Retry-After, with its location paused meanwhile), under the same reference, so
 * that the ERP recognises a transaction it took already; after `maxAttempts` failed attempts, or
 * at once when the ERP refuses it (another 4xx) or its location is no ERP organization, it is
 * SYNC_FAILED with an alert. The schedule is each row's next_attempt_at, so a restart keeps it.
 *
 * A circuit breaker (cockatiel) stops calling an ERP that fails `circuitFailures` times in a row:
 * while it is open rows wait unposted, their attempts given back; after `circuitHalfOpenMs` one
 * post probes the ERP, and the backlog drains once one succeeds.
 *
 * Between rounds it prunes the ledger's SYNCED rows older than `retentionDays` that nothing reads
 * any more (SyncTransactionStore.pruneSynced), a bounded batch per round, so that the ledger, and
 * what a reconciliation run reads of it, does not grow with the history.
 */
export class ErpConnector {
  private readonly breaker: CircuitBreakerPolicy;
  /** Outcomes not yet recorded, and the recording under way (see settle). */
  private unsettled: { readonly settlement: Settlement; readonly decidedAt: number }[] = [];
  private settleTimer: NodeJS.Timeout | null = null;
  private settling: Promise<void> = Promise.resolve();
  private readonly claimLimit: number;
  private readonly claimLeaseMs: number;
  /** Location id -> until when (epoch ms) it is not posted to, after a 429. */
  private readonly pausedUntil = new Map<string, number>();
  private readonly stopping = new AbortController();
  private circuitOpenedAt = 0;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeTimerAt = Infinity;
  /** When (epoch ms) the next round prunes SYNCED rows: at once after a full batch. */
  private pruneDueAt = 0;

  constructor(
    private readonly store: SyncTransactionStore,
    private readonly client: StagedTransactionPoster,
    private readonly options: ErpConnectorOptions,
  ) {
    this.claimLimit = Math.min(MAX_CLAIM, options.concurrency * CLAIMS_PER_POST);
    // A row is posted only within one timeout of its claim (see postLane): its post and its
    // settling end well before the lease does.
    this.claimLeaseMs = 2 * options.timeoutMs + SETTLE_MARGIN_MS;
    // A 429 says the ERP is up: it pauses a location, and never opens the circuit.
    this.breaker = circuitBreaker(handleWhen((error) => error instanceof TransientErpFailure && !(error instanceof ErpRateLimited)), {
      halfOpenAfter: options.circuitHalfOpenMs,
      breaker: new ConsecutiveBreaker(options.circuitFailures),
    });
    this.breaker.onBreak(() => {
      this.circuitOpenedAt = Date.now();
      options.logger.warn({ failures: options.circuitFailures, halfOpenInMs: options.circuitHalfOpenMs }, 'ERP circuit opened: the ERP failed every recent post; no calls until a probe');
    });
    this.breaker.onReset(() => {
      options.logger.info('ERP circuit closed: the ERP answered a probe; draining the backlog');
      this.wake();
    });
  }

  /** Whether the circuit is open (or probing): the ERP is not called meanwhile. */
  get circuitOpen(): boolean {
    return this.breaker.state !== CircuitState.Closed;
  }

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    this.loop = this.run();
  }

  /** Looks for due rows at once (new rows were recorded, or redriven). */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /**
   * Stops: posts under way finish (each within the timeout) and are recorded, claimed rows not
   * yet posted are given back at once; resolves once the connections are closed.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const circuitOpenForMs = this.breaker.state === CircuitState.Open ? this.circuitOpenedAt + this.options.circuitHalfOpenMs - Date.now() : 0;
      if (circuitOpenForMs > 0) {
        // New rows do not shorten this: only the probe may call the ERP.
        await this.idle(circuitOpenForMs, { wakeable: false });
        continue;
      }
      let claimed = 0;
      try {
        claimed = await this.postDue();
        await this.pruneIfDue();
      } catch (error) {
        if (!signal.aborted) this.options.logger.error({ err: error }, 'ERP sync round failed; retrying');
      }
      // A full claim means more may be due at once.
      if (claimed < this.claimLimit) await this.idle(this.options.intervalMs, { wakeable: true });
    }
    await this.client.close();
  }

  /** One round: claims due rows, posts them, records what became of each; returns how many it claimed. */
  private async postDue(): Promise<number> {
    const claimedAt = Date.now();
    for (const [locationId, until] of this.pausedUntil) if (until <= claimedAt) this.pausedUntil.delete(locationId);
    const rows = await this.store.claimDue(this.claimLimit, this.claimLeaseMs, [...this.pausedUntil.keys()]);
    if (rows.length === 0) return 0;
    const settlements: Settlement[] = [];
    const settle = (settlement: Settlement) => {
      settlements.push(settlement);
      this.settle(settlement);
    };
    const lanes = [...lanesByLocation(rows).values()];
    const postBefore = claimedAt + this.options.timeoutMs;
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, lanes.length) }, async () => {
      for (let lane = lanes.shift(); lane; lane = lanes.shift()) await this.postLane(lane, postBefore, settle);
    }));
    await this.recordSettled();
    this.scheduleRetries(settlements);
    return rows.length;
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() < this.pruneDueAt) return;
    const pruned = await this.store.pruneSynced(this.options.retentionDays, PRUNE_BATCH);
    this.pruneDueAt = pruned < PRUNE_BATCH ? Date.now() + PRUNE_INTERVAL_MS : 0;
  }

  /**
   * Posts one location's rows in order. Stops at a pause of the location (a 429), when the
   * connector stops, or once the claim is too old for another post to end within its lease:
   * the rest are given back, to be claimed again.
   */
  private async postLane(rows: readonly ClaimedSyncTransaction[], postBefore: number, settle: (settlement: Settlement) => void): Promise<void> {
    for (const [index, row] of rows.entries()) {
      const pausedForMs = Math.max(0, (this.pausedUntil.get(row.locationId) ?? 0) - Date.now());
      if (pausedForMs > 0 || this.stopping.signal.aborted || Date.now() >= postBefore) {
        for (const rest of rows.slice(index)) settle({ outcome: 'released', row: rest, delayMs: pausedForMs });
        return;
      }
      settle(await this.post(row));
    }
  }

  private async post(row: ClaimedSyncTransaction): Promise<Settlement> {
    const request = stagedTransactionOf(row, this.options.locationOrganizations);
    if (!request.ok) return { outcome: 'failed', row, error: request.problem };
    try {
      const erpTransactionId = await this.breaker.execute(() => this.client.post(request.body));
      return { outcome: 'synced', row, erpTransactionId };
    } catch (error) {
      if (error instanceof BrokenCircuitError) return { outcome: 'released', row, delayMs: 0 };
      if (error instanceof ErpRefusal) return { outcome: 'failed', row, error: `ERP refused it: ${error.message}` };
      // Anything else is this side's fault (a bug): the attempt fails, and the error is logged and kept.
      if (!(error instanceof TransientErpFailure)) this.options.logger.error({ err: error, syncTransactionId: row.id }, 'posting a sync transaction failed unexpectedly');
      const lastError = error instanceof TransientErpFailure ? `ERP ${error.message}` : `not posted: ${(error as Error).message}`;
      const delayMs = (error instanceof ErpRateLimited ? error.retryAfterMs : null) ?? this.retryDelayMs(row.attempts);
      // The pause ends a moment after the row is due again by the database's clock, so that it goes first when the location resumes.
      if (error instanceof ErpRateLimited) this.pausedUntil.set(row.locationId, Math.max(this.pausedUntil.get(row.locationId) ?? 0, Date.now() + delayMs + WAKE_SLACK_MS));
      if (row.attempts >= this.options.maxAttempts) return { outcome: 'failed', row, error: lastError };
      return { outcome: 'retry', row, error: lastError, delayMs };
    }
  }

  /**
   * The wait after a row's `failedAttempts`th failed attempt: backoffMs, doubled for each
   * failed attempt before it, up to 5 minutes, plus up to a quarter more at random. Written out
   * rather than with cockatiel's backoffs, which are chains of state held in memory: the schedule
   * lives in each row's next_attempt_at, computed from its attempt count, so that a restart or
   * another replica keeps it. The jitter spreads the retries of rows that failed together; bounded
   * to a quarter, it keeps every wait longer than the one before.
   */
  private retryDelayMs(failedAttempts: number): number {
    return Math.min(MAX_RETRY_DELAY_MS, this.options.backoffMs * 2 ** (failedAttempts - 1) * (1 + Math.random() / 4));
  }

  /** Records `settlement` with the others of its batch, soon (see SETTLE_AFTER_MS): a row is SYNCED shortly after the ERP took it. */
  private settle(settlement: Settlement): void {
    const record = () => void this.recordSettled().catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'recording ERP sync outcomes failed; their rows are posted again once their claims run out'));
    this.unsettled.push({ settlement, decidedAt: Date.now() });
    if (this.unsettled.length >= SETTLE_BATCH) record();
    else this.settleTimer ??= setTimeout(record, SETTLE_AFTER_MS);
  }

  /**
   * Records every outcome not yet recorded, after those being recorded; rejects when the database
   * refused (the rows stay claimed, and are posted again once their lease runs out).
   */
  private recordSettled(): Promise<void> {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    const unsettled = this.unsettled;
    this.unsettled = [];
    const recording = this.settling.catch(() => {}).then(async () => {
      if (unsettled.length === 0) return;
      // A retry's wait runs from when it was decided, as the location's pause does, not from when it is recorded.
      const now = Date.now();
      const batch = unsettled.map(({ settlement, decidedAt }) =>
        settlement.outcome === 'retry' || settlement.outcome === 'released' ? { ...settlement, delayMs: Math.max(0, settlement.delayMs - (now - decidedAt)) } : settlement);
      const failed = new Set(await this.store.settle(batch));
      for (const settlement of batch) {
        if (settlement.outcome !== 'failed' || !failed.has(settlement.row.id)) continue;
        this.options.logger.error({ syncTransactionId: settlement.row.id, attempts: settlement.row.attempts, error: settlement.error }, 'sync transaction SYNC_FAILED');
      }
      if (failed.size) this.options.onFailed(failed.size);
    });
    this.settling = recording;
    return recording;
  }

  /** Wakes the loop when the round's retries and given-back rows are due, and says how many failed. */
  private scheduleRetries(settlements: readonly Settlement[]): void {
    const retried = settlements.filter((settlement) => settlement.outcome === 'retry');
    if (retried.length) {
      this.options.logger.warn({ retrying: retried.length, example: { syncTransactionId: retried[0]!.row.id, error: retried[0]!.error } }, 'ERP sync attempts failed; retrying after a backoff');
    }
    for (const settlement of settlements) if (settlement.outcome === 'retry' || settlement.outcome === 'released') this.wakeAfter(settlement.delayMs);
  }

  /** Wakes the loop after `ms`, when no earlier wake is set: for a retry or a pause that ends before the next interval. */
  private wakeAfter(ms: number): void {
    const at = Date.now() + ms + WAKE_SLACK_MS;
    if (at >= this.wakeTimerAt || this.stopping.signal.aborted) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wakeTimerAt = Infinity;
      this.wake();
    }, at - Date.now());
    this.wakeTimer.unref();
  }

  /** Waits `ms`, or less when stop() is called (or wake(), when `wakeable`). */
  private idle(ms: number, { wakeable }: { wakeable: boolean }): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    if (wakeable && this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        if (wakeable) this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = wakeable ? done : () => {
        if (this.stopping.signal.aborted) done();
      };
    });
  }
}

/** The rows by location, each location's in the order they happened. */
function lanesByLocation(rows: readonly ClaimedSyncTransaction[]): Map<string, ClaimedSyncTransaction[]> {
  const lanes = new Map<string, ClaimedSyncTransaction[]>();
  for (const row of rows) {
    const lane = lanes.get(row.locationId);
    if (lane) lane.push(row);
    else lanes.set(row.locationId, [row]);
  }
  for (const lane of lanes.values()) lane.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return lanes;
}
