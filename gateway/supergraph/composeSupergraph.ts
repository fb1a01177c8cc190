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

/**
 * Composes the subgraphs' SDL files into a supergraph with @apollo/composition. The routing
 * URLs are the local defaults; the gateway replaces them with its configured URLs.
 * Throws CompositionError listing every problem.
 */
export function composeSupergraph(): string {
  const services = SUBGRAPH_NAMES.map((name) => {
    const path = schemaPathOf(name);
    try {
      return { name, url: `http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql`, typeDefs: parse(readFileSync(path, 'utf8')) };
    } catch (error) {
      throw new CompositionError([`${path}: ${(error as Error).message}`]);
    }
  });
  const result = composeServices(services);
  if (result.errors) {
    throw new CompositionError(result.errors.map((error) => `[${error.extensions.code ?? 'COMPOSITION'}] ${error.message}`));
  }
  return result.supergraphSdl;
}
