import { Kind, parse, valueFromASTUntyped, type ConstDirectiveNode } from 'graphql';

/**
 * Where the supergraph applies directive `name`, by schema coordinate (`Type` for a type,
 * `Type.field` for a field), with its arguments: how the gateway reads what the subgraphs
 * declared for it to enforce (`@requiresScopes`, `@authenticated`, `@cacheFor`).
 */
export function directiveApplications(supergraphSdl: string, name: string): Map<string, Record<string, unknown>> {
  const applications = new Map<string, Record<string, unknown>>();
  const record = (coordinate: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    const directive = directives?.find((candidate) => candidate.name.value === name);
    if (directive) applications.set(coordinate, Object.fromEntries((directive.arguments ?? []).map((argument) => [argument.name.value, valueFromASTUntyped(argument.value)])));
  };
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    record(definition.name.value, definition.directives);
    for (const field of definition.fields ?? []) record(`${definition.name.value}.${field.name.value}`, field.directives);
  }
  return applications;
}
