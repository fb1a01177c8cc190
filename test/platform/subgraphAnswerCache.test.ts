import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stockTag, StockCacheHints, tagsChangedBy } from '../../platform/graphql/entityCacheHints.ts';
import { SubgraphAnswerCache, type KeptAnswer } from '../../platform/graphql/subgraphAnswerCache.ts';

const answer = (text: string): KeptAnswer => ({ status: 200, json: true, body: Buffer.from(`{"data":${text}}\n`) });

/** The header the inventory subgraph sends for an answer resting on `levels` (and `skus`' every level). */
function cacheable(levels: [string, string][], { skus = [] as string[], ttl = null as { readAt: Date; changesAt: Date } | null } = {}): string {
  const hints = new StockCacheHints();
  for (const [sku, locationId] of levels) hints.readStockLevel(sku, locationId);
  for (const sku of skus) hints.readEveryLevelOf(sku);
  if (ttl) hints.changesAt(ttl.changesAt, ttl.readAt);
  return hints.cacheableHeader()!;
}

function liveCache(options: Partial<ConstructorParameters<typeof SubgraphAnswerCache>[0]> = {}) {
  const cache = new SubgraphAnswerCache({ maxEntries: 1_000, maxBytes: 1024 * 1024, ...options });
  cache.setLive(true);
  return cache;
}

/** Keeps `body` for `key` as a fetch begun and answered with nothing in between. */
function fetched(cache: SubgraphAnswerCache, key: string, body: KeptAnswer, header: string) {
  cache.keep(cache.begin(), key, body, header);
}

describe('the subgraph answer cache', () => {
  it('drops on a stock change exactly the answers resting on its level or on every level of its SKU', () => {
    const cache = liveCache();
    fetched(cache, 'a', answer('1'), cacheable([['SKU-1', 'DC-01']]));
    fetched(cache, 'b', answer('2'), cacheable([['SKU-1', 'DC-02']]));
    fetched(cache, 'c', answer('3'), cacheable([], { skus: ['SKU-1'] }));
    fetched(cache, 'd', answer('4'), cacheable([['SKU-2', 'DC-01']]));

    cache.invalidate(tagsChangedBy('SKU-1', 'DC-01'), 'event');

    assert.deepEqual(['a', 'b', 'c', 'd'].map((key) => cache.lookup('inventory', key) !== undefined), [false, true, false, true]);
  });

  it('keeps no answer of a fetch sent before an invalidation of what it rests on and answered after it', () => {
    const cache = liveCache();
    const racing = cache.begin();
    const unrelated = cache.begin();
    cache.invalidate(tagsChangedBy('SKU-1', 'DC-01'), 'event');
    cache.keep(racing, 'racing', answer('"before the change"'), cacheable([['SKU-1', 'DC-01']]));
    cache.keep(unrelated, 'unrelated', answer('"elsewhere"'), cacheable([['SKU-1', 'DC-02']]));

    assert.equal(cache.lookup('inventory', 'racing'), undefined);
    assert.deepEqual(cache.lookup('inventory', 'unrelated'), answer('"elsewhere"'));
    // A fetch begun after the invalidation is kept.
    fetched(cache, 'racing', answer('"after the change"'), cacheable([['SKU-1', 'DC-01']]));
    assert.deepEqual(cache.lookup('inventory', 'racing'), answer('"after the change"'));
  });

  it('keeps nothing fetched across a flush, and serves nothing while not live', () => {
    const cache = liveCache();
    const across = cache.begin();
    fetched(cache, 'kept', answer('1'), cacheable([['SKU-1', 'DC-01']]));
    cache.setLive(false);
    assert.equal(cache.size, 0);
    assert.equal(cache.lookup('inventory', 'kept'), undefined);
    fetched(cache, 'while-off', answer('2'), cacheable([['SKU-1', 'DC-01']]));
    cache.setLive(true);
    cache.keep(across, 'across', answer('3'), cacheable([['SKU-1', 'DC-01']]));
    assert.equal(cache.size, 0);
  });

  it('keeps an answer without the header, or with one it cannot read, not at all', () => {
    const cache = liveCache();
    cache.keep(cache.begin(), 'none', answer('1'), undefined);
    cache.keep(cache.begin(), 'garbled', answer('1'), '%7B%22levels%22%3A1%7D');
    assert.equal(cache.size, 0);
  });

  it('forgets everything after a mutation that does not say what it changed, and only what it changed otherwise', async () => {
    const announced: string[][] = [];
    const cache = liveCache({ announce: async (tags) => void announced.push([...tags]) });
    fetched(cache, 'a', answer('1'), cacheable([['SKU-1', 'DC-01']]));
    fetched(cache, 'b', answer('2'), cacheable([['SKU-2', 'DC-01']]));
    const changed = new StockCacheHints();
    changed.changedStockLevel('SKU-1', 'DC-01');
    changed.changesComplete();

    await cache.afterMutation(changed.invalidatesHeader()!);
    assert.deepEqual([cache.lookup('inventory', 'a'), cache.lookup('inventory', 'b')].map(Boolean), [false, true]);
    assert.deepEqual(announced, [tagsChangedBy('SKU-1', 'DC-01')]);

    await cache.afterMutation(new StockCacheHints().invalidatesHeader() ?? undefined);
    assert.equal(cache.size, 0);
  });

  it('lets an answer that changes by the clock go when it does', () => {
    let nowMs = 1_000;
    const cache = liveCache({ clock: { now: () => nowMs } });
    const readAt = new Date();
    fetched(cache, 'soon', answer('1'), cacheable([['SKU-1', 'DC-01']], { ttl: { readAt, changesAt: new Date(readAt.getTime() + 30) } }));
    fetched(cache, 'later', answer('2'), cacheable([['SKU-1', 'DC-02']], { ttl: { readAt, changesAt: new Date(readAt.getTime() + 60_000) } }));
    assert.ok(cache.lookup('inventory', 'soon'));
    nowMs += 29;
    assert.ok(cache.lookup('inventory', 'soon'), 'a millisecond before it changes');
    nowMs += 1;
    assert.equal(cache.lookup('inventory', 'soon'), undefined);
    assert.ok(cache.lookup('inventory', 'later'));
  });

  it('holds at most its entries and bytes, dropping the least recently used, and untags what it drops', () => {
    const cache = liveCache({ maxEntries: 2 });
    fetched(cache, 'a', answer('1'), cacheable([['SKU-1', 'DC-01']]));
    fetched(cache, 'b', answer('2'), cacheable([['SKU-2', 'DC-01']]));
    cache.lookup('inventory', 'a');
    fetched(cache, 'c', answer('3'), cacheable([['SKU-3', 'DC-01']]));
    assert.deepEqual(['a', 'b', 'c'].map((key) => Boolean(cache.lookup('inventory', key))), [true, false, true]);

    const bytes = liveCache({ maxBytes: 400 });
    fetched(bytes, 'big', answer(JSON.stringify('x'.repeat(300))), cacheable([['SKU-1', 'DC-01']]));
    fetched(bytes, 'bigger', answer(JSON.stringify('y'.repeat(300))), cacheable([['SKU-1', 'DC-01']]));
    assert.equal(bytes.size, 1);
    assert.ok(bytes.lookup('inventory', 'bigger'));
  });

  it('names a tag the same whichever side makes it', () => {
    assert.deepEqual(tagsChangedBy('SKU-1', 'DC-01'), [stockTag('SKU-1', 'DC-01'), stockTag('SKU-1')]);
  });
});
