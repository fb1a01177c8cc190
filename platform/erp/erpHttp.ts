import { request, type Dispatcher } from 'undici';

/** A failure worth another attempt: a 5xx or 429 answer, no answer in time, a dropped connection, a garbled body. */
export class TransientErpFailure extends Error {
  override readonly name: string = 'TransientErpFailure';
}

/** A 429: the ERP is up, and asks for fewer calls. */
export class ErpRateLimited extends TransientErpFailure {
  override readonly name = 'ErpRateLimited';

  /** @param retryAfterMs how long its Retry-After asks the caller to wait, in milliseconds; null when it did not say. */
  constructor(message: string, readonly retryAfterMs: number | null) {
    super(message);
  }
}

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
  /** The connection pool to send it through (kept-alive connections); undici's global one when omitted. */
  readonly dispatcher?: Dispatcher | undefined;
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
export async function requestErp(url: URL, { method = 'GET', headers, body, timeoutMs, signal, dispatcher }: ErpRequest): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(url, { method, headers, body, dispatcher, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const status = `${response.statusCode} ${response.statusText}`.trim();
    if (response.statusCode === 429 || response.statusCode >= 500) {
      // Its body says nothing the retry needs.
      await response.body.dump();
      if (response.statusCode === 429) throw new ErpRateLimited(`answered ${status}`, retryAfterOf(response.headers['retry-after']));
      throw new TransientErpFailure(`answered ${status}`);
    }
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) return text;
    throw new ErpRefusal(status, text.trim().slice(0, MAX_DETAIL_CHARS));
  } catch (error) {
    if (error instanceof TransientErpFailure || error instanceof ErpRefusal) throw error;
    signal?.throwIfAborted();
    if (timeout.aborted) throw new TransientErpFailure(`no answer within ${timeoutMs} ms`, { cause: error });
    throw new TransientErpFailure(`request failed: ${(error as Error).message}`, { cause: error });
  }
}

/** A Retry-After header (RFC 9110: delay-seconds or an HTTP date) as milliseconds from now; null when absent or unreadable. */
export function retryAfterOf(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
