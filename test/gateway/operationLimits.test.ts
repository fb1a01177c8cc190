import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Supergraph } from '@apollo/federation-internals';
import { getOperationAST, parse } from 'graphql';
import { readGatewayConfig } from '../../gateway/config.ts';
import { ASSUMED_LIST_SIZE, operationCost } from '../../gateway/edge/operationCost.ts';
import { checkOperationLimits } from '../../gateway/edge/operationLimits.ts';
import { executionSupergraph } from '../../gateway/supergraph/executionSupergraph.ts';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';

const schema = Supergraph.build(executionSupergraph(readFileSync(SUPERGRAPH_PATH, 'utf8'))).apiSchema().toGraphQLJSSchema();
const { limits } = readGatewayConfig({}, { allowEmbedded: true }).edge.defaults;
const costOf = (query: string, variables: Record<string, unknown> = {}) => {
  const document = parse(query);
  return operationCost(schema, document, getOperationAST(document)!, variables);
};
const refusalOf = (query: string, variables: Record<string, unknown> = {}) => {
  const document = parse(query);
  return checkOperationLimits(schema, document, getOperationAST(document)!, variables, limits);
};

/** The GraphQL operations the README shows: its graphql blocks, and the queries its curl commands send. */
function readmeOperations(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const sent = [...readme.matchAll(/-d '(\{"query".*?\})'/g)].map((match) => (JSON.parse(match[1]!) as { query: string }).query);
  const gql = [...readme.matchAll(/^gql ['"]([\s\S]*?)['"]\n/gm)].map((match) => match[1]!.replace(/\\"/g, '"').replace(/\$id/g, 'ORD-1'));
  return [...blocks, ...sent, ...gql];
}

describe('operation cost', () => {
  it('counts each field once per object, and multiplies what a list selects by the size asked for', () => {
    assert.equal(costOf('{ item(sku: "A") { sku description } }'), 3);
    assert.equal(costOf('{ items(first: 7) { nodes { sku } hasNextPage } }'), 1 + 1 + 7 + 1, 'first sizes the connection\'s nodes');
    assert.equal(costOf('{ items { nodes { sku } } }'), 1 + 1 + 50, 'a first left to its default (50) still counts');
    assert.equal(costOf('query ($skus: [ID!]!) { availability(skus: $skus) { items { sku } } }', { skus: ['A', 'B', 'C'] }), 1 + 1 + 3, 'skus size the answer\'s items');
    assert.equal(costOf('{ item(sku: "A") { stockLevels { available } } }'), 1 + 1 + ASSUMED_LIST_SIZE, 'a list nothing sizes is assumed to hold 10');
    assert.equal(costOf('{ item(sku: "A") { ...levels } } fragment levels on Item { stockLevels(locationIds: ["X", "Y"]) { available onHandWms } }'), 1 + 1 + 2 * 2, 'through fragments too');
  });

  it('admits every operation the README shows, with the default limits', () => {
    const operations = readmeOperations();
    assert.ok(operations.length >= 5, `found ${operations.length}`);
    for (const query of operations) assert.equal(refusalOf(query)?.message, undefined, query);
  });

  it('admits a thousand-SKU availability with every field at every location, and refuses it asked for over and over', () => {
    const skus = Array.from({ length: 1_000 }, (_, i) => `SKU-${i}`);
    const selection = `availability(skus: $skus) {
      asOf items { sku available inboundInTransit earliestPromiseDate
                   locations { locationId available inboundInTransit inboundExpectedAt stale location { id name } } } }`;
    const once = `query ($skus: [ID!]!) { ${selection} }`;
    assert.equal(refusalOf(once, { skus }), null, `${costOf(once, { skus })}`);
    const repeated = `query ($skus: [ID!]!) { ${['a', 'b', 'c'].map((alias) => `${alias}: ${selection}`).join(' ')} }`;
    const refusal = refusalOf(repeated, { skus });
    assert.equal(refusal?.extensions.code, 'QUERY_TOO_COSTLY');
    assert.equal(refusal?.extensions.cost, 3 * costOf(once, { skus }));
  });
});
