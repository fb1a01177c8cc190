import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { directiveApplications } from '../supergraph/supergraphDirectives.ts';
import { selectedFields } from './selectedFields.ts';
import type { GatewayContext } from './requestAdmission.ts';

/**
 * Cache-Control for GET requests of persisted queries, per operation, from the `@cacheFor`
 * hints the subgraphs declare: the operation may be cached as long as the least-cacheable field
 * it reads. A field's hint is its own, else that of the type it returns (an object) or of the
 * type it belongs to (a scalar); a field with none (stock, orders) makes the answer `no-store`.
 * Answers to authenticated callers are `private` (they depend on the caller's scopes and
 * locations); an anonymous caller's may be `public`. Apollo Server's own cache control is off
 * in the gateway: it would need the hints at every subgraph, on every resolved field.
 */
export class CachePolicy {
  private hints: ReadonlyMap<string, number> = new Map();

  useSupergraph(supergraphSdl: string): void {
    this.hints = new Map([...directiveApplications(supergraphSdl, 'cacheFor')].map(([coordinate, { maxAge }]) => [coordinate, Number(maxAge)]));
  }

  /** Seconds an answer to `operation` may be kept; 0 when it reads anything that changes in real time. */
  maxAgeOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): number {
    let maxAge = Number.POSITIVE_INFINITY;
    for (const field of selectedFields(schema, document, operation)) {
      const hint = this.hints.get(field.coordinate) ?? this.hints.get(field.returnsComposite ? field.returnType : field.parentType) ?? 0;
      maxAge = Math.min(maxAge, hint);
    }
    return Number.isFinite(maxAge) ? maxAge : 0;
  }

  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async ({ request, contextValue }) => {
        if (request.http?.method !== 'GET' || !contextValue.persistedQuery) return;
        let maxAge = 0;
        return {
          didResolveOperation: async ({ schema, document, operation }) => {
            if (operation) maxAge = this.maxAgeOf(schema, document, operation);
          },
          willSendResponse: async ({ response }) => {
            const failed = response.body.kind !== 'single' || (response.body.singleResult.errors?.length ?? 0) > 0;
            const scope = contextValue.principal.kind === 'anonymous' ? 'public' : 'private';
            response.http.headers.set('cache-control', !failed && maxAge > 0 ? `${scope}, max-age=${maxAge}` : 'no-store');
          },
        };
      },
    };
  }
}
