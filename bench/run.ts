// npm run bench [scenario]: runs the named benchmark scenarios (all when none is named) against
// PostgreSQL and Redis (startup: the embedded `npm start`) and records each in BENCHMARKS.md.
import { bulkAvailability } from './scenarios/bulkAvailability.ts';
import { erpSync } from './scenarios/erpSync.ts';
import { eventIngestion } from './scenarios/eventIngestion.ts';
import { federatedQuery } from './scenarios/federatedQuery.ts';
import { gatewayEdge } from './scenarios/gatewayEdge.ts';
import { gateways } from './scenarios/gateways.ts';
import { orders } from './scenarios/orders.ts';
import { reconciliation } from './scenarios/reconciliation.ts';
import { reservations } from './scenarios/reservations.ts';
import { startup } from './scenarios/startup.ts';
import { subscriptions } from './scenarios/subscriptions.ts';

const SCENARIOS: Record<string, (command: string) => Promise<void>> = {
  'federated-query': federatedQuery,
  'bulk-availability': bulkAvailability,
  'gateway-edge': gatewayEdge,
  gateways,
  'event-ingestion': eventIngestion,
  reservations,
  subscriptions,
  orders,
  'erp-sync': erpSync,
  reconciliation,
  startup,
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in SCENARIOS));
if (unknown.length) {
  console.error(`Unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
for (const name of requested.length ? requested : Object.keys(SCENARIOS)) {
  console.log(`Running ${name}...`);
  await SCENARIOS[name]!(`npm run bench ${name}`);
}
