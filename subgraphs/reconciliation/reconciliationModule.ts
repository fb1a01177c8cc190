import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { EventContract } from '../../platform/contracts/events.ts';
import type { Environment } from '../../platform/config/environment.ts';
import type { Prisma } from '../../platform/database/generated/client.ts';
import type { DecodedEvent } from '../../platform/events/decodedEvent.ts';
import type { Database } from '../../platform/database/database.ts';
import type { EventBus } from '../../platform/events/eventBus.ts';
import type { BackgroundWorker } from '../../platform/graphql/subgraphServer.ts';
import type { Logger } from '../../platform/logger.ts';
import type { CallerIdentity } from '../../platform/graphql/callerIdentity.ts';
import type { ReconciliationMetrics } from './reconciliationMetrics.ts';

/** The producer name of the reconciliation service's outbox records; its relay publishes them. */
export const RECONCILIATION_PRODUCER = 'reconciliation';

/** What each part of the reconciliation subgraph is built from. */
export interface ReconciliationModuleEnvironment {
  readonly db: Database;
  readonly bus: EventBus;
  readonly env: Environment;
  readonly logger: Logger;
  /** Wakes the service's outbox relay after a commit that wrote outbox records. */
  readonly publishNow: () => void;
  readonly metrics: ReconciliationMetrics;
}

/**
 * One part of the subgraph (the ERP sync ledger; reconciliation runs and their cases): its
 * resolvers, its share of each request's context and its background work. The subgraph merges
 * the parts; they share the database and the outbox, never each other's code.
 */
export interface ReconciliationModule<Context extends object> {
  readonly resolvers: GraphQLResolverMap<any>;
  /** A request's share, for the caller the gateway vouches for (its name is recorded as the actor; its locations bound what it sees). */
  context(identity: CallerIdentity): Context;
  readonly workers: readonly BackgroundWorker[];
  /** What the part takes from inventory's stock-change stream, applied by the subgraph's one consumer of it. */
  readonly inventoryEvents: InventoryEventHandler;
}

/**
 * A part's share of inventory's stock-change stream. The parts share one consumer of it, so that
 * each commit moves the position copy and the sync ledger together: a run never sees a
 * transaction in flight whose stock change the copy lacks, nor the change without its transaction.
 */
export interface InventoryEventHandler {
  readonly contracts: readonly EventContract<any>[];
  /** Applies the part's events, in stream order, in the consumer's transaction. */
  apply(tx: Prisma.TransactionClient, events: readonly DecodedEvent[]): Promise<void>;
  /** After a commit that applied any of them. Should not throw. */
  onCommitted?(): void;
}
