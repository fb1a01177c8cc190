import type { SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import { ReconciliationRepository } from './data/reconciliationRepository.ts';
import { createReconciliationLoaders } from './loaders.ts';
import { reconciliationResolvers, type ReconciliationContext } from './resolvers.ts';

/** The reconciliation subgraph: ERP sync transactions, reconciliation runs and discrepancies. */
export function reconciliationSubgraph({ infrastructure: { db } }: SubgraphEnvironment): SubgraphDefinition<ReconciliationContext> {
  const repository = new ReconciliationRepository(db.prisma);
  return {
    name: 'reconciliation',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: reconciliationResolvers,
    createContext: () => ({ repository, loaders: createReconciliationLoaders(repository) }),
  };
}
