import { Kind, parse, print, visit, type ConstDirectiveNode, type EnumValueDefinitionNode } from 'graphql';
import { ConfigurationError } from '../../platform/config/environment.ts';

/** Where the gateway sends each subgraph's fetches, by the subgraph's name in the supergraph (`@join__graph(name:)`). */
export type SubgraphUrls = ReadonlyMap<string, string>;

/**
 * URLs that replace the supergraph's own, by join graph: the key is the graph's `join__Graph`
 * enum value in any case (`INVENTORY` or `inventory`), as `<NAME>_URL` names it in the gateway's
 * environment.
 */
export type SubgraphUrlOverrides = Readonly<Record<string, string>>;

const JOIN_SPEC = 'https://specs.apollo.dev/join/';
const HTTP_PROTOCOLS = ['http:', 'https:'];

/**
 * The supergraph with each subgraph's URL where the gateway is to reach it, and those URLs: the
 * supergraph's own `@join__graph(url:)`, unless `overrides` names the graph. So that the query
 * planner, the single-fetch fast path and subscriptions all send a subgraph's fetches to one
 * place, and any subgraph of any valid supergraph can be reached, whatever it is called.
 *
 * Throws ConfigurationError, naming `<NAME>_URL`, when an override is not an http(s) URL, or when
 * a graph has none and the supergraph gives it none either.
 */
export function routeSubgraphs(supergraphSdl: string, overrides: SubgraphUrlOverrides): { supergraphSdl: string; urls: SubgraphUrls } {
  const document = parse(supergraphSdl);
  const prefix = joinPrefix(document.definitions);
  const overrideOf = new Map(Object.entries(overrides).map(([graph, url]) => [graph.toUpperCase(), url]));
  const urls = new Map<string, string>();
  let overridden = false;
  const routed = visit(document, {
    EnumValueDefinition: (value: EnumValueDefinitionNode) => {
      const graph = value.directives?.find((directive) => directive.name.value === `${prefix}__graph`);
      if (!graph) return undefined;
      const variableName = `${value.name.value.toUpperCase()}_URL`;
      const name = stringArgument(graph, 'name');
      const override = overrideOf.get(value.name.value.toUpperCase());
      const url = override ?? stringArgument(graph, 'url') ?? '';
      if (!isHttpUrl(url)) {
        throw override === undefined
          ? new ConfigurationError(variableName, `is required: the supergraph gives the ${name ?? value.name.value} subgraph no http(s) URL (got "${url}")`)
          : new ConfigurationError(variableName, `must be a URL starting with http:// or https:// (got "${url}")`);
      }
      urls.set(name ?? value.name.value, url);
      if (override === undefined) return undefined;
      overridden = true;
      const withUrl: ConstDirectiveNode = {
        ...graph,
        arguments: [
          ...(graph.arguments ?? []).filter((argument) => argument.name.value !== 'url'),
          { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'url' }, value: { kind: Kind.STRING, value: url } },
        ],
      };
      return { ...value, directives: value.directives!.map((directive) => (directive === graph ? withUrl : directive)) };
    },
  });
  return { supergraphSdl: overridden ? print(routed) : supergraphSdl, urls };
}

/** The name the supergraph's `@link` to the join spec gives its elements (`join`, unless imported `as:` another). */
function joinPrefix(definitions: ReturnType<typeof parse>['definitions']): string {
  for (const definition of definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link' || !stringArgument(link, 'url')?.startsWith(JOIN_SPEC)) continue;
      return stringArgument(link, 'as') ?? 'join';
    }
  }
  return 'join';
}

function stringArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((argument) => argument.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    return HTTP_PROTOCOLS.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
