import { setTimeout as delay } from 'node:timers/promises';
import { wmsEventStream } from '../../../platform/contracts/events.ts';
import { prefixedKey, type Redis } from '../../../platform/redis.ts';
import type { WarehouseEventIngestion } from './warehouseEventIngestion.ts';

export const CONSUMER_GROUP = 'inventory';

export interface WarehouseEventStreamConsumerOptions {
  /** Sources to consume, each from its own stream; each must have a mapping. */
  readonly sources: readonly string[];
  /** This consumer's name in the group: unique among replicas, the same across restarts of one. */
  readonly consumerName: string;
  /** Entries taken per source and round: the largest batch ingested in one transaction. */
  readonly batchSize?: number;
  /** How long the loop waits for new entries before looking for stale ones again, in milliseconds. */
  readonly blockMs?: number;
  /** Pending entries idle this long are taken over from consumers presumed dead, in milliseconds. */
  readonly claimIdleMs?: number;
}

export interface WarehouseEventStreamConsumerHooks {
  /** Called once a batch has committed, before it is acked (wakes the outbox relay). Should not throw. */
  readonly onCommitted: () => void;
  /**
   * Called with each failure: a source's batch that could not be ingested (a StreamBatchError,
   * naming the stream and its entries; that source backs off and retries), a failed round of
   * the loop (Redis unreachable: every source backs off), and entries trimmed from a stream
   * before they were applied, which are lost. Should not throw.
   */
  readonly onError: (error: unknown) => void;
}

/** A stream entry as Redis returns it; fields are null when the entry was trimmed while pending. */
type StreamEntry = [id: string, fields: string[] | null];

