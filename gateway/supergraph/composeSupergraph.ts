import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { DEFAULT_PORTS, SUBGRAPH_NAMES } from '../../platform/config/services.ts';

/** The checked-in supergraph the gateway serves; `npm run compose` rewrites it. */
export const SUPERGRAPH_PATH = new URL('./supergraph.graphql', import.meta.url).pathname;

const schemaPathOf = (name: string) => new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url).pathname;

export class CompositionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Composition failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'CompositionError';
  }
}

export interface SubgraphSource {
  readonly name: string;
  readonly url: string;
  /** The subgraph's SDL. */
  readonly sdl: string;
}

/**
 * Composes the subgraphs' SDL files into a supergraph. The routing URLs are the local
 * defaults; the gateway replaces them with its configured URLs.
 */
export function composeSupergraph(): string {
  return composeSubgraphs(
    SUBGRAPH_NAMES.map((name) => ({
      name,
      url: `http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql`,
      sdl: readFileSync(schemaPathOf(name), 'utf8'),
    })),
  );
}

/** Composes with @apollo/composition; throws CompositionError listing every problem. */
export function composeSubgraphs(subgraphs: readonly SubgraphSource[]): string {
  const services = subgraphs.map(({ name, url, sdl }) => {
    try {
      return { name, url, typeDefs: parse(sdl) };
    } catch (error) {
      throw new CompositionError([`${name}: ${(error as Error).message}`]);
    }
  });
  const result = composeServices(services);
  if (result.errors) {
    throw new CompositionError(result.errors.map((error) => `[${error.extensions.code ?? 'COMPOSITION'}] ${error.message}`));
  }
  return result.supergraphSdl;
}
