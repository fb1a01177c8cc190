import { Kind, parse, print, visit, type DirectiveNode } from 'graphql';

/** The federation features that say who may call, not how to plan: the gateway enforces them itself (edge/operationAccess.ts). */
const SECURITY_FEATURES = new Map([
  ['https://specs.apollo.dev/requiresScopes/', 'requiresScopes'],
  ['https://specs.apollo.dev/authenticated/', 'authenticated'],
]);

/**
 * The supergraph as @apollo/gateway can load it: without the `for: SECURITY` features
 * (`@requiresScopes`, `@authenticated`) that composition links. @apollo/gateway refuses any
 * supergraph linking a security feature it does not support, and it supports none: only Apollo
 * Router does. Nothing else changes, so query plans are the same.
 */
export function executionSupergraph(supergraphSdl: string): string {
  const names = new Set<string>();
  const document = parse(supergraphSdl);
  const isSecurityLink = (directive: DirectiveNode) => {
    if (directive.name.value !== 'link') return false;
    const url = directive.arguments?.find((argument) => argument.name.value === 'url')?.value;
    if (url?.kind !== Kind.STRING) return false;
    for (const [prefix, name] of SECURITY_FEATURES) if (url.value.startsWith(prefix)) return names.add(name), true;
    return false;
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.SCHEMA_DEFINITION) definition.directives?.forEach(isSecurityLink);
  }
  if (names.size === 0) return supergraphSdl;
  const isSecurityName = (name: string) => names.has(name) || [...names].some((feature) => name.startsWith(`${feature}__`));
  return print(
    visit(document, {
      Directive: (node) => (isSecurityName(node.name.value) || isSecurityLink(node) ? null : undefined),
      DirectiveDefinition: (node) => (isSecurityName(node.name.value) ? null : undefined),
      ScalarTypeDefinition: (node) => (isSecurityName(node.name.value) ? null : undefined),
    }),
  );
}
