import type { PrismaClient } from '../database/database.ts';
import { readOutboxLag, type OutboxLag } from '../events/outboxLag.ts';
import { scrapedGauges } from './scrapedGauges.ts';
import type { ServiceMetrics } from './serviceMetrics.ts';

/** Reports `producer`'s outbox lag, read at every scrape: how many records wait for its relay, and for how long the oldest has. */
export function watchOutboxLag(metrics: ServiceMetrics, prisma: PrismaClient, producer: string): void {
  scrapedGauges<OutboxLag>(metrics, 'outbox', () => readOutboxLag(prisma, producer), [
    {
      name: 'stockgraph_outbox_pending_events',
      help: 'Outbox records written and not yet published by the relay (counted up to 100,000), by producer',
      labelNames: ['producer'],
      set: (gauge, lag) => gauge.set({ producer }, lag.pending),
    },
    {
      name: 'stockgraph_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest outbox record not yet published, in seconds (0 when none waits), by producer',
      labelNames: ['producer'],
      set: (gauge, lag) => gauge.set({ producer }, lag.oldestPendingAgeSeconds),
    },
  ]);
}
