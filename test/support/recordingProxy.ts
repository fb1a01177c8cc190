import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A GraphQL request as it passed through the proxy. */
export interface RecordedRequest {
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export interface RecordingProxy {
  /** Where to send what should reach the service: the same paths as on the service itself. */
  readonly url: string;
  /** The GraphQL requests (POSTs with a JSON body) forwarded so far, oldest first. */
  readonly requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on a free port in front of a real service (`target`, its base URL): it forwards
 * every request as it came and answers with what the service answered, and records the GraphQL
 * ones, so that a test can count what a gateway asked of a subgraph.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (request.method === 'POST' && request.headers['content-type']?.startsWith('application/json')) {
      const { query, variables } = JSON.parse(body.toString()) as { query: string; variables?: Record<string, unknown> };
      requests.push({ query, variables: variables ?? {} });
    }
    try {
      const answer = await fetch(`${target}${request.url}`, {
        method: request.method,
        headers: forwardedHeaders(request.headers),
        ...(body.length > 0 && { body }),
      });
      response.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => name !== 'content-length' && name !== 'content-encoding')));
      response.end(Buffer.from(await answer.arrayBuffer()));
    } catch (error) {
      response.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

/** The request's headers but those of its own connection, which fetch sets for the next hop. */
function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const hopByHop = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
  return Object.fromEntries(Object.entries(headers).flatMap(([name, value]) => (hopByHop.has(name) || value === undefined ? [] : [[name, String(value)]])));
}
