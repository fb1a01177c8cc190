import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { seedDemoOrders } from '../../system/demoOrders.ts';
import { describeMachine, freshDatabase, graphqlLoad, recordSection, resultTable, startServices } from '../harness.ts';

export const STOCK_QUERY = `query ($sku: ID!, $locationId: ID!) {
  item(sku: $sku) { sku description stockLevels(locationIds: [$locationId]) { onHandWms onHandErp allocated reserved available asOf } }
}`;

export const FEDERATED_QUERY = `query ($sku: ID!, $locationId: ID!) {
  item(sku: $sku) {
    sku description
    openOrders { id status }
    stockLevels(locationIds: [$locationId]) { onHandWms onHandErp available reconciliation { variance tier } }
  }
}`;

/**
 * The gateway's own cost: the same inventory-only query through the gateway and straight to
 * the inventory subgraph, and a query that spans all three subgraphs through the gateway.
 */
export async function federatedQuery(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db);
  const services = await startServices(url);
  try {
    await seedDemoOrders({ gatewayUrl: services.gatewayUrl, headers: services.clientHeaders, db, logger: { info: () => {} } });
    const variables = { sku: DEMO_SKU, locationId: DEMO_LOCATION_ID };
    const gateway = `${services.gatewayUrl}/graphql`;
    const inventory = `${services.subgraphUrls.inventory}/graphql`;
    const asClient = { headers: services.clientHeaders };
    // A signed identity is honoured for 60 s: each run against the subgraph gets its own.
    const asGateway = () => ({ headers: services.subgraphHeaders() });
    await graphqlLoad('warm-up', gateway, { query: FEDERATED_QUERY, variables }, { ...asClient, durationSeconds: 2 });
    await graphqlLoad('warm-up', inventory, { query: STOCK_QUERY, variables }, { ...asGateway(), durationSeconds: 2 });

    const direct = await graphqlLoad('inventory subgraph directly (stock query)', inventory, { query: STOCK_QUERY, variables }, asGateway());
    const viaGateway = await graphqlLoad('gateway (same stock query, 1 subgraph)', gateway, { query: STOCK_QUERY, variables }, asClient);
    const federated = await graphqlLoad('gateway (query across 3 subgraphs)', gateway, { query: FEDERATED_QUERY, variables }, asClient);

    const overhead = direct.requestsPerSecond / viaGateway.requestsPerSecond;
    recordSection('federated-query', `
## Federated query through the gateway

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and
Redis 7 (loopback) with the demo data (5,000 SKUs x 12 DCs); autocannon, 16 connections, 10 s
per target after a 2 s warm-up, in the same process as the benchmark driver.

${resultTable([direct, viaGateway, federated])}

Gateway overhead on the same query: the subgraph alone serves **${overhead.toFixed(2)}x** the
requests/s it serves through the gateway (p50 ${direct.p50Ms.toFixed(1)} ms direct vs
${viaGateway.p50Ms.toFixed(1)} ms via the gateway).

Query across three subgraphs:

\`\`\`graphql
${FEDERATED_QUERY}
\`\`\`
`);
    console.log(resultTable([direct, viaGateway, federated]));
  } finally {
    await services.stop();
    await db.close();
  }
}
