import { Agent } from 'undici';
import { basicAuthorization, requestErp, TransientErpFailure } from '../../../platform/erp/erpHttp.ts';

/** Oracle Fusion SCM's staged inventory transactions collection (REST framework version 11.13.18.05). */
const STAGED_TRANSACTIONS_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryStagedTransactions';

// An idle kept-alive connection is closed after this: the ERP's own idle timeout may be shorter,
// and a post on a connection the server has just closed is a failed attempt.
const KEEP_ALIVE_MS = 4_000; // 4 seconds

export interface StagedTransactionsClientOptions {
  /** The Fusion pod, e.g. `https://example.fa.ocs.oraclecloud.com`; the resource path is appended. */
  readonly baseUrl: string;
  /** HTTP Basic credentials. */
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /** How long one call may take, answer included, in milliseconds. */
  readonly timeoutMs: number;
  /** Kept-alive connections to the ERP, at most: as many as posts under way at once. */
  readonly connections: number;
}

/** Posts staged transactions to the ERP over kept-alive connections; one attempt per call, no retry. */
export class StagedTransactionsClient {
  private readonly url: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly agent: Agent;

  constructor(private readonly options: StagedTransactionsClientOptions) {
    this.url = new URL(options.baseUrl.replace(/\/+$/, '') + STAGED_TRANSACTIONS_PATH);
    this.headers = {
      accept: 'application/json',
      'content-type': 'application/json',
      ...(options.auth ? { authorization: basicAuthorization(options.auth) } : {}),
    };
    this.agent = new Agent({ connections: options.connections, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS });
  }

  /**
   * Creates one staged transaction (`body` in Oracle's attribute names).
   *
   * @returns the ERP's TransactionInterfaceId for it.
   * @throws TransientErpFailure or ErpRefusal (see requestErp); a 2xx without the id is a TransientErpFailure.
   */
  async post(body: Readonly<Record<string, unknown>>): Promise<string> {
    const answer = await requestErp(this.url, { method: 'POST', headers: this.headers, body: JSON.stringify(body), timeoutMs: this.options.timeoutMs, dispatcher: this.agent });
    let created: unknown;
    try {
      created = JSON.parse(answer);
    } catch {
      throw new TransientErpFailure('answered the transaction with a body that is not JSON');
    }
    const id = (created as { TransactionInterfaceId?: unknown } | null)?.TransactionInterfaceId;
    // Without its id we cannot tell the transaction was created; a resend under the same reference can.
    if (typeof id !== 'number' && typeof id !== 'string') throw new TransientErpFailure('answered the transaction without a TransactionInterfaceId');
    return String(id);
  }

  /** Closes the connections, once the posts under way have been answered. */
  close(): Promise<void> {
    return this.agent.close();
  }
}
