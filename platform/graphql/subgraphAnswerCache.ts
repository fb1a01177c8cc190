import { LRUCache } from 'lru-cache';
import { readCacheableHeader, readInvalidatesHeader } from './entityCacheHints.ts';

/** A subgraph's answer as it came, as the data source keeps it: every request served from it reads its own copy of the data from `body`. */
export interface KeptAnswer {
  readonly status: number;
  readonly json: true;
  readonly body: Buffer;
}

/** Why kept answers were dropped: a stock change event, a mutation's answer, or all of them at once (the event feed broke or lagged, a mutation that cannot say what it changed). */
export type InvalidationCause = 'event' | 'mutation' | 'flush';

export interface SubgraphAnswerCacheOptions {
  /** The most answers kept; the least recently used go first. */
  readonly maxEntries: number;
  /** The most bytes of answers (and their keys) kept. */
  readonly maxBytes: number;
  /** Told of every lookup: hit (served from the cache), miss (fetched, perhaps kept), bypass (the cache was not live). */
  readonly onLookup?: (subgraph: string, outcome: 'hit' | 'miss' | 'bypass') => void;
  /** Told of every invalidation with how many kept answers it dropped. */
  readonly onInvalidation?: (cause: InvalidationCause, dropped: number) => void;
  /**
   * Tells the other replicas' caches what a mutation through this one changed (see
   * EntityCacheFeed); awaited before the mutation's answer is handed on.
   */
  readonly announce?: (tags: readonly string[]) => Promise<void>;
  /** The clock answers' ttls are counted on, in milliseconds; `performance` by default. */
  readonly clock?: { now(): number };
}

interface Entry {
  readonly answer: KeptAnswer;
  readonly tags: readonly string[];
}

/** A fetch under way whose answer may be kept: the tags invalidated since it was sent. */
export interface PendingFetch {
  readonly invalidated: Set<string>;
  flushed: boolean;
  /** When it was sent, on the cache's clock: before the subgraph read what it answers. */
  readonly sentAt: number;
}

/**
 * The gateway's entity cache: subgraph query answers kept by the fetch's key (the caller's
 * visibility, the query and its variables: see SubgraphDataSource's `sharedBy`), each tagged with
 * the stock levels it rests on, as the subgraph named them (CACHEABLE_HEADER), and dropped by
 * tag when they change (`invalidate`: the stock change events, every replica; a mutation's
 * answer, on the replica that sent it, before the client is answered). Not by a TTL, except for
 * what changes with the clock, which the subgraph gives as the answer's ttl.
 *
 * Only answers the subgraph sent with data alone and the header are kept, as the bytes they
 * came in, so a client gets the same bytes from the cache as without it. A fetch sent before an
 * invalidation of one of its tags, and answered after it, is not kept: it may have read the
 * stock before the change (the race of a read and a write). While the cache is not live (its
 * event feed is not known to be caught up: see EntityCacheFeed) it keeps and serves nothing.
 */
export class SubgraphAnswerCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly pending = new Set<PendingFetch>();
  private live = false;
  private readonly clock: { now(): number };

  constructor(private readonly options: SubgraphAnswerCacheOptions) {
    this.clock = options.clock ?? performance;
    this.entries = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => entry.answer.body.length + key.length + entry.tags.reduce((sum, tag) => sum + tag.length, 0),
      // An entry goes from its tags' sets however it goes: evicted, expired, replaced or deleted.
      dispose: (entry, key) => this.untag(key, entry.tags),
      // Expiry looked at on every lookup, not once per millisecond of a timer.
      ttlResolution: 0,
      perf: this.clock,
    });
  }

  get size(): number {
    return this.entries.size;
  }

  /** The kept answer for `key`, or undefined (then `begin` the fetch, and `keep` its answer). */
  lookup(subgraph: string, key: string): KeptAnswer | undefined {
    if (!this.live) {
      this.options.onLookup?.(subgraph, 'bypass');
      return undefined;
    }
    const entry = this.entries.get(key);
    this.options.onLookup?.(subgraph, entry ? 'hit' : 'miss');
    return entry?.answer;
  }

  /** Marks a fetch as sent: invalidations from now on are held against its answer. */
  begin(): PendingFetch {
    const fetch: PendingFetch = { invalidated: new Set(), flushed: !this.live, sentAt: this.clock.now() };
    this.pending.add(fetch);
    return fetch;
  }

  /**
   * Keeps `answer` for `key` when the subgraph marked it cacheable (`cacheableHeader`) and
   * nothing it rests on was invalidated since `fetch` began; ends `fetch` either way.
   */
  keep(fetch: PendingFetch, key: string, answer: KeptAnswer, cacheableHeader: string | string[] | undefined): void {
    this.pending.delete(fetch);
    const hints = readCacheableHeader(cacheableHeader);
    if (!hints || fetch.flushed || !this.live || hints.tags.some((tag) => fetch.invalidated.has(tag))) return;
    // The ttl counts from the read, which came after the fetch was sent: counted from the sending,
    // the answer goes a little early, never late. An entry is stale once more than its ttl has passed.
    const ttl = hints.ttlMs === null ? null : hints.ttlMs - (this.clock.now() - fetch.sentAt) - 1;
    if (ttl !== null && ttl < 1) return;
    this.entries.set(key, { answer, tags: hints.tags }, ttl === null ? {} : { ttl });
    // After set: replacing an entry disposes of the old one, untagging the key.
    if (this.entries.has(key)) for (const tag of hints.tags) this.tag(key, tag);
  }

  /** Ends a fetch whose answer is not to be kept (it failed). */
  abandon(fetch: PendingFetch): void {
    this.pending.delete(fetch);
  }

  /** Drops every answer resting on one of `tags`, and keeps none fetched before now that does. */
  invalidate(tags: Iterable<string>, cause: InvalidationCause): void {
    let dropped = 0;
    for (const tag of tags) {
      for (const fetch of this.pending) fetch.invalidated.add(tag);
      const keys = this.keysByTag.get(tag);
      if (!keys) continue;
      for (const key of [...keys]) dropped += this.entries.delete(key) ? 1 : 0;
    }
    this.options.onInvalidation?.(cause, dropped);
  }

  /**
   * What a mutation's answer says it changed (INVALIDATES_HEADER), dropped at once and announced
   * to the other replicas; every kept answer when it does not say (the others then wait for the
   * stock changes). Never throws: an announcement that fails leaves the others to the stock changes.
   */
  async afterMutation(invalidatesHeader: string | string[] | undefined): Promise<void> {
    const tags = readInvalidatesHeader(invalidatesHeader);
    if (!tags) return this.flush();
    this.invalidate(tags, 'mutation');
    if (tags.length > 0) await this.options.announce?.(tags).catch(() => {});
  }

  /** Drops every kept answer, and keeps none of the fetches under way. */
  flush(): void {
    const dropped = this.entries.size;
    for (const fetch of this.pending) fetch.flushed = true;
    this.entries.clear();
    this.options.onInvalidation?.('flush', dropped);
  }

  /** Whether answers may be kept and served: only while every change is known to reach `invalidate`. Going off flushes. */
  setLive(live: boolean): void {
    if (!live) this.flush();
    this.live = live;
  }

  get isLive(): boolean {
    return this.live;
  }

  private tag(key: string, tag: string): void {
    let keys = this.keysByTag.get(tag);
    if (!keys) this.keysByTag.set(tag, (keys = new Set()));
    keys.add(key);
  }

  private untag(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.keysByTag.delete(tag);
    }
  }
}
