import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { accessRequirementsOf, checkOperationAccess, type AccessRequirements } from './operationAccess.ts';
import { checkOperationLimits } from './operationLimits.ts';
import type { Principal } from './principal.ts';
import type { GatewayContext } from './requestAdmission.ts';

/**
 * What a parsed operation must pass before the gateway plans it, over HTTP and over WebSocket
 * alike: anonymous callers never mutate, every field's scopes are granted, and the operation
 * stays within the caller's limits. Follows the supergraph: its access directives are read
 * again whenever it reloads.
 */
export class OperationPolicy {
  private requirements: AccessRequirements = { scopes: new Map(), authenticated: new Set() };

  /** Reads the access directives of a (new) supergraph. */
  useSupergraph(supergraphSdl: string): void {
    this.requirements = accessRequirementsOf(supergraphSdl);
  }

  /** The refusal `principal` gets for `operation`, or null when it may run. */
  check(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>, principal: Principal): GraphQLError | null {
    if (principal.kind === 'gateway') return null;
    if (principal.kind === 'anonymous' && operation.operation === 'mutation') {
      return new GraphQLError('Anonymous callers cannot change anything: send "Authorization: Bearer <API key or JWT>"', {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
    return checkOperationAccess(schema, document, operation, this.requirements, principal) ?? checkOperationLimits(schema, document, operation, variables, principal.limits);
  }

  /** The policy as an Apollo Server plugin: a refused operation is answered before any subgraph is called. */
  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ schema, document, operation, request, contextValue }) => {
          if (!operation) return; // Apollo Server answers an operation it cannot find itself
          const refusal = this.check(schema, document, operation, request.variables ?? {}, contextValue.principal);
          if (refusal) throw refusal;
        },
      }),
    };
  }
}
