import { GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { directiveApplications } from '../supergraph/supergraphDirectives.ts';
import { selectedFields } from './selectedFields.ts';
import type { Principal } from './principal.ts';

/** Scopes one field or type needs: any one of the groups, every scope of that group (Federation's `@requiresScopes`). */
type ScopeRequirement = readonly (readonly string[])[];

/** What the supergraph's `@requiresScopes` and `@authenticated` ask of callers, by `Type.field` and by type. */
export interface AccessRequirements {
  readonly scopes: ReadonlyMap<string, ScopeRequirement>;
  readonly authenticated: ReadonlySet<string>;
}

/**
 * Reads the access directives each subgraph declared, as composition carried them into the
 * supergraph. @apollo/gateway validates and then ignores them (only Apollo Router enforces
 * them), so the gateway enforces them itself, with checkOperationAccess.
 */
export function accessRequirementsOf(supergraphSdl: string): AccessRequirements {
  const scopes = new Map([...directiveApplications(supergraphSdl, 'requiresScopes')].map(([coordinate, { scopes }]) => [coordinate, scopes as ScopeRequirement]));
  return { scopes, authenticated: new Set(directiveApplications(supergraphSdl, 'authenticated').keys()) };
}

/**
 * Whether `principal` may run `operation` (with the fragments it uses): every field and type
 * it selects must have its scopes granted. Returns the refusal naming every missing scope
 * (FORBIDDEN; UNAUTHENTICATED for an anonymous caller, which a key or token may cure), or null.
 */
export function checkOperationAccess(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  requirements: AccessRequirements,
  principal: Principal,
): GraphQLError | null {
  const refused = new Map<string, ScopeRequirement>();
  let needsAuthentication = false;
  const check = (coordinate: string) => {
    if (requirements.authenticated.has(coordinate) && principal.kind === 'anonymous') needsAuthentication = true;
    const requirement = requirements.scopes.get(coordinate);
    if (requirement && !requirement.some((group) => group.every((scope) => principal.scopes.has(scope)))) refused.set(coordinate, requirement);
  };
  for (const field of selectedFields(schema, document, operation)) {
    check(field.coordinate);
    check(field.returnType);
  }
  if (refused.size === 0 && !needsAuthentication) return null;
  const missing = [...new Set([...refused.values()].map((requirement) => requirement.map((group) => group.join(' and ')).join(' or ')))];
  const fields = [...refused.keys()];
  if (principal.kind === 'anonymous') {
    return new GraphQLError(
      `${fields.length > 0 ? `${fields.join(', ')} need${fields.length === 1 ? 's' : ''} the ${missing.join(', ')} scope, which anonymous callers are not granted` : 'This operation needs an authenticated caller'}: send "Authorization: Bearer <API key or JWT>"`,
      { extensions: { code: 'UNAUTHENTICATED', requiredScopes: missing, fields, http: { status: 401 } } },
    );
  }
  return new GraphQLError(`${fields.join(', ')} need${fields.length === 1 ? 's' : ''} the ${missing.join(', ')} scope, which ${principal.name} is not granted`, {
    extensions: { code: 'FORBIDDEN', requiredScopes: missing, fields, http: { status: 403 } },
  });
}
