// The page's only way to the system: the public GraphQL API of this origin, over HTTP for
// queries and mutations and over graphql-ws for subscriptions, with the credential the operator
// signed in with (gateway/edge/authentication.ts: "Authorization: Bearer <API key or JWT>",
// in the connection_init payload for the socket).
import { createClient } from 'graphql-ws';

export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join('; '));
    this.code = errors[0]?.extensions?.code ?? 'UNKNOWN';
  }
}

const MAX_RETRY_WAIT_MS = 5_000;

/**
 * `request(query, variables)` resolves with `data` or rejects with an ApiError; `subscribe`
 * follows a subscription across reconnects; `onStatus` reports the socket: 'connecting',
 * 'live' or 'reconnecting'.
 */
export function connectApi(token) {
  const authorization = `Bearer ${token}`;
  const statusListeners = new Set();
  let status = 'connecting';
  const setStatus = (next) => {
    status = next;
    statusListeners.forEach((listener) => listener(next));
  };

  const request = async (query, variables = {}) => {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json().catch(() => null);
    if (!body) throw new ApiError([{ message: `The gateway answered ${response.status}`, extensions: { code: `HTTP_${response.status}` } }]);
    if (body.errors?.length) throw new ApiError(body.errors);
    return body.data;
  };

  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = createClient({
    url,
    lazy: false,
    connectionParams: { authorization },
    retryAttempts: Infinity,
    // Any close but a refusal of the credential (4403) is a dropped connection worth retrying.
    shouldRetry: (event) => event?.code !== 4403,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, MAX_RETRY_WAIT_MS))),
    keepAlive: 10_000, // a ping every 10 s finds a connection that died silently
  });
  client.on('connecting', () => setStatus(status === 'connecting' ? 'connecting' : 'reconnecting'));
  client.on('connected', () => setStatus('live'));
  client.on('closed', () => setStatus('reconnecting'));

  /**
   * Delivers each result of `field` to `onEvent`, from now or from `variables.after`. The
   * payload object is the one graphql-ws sends again when it reconnects, so its `after` is
   * moved to each delivered event's cursor: a reconnected subscription resumes after the last
   * event received, and misses none of those published while the socket was down.
   */
  const subscribe = (query, variables, field, onEvent, onError) => {
    const payload = { query, variables: { ...variables } };
    return client.subscribe(payload, {
      next: ({ data, errors }) => {
        if (errors?.length) return onError(new ApiError(errors));
        const event = data[field];
        if (event.cursor) payload.variables.after = event.cursor;
        onEvent(event);
      },
      error: (error) => onError(Array.isArray(error) ? new ApiError(error) : new ApiError([{ message: error?.reason || 'The subscription failed', extensions: { code: `CLOSE_${error?.code ?? 'UNKNOWN'}` } }])),
      complete: () => {},
    });
  };

  return {
    request,
    subscribe,
    status: () => status,
    onStatus: (listener) => {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    close: () => client.dispose(),
  };
}
