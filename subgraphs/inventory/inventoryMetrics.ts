import { Counter } from 'prom-client';
import type { ServiceMetrics } from '../../platform/observability/serviceMetrics.ts';
import type { ReservationOutcomeObserver } from './services/reservationService.ts';
import type { EventOutcome } from './services/warehouseEventIngestion.ts';

/** Inventory's own figures: warehouse events by outcome, reservation outcomes. Services report through the functions, and know nothing of prom-client. */
export class InventoryMetrics {
  private readonly events: Counter<'source' | 'outcome'>;
  private readonly reservations: Counter<'action' | 'outcome'>;

  constructor(metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.events = new Counter({
      name: 'stockgraph_warehouse_events_total',
      help: 'Warehouse events ingested (posted, streamed or replayed), by source and outcome: APPLIED, DUPLICATE, SUPERSEDED (a newer count already covers it) or DEAD_LETTERED',
      labelNames: ['source', 'outcome'],
      registers,
    });
    this.reservations = new Counter({
      name: 'stockgraph_reservation_outcomes_total',
      help: 'Reservation requests by action (create, extend, confirm, release, expire) and outcome (OK, or the error code, e.g. INSUFFICIENT_STOCK)',
      labelNames: ['action', 'outcome'],
      registers,
    });
  }

  // Sources are the configured mappings (an unknown one is refused before ingestion) and the
  // outcomes and codes are enums: no label here is the caller's to choose.
  readonly warehouseEventsIngested = (source: string, outcomes: readonly EventOutcome[]): void => {
    for (const { status } of outcomes) this.events.inc({ source, outcome: status });
  };

  readonly reservationOutcome: ReservationOutcomeObserver = (action, outcome, count) => {
    this.reservations.inc({ action, outcome }, count);
  };
}
