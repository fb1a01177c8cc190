import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompositionError, composeSubgraphs, composeSupergraph, SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';

describe('the supergraph', () => {
  it('checked in matches what the subgraph schemas compose to (run `npm run compose` if not)', () => {
    assert.equal(readFileSync(SUPERGRAPH_PATH, 'utf8'), composeSupergraph());
  });

  it('fails composition with every problem listed by code', () => {
    const header = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';
    const attempt = () =>
      composeSubgraphs([
        { name: 'one', url: 'http://one/graphql', sdl: `${header}\ntype Query { stock: Int }` },
        { name: 'two', url: 'http://two/graphql', sdl: `${header}\ntype Query { stock: String }` },
      ]);

    assert.throws(attempt, (error: unknown) => {
      assert.ok(error instanceof CompositionError);
      assert.match(error.message, /^Composition failed:\n/);
      assert.match(error.message, /^ {2}- \[FIELD_TYPE_MISMATCH\] .*"Query\.stock"/m);
      assert.match(error.message, /^ {2}- \[INVALID_FIELD_SHARING\] .*"Query\.stock"/m);
      return true;
    });
  });

  it('names the subgraph whose SDL does not parse', () => {
    assert.throws(
      () => composeSubgraphs([{ name: 'broken', url: 'http://broken/graphql', sdl: 'type Query {' }]),
      /- broken: Syntax Error/,
    );
  });
});
