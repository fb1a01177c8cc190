/** Sends one GraphQL operation to the gateway, as a client would; throws with the errors it answers. */
export async function gatewayRequest<Data>(gatewayUrl: string, headers: Readonly<Record<string, string>>, query: string, variables: Record<string, unknown>): Promise<Data> {
  const response = await fetch(`${gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const { data, errors } = (await response.json()) as { data?: Data; errors?: { message: string }[] };
  if (errors?.length || !data) throw new Error(`demo request failed: ${errors?.map((error) => error.message).join('; ') ?? response.status}`);
  return data;
}
