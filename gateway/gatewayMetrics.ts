import { Counter, Gauge, Histogram } from 'prom-client';
import { BoundedLabel } from '../platform/observability/boundedLabel.ts';
import type { ServiceMetrics } from '../platform/observability/serviceMetrics.ts';
import type { FetchOutcome } from '../platform/graphql/subgraphDataSource.ts';
import type { InvalidationCause } from '../platform/graphql/subgraphAnswerCache.ts';

const FETCH_BUCKETS_SECONDS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * What the gateway counts beside its requests: the subgraph fetches it makes, the requests its
 * rate limit refuses, and its subscriptions. Each part of the gateway is handed only the
 * function it reports through, so none of them knows prom-client.
 */
export class GatewayMetrics {
  private readonly fetches: Counter<'subgraph' | 'outcome'>;
  private readonly sharedFetches: Counter<'subgraph'>;
  private readonly fetchDuration: Histogram<'subgraph' | 'outcome'>;
  private readonly refusals: Counter<'client' | 'transport'>;
  private readonly deliveries: Counter<'stream' | 'outcome'>;
  private readonly cacheLookups: Counter<'subgraph' | 'outcome'>;
  private readonly cacheInvalidations: Counter<'cause'>;
  private readonly cacheDropped: Counter<'cause'>;
  // Clients are named by CLIENTS_FILE, but a JWT's subject is anyone's: see BoundedLabel.
  private readonly clients = new BoundedLabel(50);

  constructor(private readonly metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.fetches = new Counter({ name: 'stockgraph_subgraph_fetches_total', help: 'Fetches the gateway sent to a subgraph, by subgraph and outcome (ok, errors: answered with GraphQL errors, failed: no usable answer)', labelNames: ['subgraph', 'outcome'], registers });
    this.sharedFetches = new Counter({ name: 'stockgraph_subgraph_fetches_shared_total', help: 'Subgraph fetches the gateway did not send, by subgraph: a request was answered by an identical query already in flight for the same scopes and locations', labelNames: ['subgraph'], registers });
    this.fetchDuration = new Histogram({ name: 'stockgraph_subgraph_fetch_duration_seconds', help: 'Time a subgraph fetch took, from sending it to its parsed answer, in seconds', labelNames: ['subgraph', 'outcome'], buckets: FETCH_BUCKETS_SECONDS, registers });
    this.refusals = new Counter({ name: 'stockgraph_rate_limit_refusals_total', help: 'Requests and WebSocket operations refused with RATE_LIMITED, by client and transport (http, websocket)', labelNames: ['client', 'transport'], registers });
    this.cacheLookups = new Counter({ name: 'stockgraph_entity_cache_lookups_total', help: 'Subgraph queries looked up in the entity cache, by subgraph and outcome (hit: answered from it; miss: fetched; bypass: the cache was not serving, its stock change feed not caught up)', labelNames: ['subgraph', 'outcome'], registers });
    this.cacheInvalidations = new Counter({ name: 'stockgraph_entity_cache_invalidations_total', help: 'Invalidations of the entity cache, by cause (event: a stock change event; mutation: a mutation answered through this gateway; flush: all at once)', labelNames: ['cause'], registers });
    this.cacheDropped = new Counter({ name: 'stockgraph_entity_cache_dropped_total', help: 'Answers the entity cache dropped on invalidations, by cause (see stockgraph_entity_cache_invalidations_total)', labelNames: ['cause'], registers });
    this.deliveries = new Counter({ name: 'stockgraph_subscription_deliveries_total', help: 'Subscription results written to subscribers, by event stream and outcome (sent; dropped: the subscriber had too many waiting)', labelNames: ['stream', 'outcome'], registers });
  }

  /** Starts timing a fetch to `subgraph`; the returned function ends it with its outcome. */
  readonly fetchStarted = (subgraph: string): ((outcome: FetchOutcome) => void) => {
    const end = this.fetchDuration.startTimer({ subgraph });
    return (outcome) => {
      end({ outcome });
      this.fetches.inc({ subgraph, outcome });
    };
  };

  readonly fetchShared = (subgraph: string): void => {
    this.sharedFetches.inc({ subgraph });
  };

  readonly entityCacheLookup = (subgraph: string, outcome: 'hit' | 'miss' | 'bypass'): void => {
    this.cacheLookups.inc({ subgraph, outcome });
  };

  readonly entityCacheInvalidation = (cause: InvalidationCause, dropped: number): void => {
    this.cacheInvalidations.inc({ cause });
    if (dropped > 0) this.cacheDropped.inc({ cause }, dropped);
  };

  /** Reports the entity cache's answers kept, and whether it serves, at every scrape. */
  watchEntityCache(cache: { readonly size: number; readonly isLive: boolean }): void {
    const registers = [this.metrics.registry];
    new Gauge({ name: 'stockgraph_entity_cache_entries', help: 'Subgraph answers the entity cache keeps now', registers, collect() { this.set(cache.size); } });
    new Gauge({ name: 'stockgraph_entity_cache_live', help: '1 while the entity cache serves (its stock change feed caught up), 0 while it is bypassed', registers, collect() { this.set(cache.isLive ? 1 : 0); } });
  }

  readonly rateLimited = (client: string, transport: 'http' | 'websocket'): void => {
    this.refusals.inc({ client: this.clients.valueOf(client), transport });
  };

  readonly subscriptionDelivery = (stream: string, sent: number, dropped: number): void => {
    if (sent > 0) this.deliveries.inc({ stream, outcome: 'sent' }, sent);
    if (dropped > 0) this.deliveries.inc({ stream, outcome: 'dropped' }, dropped);
  };

  /** Reports `count()` as the active subscriptions at every scrape. */
  watchSubscriptions(count: () => number): void {
    new Gauge({
      name: 'stockgraph_active_subscriptions',
      help: 'Subscriptions this gateway serves now',
      registers: [this.metrics.registry],
      collect() {
        this.set(count());
      },
    });
  }
}
