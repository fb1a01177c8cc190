import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/**
 * One service's metrics: its own prom-client Registry, so that the four services `npm start`
 * runs in one process each answer /metrics with their own figures. Every series carries a
 * `service` label (gateway, inventory, orders, reconciliation), the default process metrics too,
 * rather than a per-service name prefix: one dashboard query covers every service, and
 * `sum by (service)` tells them apart.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  /** Scrape-time reads that failed or were late (see scrapedGauges). */
  readonly readFailures: Counter<'reader'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.readFailures = new Counter({
      name: 'stockgraph_metric_read_failures_total',
      help: 'Scrape-time reads of gauges (outbox lag, ERP sync backlog) that failed or took too long, by reader',
      labelNames: ['reader'],
      registers: [this.registry],
    });
  }

  /** The Prometheus text exposition of every metric, with the content type to send it under. */
  async exposition(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
