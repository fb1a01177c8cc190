/** A failure worth another attempt: a 5xx or 429 answer, no answer in time, a dropped connection, a garbled body. */
export class TransientErpFailure extends Error {}

/** The ERP refused the request (a 4xx other than 429): the same request would be refused again. */
export class ErpRefusal extends Error {
  override readonly name = 'ErpRefusal';

  /** @param status e.g. `400 Bad Request`; @param detail the start of the ERP's answer, which says why. */
  constructor(readonly status: string, readonly detail: string) {
    super(detail ? `${status}: ${detail}` : status);
  }
}

export interface ErpRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** How long the request may take, answer included, in milliseconds. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** HTTP Basic credentials as an Authorization header value. */
export const basicAuthorization = ({ username, password }: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

// Enough of a refusal to say why, without keeping a whole error page.
const MAX_DETAIL_CHARS = 500;

/**
 * Sends one request to the ERP and reads the whole answer; never retries.
 *
 * @returns the body of a 2xx answer.
 * @throws TransientErpFailure or ErpRefusal as above; the caller's abort reason when `signal` aborts.
 */
export async function requestErp(url: URL, { method = 'GET', headers, body, timeoutMs, signal }: ErpRequest): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { method, headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const status = `${response.status} ${response.statusText}`.trim();
    if (response.status === 429 || response.status >= 500) {
      // Its body says nothing the retry needs.
      await response.body?.cancel();
      throw new TransientErpFailure(`answered ${status}`);
    }
    const text = await response.text();
    if (response.ok) return text;
    throw new ErpRefusal(status, text.trim().slice(0, MAX_DETAIL_CHARS));
  } catch (error) {
    if (error instanceof TransientErpFailure || error instanceof ErpRefusal) throw error;
    signal?.throwIfAborted();
    if (timeout.aborted) throw new TransientErpFailure(`no answer within ${timeoutMs} ms`, { cause: error });
    throw new TransientErpFailure(`request failed: ${(error as Error).message}`, { cause: error });
  }
}