/** A source's batch that failed, named so that an operator can find it; its entries stay pending. */
export class StreamBatchError extends Error {
  constructor(readonly stream: string, readonly entryIds: readonly string[], cause: unknown) {
    const entries = entryIds.length === 0 ? 'reading it' : entryIds.length === 1 ? `entry ${entryIds[0]}` : `entries ${entryIds[0]} to ${entryIds.at(-1)} (${entryIds.length})`;
    super(`Stream ${stream} failed at ${entries}; retrying: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StreamBatchError';
  }
}

// The loop's backoff after a failed round doubles from the first delay up to the cap.
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Consumes each source's stream in the consumer group `inventory` and ingests its entries in
 * batches. Delivery from Redis is at least once; application is exactly once, because ingestion
 * claims each (source, eventId). An entry is acked only after its batch committed: after a
 * crash before the ack it stays pending, this consumer reads it again on restart and any
 * consumer takes it over once it has been idle for `claimIdleMs`; the re-delivery yields
 * DUPLICATE. When ingestion throws (database down) nothing of that batch is acked and its source
 * retries the same entries after an exponential backoff capped at 5 s, while the other sources
 * go on: a failure of one stream never holds up another. (An event that cannot be applied does
 * not throw: ingestion dead-letters it and applies the rest.) An entry that is not JSON, or has no
 * `event` field, is still ingested (as the raw string, or the entry's fields) so that it is
 * dead-lettered with its payload, then acked: nothing is dropped. A source's entries are
 * ingested in stream order.
 *
 * The group is created at the start of the stream, not at `$`: events a producer added before
 * any consumer ran are applied too.
 */
export class WarehouseEventStreamConsumer {
  private readonly sources: readonly string[];
  private readonly streams: readonly string[];
  private readonly consumerName: string;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  /** Where XAUTOCLAIM resumes its scan of each stream's pending entries. */
  private readonly claimCursors = new Map<string, string>();
  /** Sources whose last batch failed: when each may be tried again, and the delay that got it there. */
  private readonly backoffs = new Map<string, { readonly untilMs: number; readonly delayMs: number }>();
  private groupsReady = false;
  private running: { reader: Redis; stopping: AbortController; loop: Promise<void> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly ingestion: WarehouseEventIngestion,
    {
      sources,
      consumerName,
      batchSize = 500,
      blockMs = 2_000, // 2 seconds
      claimIdleMs = 30_000, // 30 seconds
    }: WarehouseEventStreamConsumerOptions,
    private readonly hooks: WarehouseEventStreamConsumerHooks,
  ) {
    const unknown = sources.filter((source) => !ingestion.hasSource(source));
    if (sources.length === 0 || unknown.length > 0) {
      throw new TypeError(`sources must name at least one source with a mapping; no mapping for: ${unknown.join(', ') || '(no sources)'}`);
    }
    this.sources = sources;
    this.streams = sources.map(wmsEventStream);
    this.consumerName = consumerName;
    this.batchSize = batchSize;
    this.blockMs = blockMs;
    this.claimIdleMs = claimIdleMs;
  }

  /** Consumes until stop(), reporting failures to `onError`. */
  start(): void {
    if (this.running) return;
    // A blocking XREADGROUP holds its connection, so it gets one of its own.
    const reader = this.redis.duplicate();
    const stopping = new AbortController();
    const loop = (async () => {
      let retryMs = 0;
      while (!stopping.signal.aborted) {
        try {
          const { failures } = await this.consume(reader, { signal: stopping.signal });
          for (const failure of failures) this.hooks.onError(failure);
          retryMs = 0;
        } catch (error) {
          if (stopping.signal.aborted) return;
          this.hooks.onError(error);
          retryMs = Math.min(retryMs === 0 ? FIRST_RETRY_MS : retryMs * 2, MAX_RETRY_MS);
          await delay(retryMs, undefined, { signal: stopping.signal }).catch(() => {});
        }
      }
    })();
    this.running = { reader, stopping, loop };
  }

  /** Ends the loop; a batch being ingested is finished and acked first. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const { reader, stopping, loop } = this.running;
    stopping.abort();
    reader.disconnect();
    await loop;
    this.running = null;
  }

  /**
   * One round, over every source: this consumer's own unacked entries and those taken over from
   * idle consumers (XAUTOCLAIM) when there are any, otherwise new entries (XREADGROUP >); each
   * source's batch is ingested and acked once it committed. Returns how many entries it acked;
   * throws the first source's failure, once the other sources' batches are through.
   */
  async consumeOnce(): Promise<number> {
    const { acked, failures } = await this.consume(null, {});
    if (failures.length > 0) throw failures[0];
    return acked;
  }

  /**
   * Reads new entries on `reader`, blocking up to `blockMs`, when given one. Given a `signal`
   * (the loop), sources backing off are left out until their time, and the round waits for the
   * first of them when they all are.
   */
  private async consume(reader: Redis | null, { signal }: { signal?: AbortSignal }): Promise<{ acked: number; failures: StreamBatchError[] }> {
    try {
      await this.createGroups();
      const sources = signal ? await this.sourcesDue(signal) : this.sources;
      const failures: StreamBatchError[] = [];
      const pending = await this.readPending(sources, failures);
      const ready = sources.filter((source) => !failures.some((failure) => failure.stream === wmsEventStream(source)));
      const batches = pending.size > 0 || ready.length === 0 ? pending : await this.readNew(reader, ready);
      let acked = 0;
      for (const [source, entries] of batches) {
        try {
          acked += await this.ingestAndAck(source, entries);
          this.backoffs.delete(source);
        } catch (error) {
          if (isMissingGroup(error)) throw error;
          failures.push(new StreamBatchError(wmsEventStream(source), entries.map(([id]) => id), error));
        }
      }
      for (const failure of failures) this.backOff(this.sources[this.streams.indexOf(failure.stream)]!);
      return { acked, failures };
    } catch (error) {
      // The stream was deleted with its group: create them again next round.
      if (isMissingGroup(error)) this.groupsReady = false;
      throw error;
    }
  }

  /** The sources not backing off; when every one is, waits for the first to be due. */
  private async sourcesDue(signal: AbortSignal): Promise<readonly string[]> {
    const now = Date.now();
    const due = this.sources.filter((source) => (this.backoffs.get(source)?.untilMs ?? 0) <= now);
    if (due.length > 0) return due;
    const firstDueMs = Math.min(...[...this.backoffs.values()].map(({ untilMs }) => untilMs));
    await delay(firstDueMs - now, undefined, { signal }).catch(() => {});
    return this.sourcesDue(signal);
  }

  /** How long a read may block: `blockMs`, or less when a source backing off is due sooner. */
  private blockMsUntilRetry(): number {
    const now = Date.now();
    const untilFirstRetry = Math.min(...[...this.backoffs.values()].map(({ untilMs }) => untilMs - now));
    return Math.max(1, Math.min(this.blockMs, untilFirstRetry));
  }

  private backOff(source: string): void {
    const previous = this.backoffs.get(source)?.delayMs ?? 0;
    const delayMs = Math.min(previous === 0 ? FIRST_RETRY_MS : previous * 2, MAX_RETRY_MS);
    this.backoffs.set(source, { untilMs: Date.now() + delayMs, delayMs });
  }

  private async createGroups(): Promise<void> {
    if (this.groupsReady) return;
    await Promise.all(
      this.streams.map((stream) =>
        this.redis.xgroup('CREATE', prefixedKey(this.redis, stream), CONSUMER_GROUP, '0', 'MKSTREAM').catch((error: unknown) => {
          if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
        }),
      ),
    );
    this.groupsReady = true;
  }

  /**
   * Entries delivered to this consumer and never acked (a failed batch, or a crash of this
   * consumer), and entries of other consumers idle for `claimIdleMs`, which become this
   * consumer's: at most `batchSize` per source, oldest first; the rest wait for the next round.
   * A stream that cannot be read is added to `failures` and left out.
   */
  private async readPending(sources: readonly string[], failures: StreamBatchError[]): Promise<Map<string, StreamEntry[]>> {
    const streams = sources.map(wmsEventStream);
    const pipeline = this.redis.pipeline();
    for (const stream of streams) {
      pipeline.xreadgroup('GROUP', CONSUMER_GROUP, this.consumerName, 'COUNT', this.batchSize, 'STREAMS', stream, '0');
      pipeline.xautoclaim(stream, CONSUMER_GROUP, this.consumerName, this.claimIdleMs, this.claimCursors.get(stream) ?? '0-0', 'COUNT', this.batchSize);
    }
    const replies = (await pipeline.exec()) ?? [];
    const batches = new Map<string, StreamEntry[]>();
    streams.forEach((stream, i) => {
      const [ownError, own] = replies[2 * i]!;
      const [claimError, claim] = replies[2 * i + 1]!;
      const readError = ownError ?? claimError;
      if (readError && isMissingGroup(readError)) throw readError;
      if (readError) return void failures.push(new StreamBatchError(stream, [], readError));
      // Redis 7 lists the ids of claimed entries that were trimmed apart from the entries.
      const [nextCursor, claimed, trimmedIds = []] = claim as [string, StreamEntry[], string[]?];
      this.claimCursors.set(stream, nextCursor);
      const entries = new Map<string, StreamEntry>();
      for (const entry of [...((own as [string, StreamEntry[]][] | null)?.[0]?.[1] ?? []), ...claimed, ...trimmedIds.map((id): StreamEntry => [id, null])]) {
        entries.set(entry[0], entry);
      }
      if (entries.size > 0) batches.set(sources[i]!, [...entries.values()].sort(byStreamOrder).slice(0, this.batchSize));
    });
    return batches;
  }

  private async readNew(reader: Redis | null, sources: readonly string[]): Promise<Map<string, StreamEntry[]>> {
    const streams = sources.map(wmsEventStream);
    const streamsAndIds = [...streams, ...streams.map(() => '>')];
    const reply = (await (reader
      ? reader.xreadgroup('GROUP', CONSUMER_GROUP, this.consumerName, 'COUNT', this.batchSize, 'BLOCK', this.blockMsUntilRetry(), 'STREAMS', ...streamsAndIds)
      : this.redis.xreadgroup('GROUP', CONSUMER_GROUP, this.consumerName, 'COUNT', this.batchSize, 'STREAMS', ...streamsAndIds))) as [string, StreamEntry[]][] | null;
    return new Map((reply ?? []).map(([stream, entries]) => [sources[streams.indexOf(stream)]!, entries]));
  }

  private async ingestAndAck(source: string, entries: readonly StreamEntry[]): Promise<number> {
    const stream = wmsEventStream(source);
    const rawEvents = entries.flatMap(([, fields]) => (fields ? [rawEventOf(fields)] : []));
    const trimmed = entries.flatMap(([id, fields]) => (fields ? [] : [id]));
    if (trimmed.length > 0) {
      this.hooks.onError(new Error(`Entries ${trimmed.join(', ')} of ${stream} were trimmed from the stream before they were applied`));
    }
    if (rawEvents.length > 0) {
      const sent = entries.flatMap(([, fields]) => (fields ? [eventFieldOf(fields)] : []));
      await this.ingestion.ingest(source, rawEvents, { sourceTextOf: (index) => sent[index] });
      this.hooks.onCommitted();
    }
    return this.redis.xack(stream, CONSUMER_GROUP, ...entries.map(([id]) => id));
  }
}

/** The entry's `event` field as the producer wrote it; undefined when it has none. */
function eventFieldOf(fields: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'event') return fields[i + 1];
  return undefined;
}

/** The entry's `event` parsed; the raw string when it is not JSON; all its fields when it has no `event`. */
function rawEventOf(fields: readonly string[]): unknown {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i]!, fields[i + 1]!]);
  const event = pairs.find(([name]) => name === 'event');
  if (!event) return Object.fromEntries(pairs);
  try {
    return JSON.parse(event[1]);
  } catch {
    return event[1];
  }
}

const isMissingGroup = (error: unknown) => error instanceof Error && error.message.startsWith('NOGROUP');

function byStreamOrder([a]: StreamEntry, [b]: StreamEntry): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}
