import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { entityCacheInvalidated, STREAMS, stockLevelChanged } from '../platform/contracts/events.ts';
import { compareCursors, RETRY_PAUSE_MS, type BusEvent, type EventBus, type EventSubscription } from '../platform/events/eventBus.ts';
import { tagsChangedBy } from '../platform/graphql/entityCacheHints.ts';
import type { SubgraphAnswerCache } from '../platform/graphql/subgraphAnswerCache.ts';
import type { Logger } from '../platform/logger.ts';

export interface EntityCacheFeedOptions {
  readonly bus: EventBus;
  readonly cache: SubgraphAnswerCache;
  /**
   * How far behind the stream the feed may fall before the cache stops serving, in
   * milliseconds: a change seen at the stream's head must reach the cache within this, and the
   * bus must answer the watch within it.
   */
  readonly maxLagMs: number;
  /** This replica's name in its announcements (see invalidationAnnouncer), whose own it skips. */
  readonly replica: string;
  readonly logger: Logger;
}

/** A name for this gateway process's announcements, unique among replicas. */
export const newReplicaName = (): string => randomUUID();

/**
 * Publishes what a mutation through this replica changed for the other replicas' caches
 * (STREAMS.entityCacheInvalidations): they see a write through another replica within a bus
 * round trip, where the stock changes first pass the subgraph's outbox relay.
 */
export function invalidationAnnouncer(bus: EventBus, replica: string): (tags: readonly string[]) => Promise<void> {
  let sequence = 0;
  return async (tags) => {
    sequence += 1;
    await bus.publish(STREAMS.entityCacheInvalidations, { type: entityCacheInvalidated.type, payload: { replica, sequence, tags: [...tags] } });
  };
}

export interface EntityCacheFeed {
  /** Settles once the feed first tried to start: serving when it could, retrying in the background when not (the bus away). */
  readonly firstAttempt: Promise<void>;
  close(): Promise<void>;
}

/**
 * Invalidates `cache` by every stock change event (STREAMS.stockChanges), read from the bus by
 * every gateway replica, and keeps it live only while that is known to be true. A watch asks
 * the bus for the stream's head a few times per `maxLagMs`: when the bus cannot be read, or a
 * head it reported has not been reached `maxLagMs` later (the feed broke or lags), the cache is
 * flushed and bypassed; it serves again once a head the bus reported has been reached. A stock
 * change that cannot be read (a payload off its contract) flushes the cache: what it changed is
 * unknown. The other replicas' announcements (invalidationAnnouncer) are applied as they come,
 * a head start only: nothing waits for them.
 */
export function startEntityCacheFeed({ bus, cache, maxLagMs, replica, logger }: EntityCacheFeedOptions): EntityCacheFeed {
  const stream = STREAMS.stockChanges;
  const stopping = new AbortController();
  const subscriptions: EventSubscription[] = [];
  /** The last stock change handled; null until the feed has started. */
  let handled: string | null = null;
  /** Heads the watch saw ahead of `handled`, with when: the oldest must be reached within maxLagMs. */
  const unreached: { cursor: string; seenAt: number }[] = [];
  const reached = () => {
    while (handled !== null && unreached[0] && compareCursors(handled, unreached[0].cursor) >= 0) unreached.shift();
  };
  const stopServing = (reason: string, error?: unknown) => {
    if (!cache.isLive) return;
    cache.setLive(false);
    logger.warn({ err: error, reason }, 'entity cache flushed and bypassed until its stock change feed is caught up');
  };
  /** The stream's head, or why it cannot be told within maxLagMs. Never rejects. */
  const readHead = (): Promise<string | Error> => Promise.race([
    bus.readEndingAt(stream, null, 1).then((events) => events[0]?.cursor ?? '0-0', (error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    delay(maxLagMs, new Error(`the event bus did not answer within ${maxLagMs} ms`), { ref: false }),
  ]);

  // Subscribes from the stream's head as it reads it, so that nothing after it is missed; the
  // cache starts serving once both subscriptions run. Tried again while the bus is away.
  const start = async (): Promise<void> => {
    const head = await readHead();
    if (head instanceof Error) throw head;
    subscriptions.push(await bus.subscribe(STREAMS.entityCacheInvalidations, (events) => {
      for (const event of events) {
        const { replica: from, tags } = (event.payload ?? {}) as { replica?: unknown; tags?: unknown };
        if (event.type !== entityCacheInvalidated.type || from === replica || !Array.isArray(tags)) continue;
        cache.invalidate(tags.filter((tag): tag is string => typeof tag === 'string'), 'mutation');
      }
    }));
    // From here the start is not tried again: a subscription after a given cursor asks the bus nothing.
    handled = head;
    subscriptions.push(await bus.subscribe(stream, (events) => {
      const tags = changedTags(events, () => cache.flush());
      if (tags.length > 0) cache.invalidate(tags, 'event');
      handled = events[events.length - 1]!.cursor;
      reached();
    }, { after: head, onError: (error) => stopServing('the stock change feed failed', error) }));
    cache.setLive(true);
  };

  const watchEveryMs = Math.max(10, Math.floor(maxLagMs / 4));
  const startFailed = (error: unknown) => logger.warn({ err: error }, 'entity cache feed could not start; retrying');
  const firstAttempt = start().catch(startFailed);
  const watch = async () => {
    await firstAttempt;
    while (!stopping.signal.aborted) {
      if (handled === null) {
        await start().catch(startFailed);
      } else {
        const seenAt = Date.now();
        const head = await readHead();
        if (stopping.signal.aborted) return;
        if (head instanceof Error) {
          stopServing('the event bus could not be read', head);
        } else {
          if (compareCursors(handled, head) < 0 && unreached.at(-1)?.cursor !== head) unreached.push({ cursor: head, seenAt });
          reached();
          if (unreached[0] && seenAt - unreached[0].seenAt > maxLagMs) {
            stopServing(`the stock change feed is more than ${maxLagMs} ms behind the stream`);
          } else if (!unreached[0] && !cache.isLive) {
            cache.setLive(true);
            logger.info('entity cache serving again: its stock change feed is caught up');
          }
        }
      }
      await delay(handled === null ? RETRY_PAUSE_MS : watchEveryMs, undefined, { signal: stopping.signal }).catch(() => {});
    }
  };
  const watching = watch();

  return {
    firstAttempt,
    close: async () => {
      stopping.abort();
      await watching;
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
      cache.setLive(false);
    },
  };
}

/** The tags the stock changes among `events` make stale; `unreadable` is called for a stock change off its contract. */
function changedTags(events: readonly BusEvent[], unreadable: () => void): string[] {
  const tags: string[] = [];
  for (const event of events) {
    if (event.type !== stockLevelChanged.type) continue;
    const { sku, locationId } = (event.payload ?? {}) as { sku?: unknown; locationId?: unknown };
    if (typeof sku === 'string' && typeof locationId === 'string') tags.push(...tagsChangedBy(sku, locationId));
    else unreadable();
  }
  return tags;
}
