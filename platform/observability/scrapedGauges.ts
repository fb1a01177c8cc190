import { Gauge } from 'prom-client';
import type { ServiceMetrics } from './serviceMetrics.ts';

export interface ScrapedGauge<Value> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  /** Sets the gauge from what `read` returned. */
  readonly set: (gauge: Gauge<string>, value: Value) => void;
}

// Scrapes of several gauges read once: prom-client collects each gauge on its own.
const READ_REUSE_MS = 1_000;

/**
 * Gauges whose values are read (from the database, say) when Prometheus scrapes, rather than
 * kept up to date by every change. One `read` serves all of them; it gets `timeoutMs` to answer.
 * A read that fails or is late empties the gauges (so a dashboard shows a gap, not a stale
 * figure) and counts in stockgraph_metric_read_failures_total: a scrape never fails or hangs
 * because the database is slow.
 */
export function scrapedGauges<Value>(
  metrics: ServiceMetrics,
  reader: string,
  read: () => Promise<Value>,
  gauges: readonly ScrapedGauge<Value>[],
  { timeoutMs = 1_000 }: { timeoutMs?: number } = {}, // 1 second
): void {
  let last: { at: number; value: Promise<Value | null> } | null = null;
  const current = (): Promise<Value | null> => {
    if (last && Date.now() - last.at < READ_REUSE_MS) return last.value;
    const value = withinTime(read(), timeoutMs).catch(() => {
      metrics.readFailures.inc({ reader });
      return null;
    });
    last = { at: Date.now(), value };
    return value;
  };
  for (const { name, help, labelNames = [], set } of gauges) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [metrics.registry],
      async collect() {
        const value = await current();
        this.reset();
        if (value !== null) set(this, value);
      },
    });
  }
}

async function withinTime<Value>(value: Promise<Value>, timeoutMs: number): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([value, late]);
  } finally {
    clearTimeout(timer);
  }
}
