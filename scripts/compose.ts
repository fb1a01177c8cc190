// npm run compose: rewrites gateway/supergraph/supergraph.graphql from the subgraphs' SDL.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CompositionError, composeSupergraph, SUPERGRAPH_PATH } from '../gateway/supergraph/composeSupergraph.ts';

try {
  writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
  console.log(`Wrote ${relative(process.cwd(), SUPERGRAPH_PATH)}`);
} catch (error) {
  if (!(error instanceof CompositionError)) throw error;
  console.error(error.message);
  process.exit(1);
}
