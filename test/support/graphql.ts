import { signedIdentity } from './trustedCaller.ts';

export interface GraphQLResponse<Data = any> {
  data?: Data;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

/**
 * POSTs a GraphQL operation to `${baseUrl}/graphql`, with `headers` besides the content type.
 * Subgraphs answer only what the gateway signed, so the request carries a signed identity for an
 * unrestricted caller unless `headers` brings its own; the gateway ignores one sent to it.
 */
export async function graphql<Data = any>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<Data>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedIdentity(), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<Data>;
}
