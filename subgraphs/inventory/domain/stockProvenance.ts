import type { LedgerBucket } from './applyBucketEffects.ts';
import type { PositionState } from './stockLevelSummary.ts';

/** Who stamps the buckets that Stockgraph itself changes (reservations, transfers, orders' stock). */
export const STOCKGRAPH_SOURCE = 'stockgraph';

/** The source and time (an ISO instant) of a bucket's last change. */
export interface BucketStamp {
  readonly source: string;
  readonly at: string;
}

/** Per bucket, named as the StockLevel field, its last change. */
export type BucketStamps = Readonly<Record<string, BucketStamp>>;

/** Every bucket a position keeps, each stamped when a change moves it. */
export const POSITION_BUCKETS = [
  'onHandWms', 'onHandErp', 'allocated', 'reserved', 'inboundInTransit', 'qualityHold',
] as const satisfies readonly LedgerBucket[];

/** The buckets whose quantity a change moved, from `before` (undefined: the position did not exist) to `after`. */
export function changedPositionBuckets(before: PositionState | undefined, after: PositionState): LedgerBucket[] {
  return POSITION_BUCKETS.filter((bucket) => (before?.[bucket] ?? 0) !== after[bucket]);
}

/** `stamps` with each of `buckets` last changed by `source` at `at`. */
export function stampBuckets(stamps: BucketStamps, buckets: Iterable<string>, source: string, at: Date): BucketStamps {
  const next = { ...stamps };
  for (const bucket of buckets) next[bucket] = { source, at: at.toISOString() };
  return next;
}

/**
 * Per source, when it last changed one of a level's buckets that availability rests on, in epoch
 * milliseconds: bulk availability reads them for every level, and numbers parse at a fraction of
 * the cost of instants written as text.
 */
export type SourceReports = Readonly<Record<string, number>>;

/**
 * `reports` with `source` reporting at `at` when its change moved a bucket other than ERP on
 * hand (which availability never uses: the ERP is no source of what can be promised); `reports`
 * itself otherwise.
 */
export function recordSourceReport(reports: SourceReports, changedBuckets: Iterable<LedgerBucket>, source: string, at: Date): SourceReports {
  for (const bucket of changedBuckets) if (bucket !== 'onHandErp') return { ...reports, [source]: at.getTime() };
  return reports;
}

/** A source figures rest on, with when it last reported and whether it has gone quiet since. */
export interface SourceFreshness {
  readonly source: string;
  readonly lastReportedAt: Date;
  /** Quiet for longer than the staleness window; never so for Stockgraph's own source, whose records are exact at all times. */
  readonly stale: boolean;
}

/** Whether `source`, which last reported at `reportedAtMs`, has been quiet at `readAt` for longer than `staleAfterMs`. */
function isQuiet(source: string, reportedAtMs: number, readAt: Date, staleAfterMs: number): boolean {
  return source !== STOCKGRAPH_SOURCE && readAt.getTime() - reportedAtMs > staleAfterMs;
}

/** The sources of `reports`, in source order, each stale when it has been quiet at `readAt` for longer than `staleAfterMs`. */
export function sourceFreshness(reports: SourceReports, readAt: Date, staleAfterMs: number): SourceFreshness[] {
  return Object.keys(reports)
    .sort()
    .map((source) => ({ source, lastReportedAt: new Date(reports[source]!), stale: isQuiet(source, reports[source]!, readAt, staleAfterMs) }));
}

/**
 * Whether figures resting on the sources of `reports` are stale at `readAt`: when any of them is
 * (see sourceFreshness), and when no warehouse has ever reported them (nothing, or nothing but
 * Stockgraph's own changes, is known of the stock there).
 */
export function restsOnStaleSources(reports: SourceReports, readAt: Date, staleAfterMs: number): boolean {
  let warehouseReported = false;
  for (const source in reports) {
    if (isQuiet(source, reports[source]!, readAt, staleAfterMs)) return true;
    warehouseReported ||= source !== STOCKGRAPH_SOURCE;
  }
  return !warehouseReported;
}

/**
 * When figures resting on the sources of `reports`, as read at `readAt`, turn stale by the clock
 * alone (the first source still fresh then goes quiet); null when none of them ever will.
 */
export function turnsStaleAt(reports: SourceReports, readAt: Date, staleAfterMs: number): number | null {
  let earliest: number | null = null;
  for (const source in reports) {
    // Quiet once more than staleAfterMs has passed (isQuiet): from the millisecond after.
    const quietAt = reports[source]! + staleAfterMs + 1;
    if (source !== STOCKGRAPH_SOURCE && quietAt > readAt.getTime() && (earliest === null || quietAt < earliest)) earliest = quietAt;
  }
  return earliest;
}

/**
 * The sources of figures summed over several levels: each source once, as of its oldest last
 * report among them, since the sum is only as fresh as that.
 */
export function leastFreshReports(perLevel: Iterable<SourceReports>): SourceReports {
  const oldest = new Map<string, number>();
  for (const reports of perLevel) {
    for (const source in reports) {
      const reportedAt = reports[source]!;
      const known = oldest.get(source);
      if (known === undefined || reportedAt < known) oldest.set(source, reportedAt);
    }
  }
  return Object.fromEntries(oldest);
}
