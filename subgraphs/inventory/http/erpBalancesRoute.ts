import type { ServerResponse } from 'node:http';
import { bearerTokenGate } from '../../../platform/http/bearerToken.ts';
import { readBody, RequestBodyError, sendJson, type HttpRoute } from '../../../platform/http/serviceHttpServer.ts';
import type { Logger } from '../../../platform/logger.ts';
import { writeAudit } from '../../../platform/observability/auditLog.ts';
import { ErpImportInterruptedError, MalformedCsvError, type ErpBalanceImport } from '../services/erpBalanceImport.ts';

/** Why an upload was refused as a whole; `error.code` of the response body. */
export enum ErpImportErrorCode {
  ERP_IMPORT_NOT_CONFIGURED = 'ERP_IMPORT_NOT_CONFIGURED',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  MALFORMED_CSV = 'MALFORMED_CSV',
  /** The database failed partway: `appliedLines` says exactly which rows were applied. */
  IMPORT_INTERRUPTED = 'IMPORT_INTERRUPTED',
}

const MAX_BODY_BYTES = 32 * 1024 * 1024; // 32 MiB
/** Rejected rows listed in an answer; `rejectedCount` counts them all. A file of junk would otherwise answer with a list larger than itself. */
export const MAX_LISTED_REJECTIONS = 1_000;

export interface ErpBalancesRouteOptions {
  readonly importer: ErpBalanceImport;
  /** The bearer token uploads must carry (ERP_IMPORT_TOKEN); null refuses every upload. */
  readonly token: string | null;
  readonly logger: Pick<Logger, 'error' | 'info'>;
  /** Called once an upload has changed stock levels (wakes the outbox relay). */
  readonly onCommitted: () => void;
}

/**
 * `POST /erp/balances`: a balances CSV (see parseBalancesCsv) with `content-type: text/csv`
 * and `authorization: Bearer <token>`, applied in 'partial' mode. Answers 200
 * `{received, updated, unchanged, rejectedCount, rejected: [{line, reason}]}` (the first 1,000
 * rejected rows, by line), an error that refuses the whole upload and changes nothing, or 503
 * IMPORT_INTERRUPTED with `appliedLines`, the ranges `[first, last]` of the rows that were
 * applied before the database failed (no other row was).
 */
// Uploads carry the one shared ERP_IMPORT_TOKEN, not a named caller.
const ERP_IMPORT_ACTOR = 'erp-import';

export function erpBalancesRoute({ importer, token, logger, onCommitted }: ErpBalancesRouteOptions): HttpRoute {
  const refuse = (response: ServerResponse, status: number, code: ErpImportErrorCode, message: string) =>
    sendJson(response, status, { error: { code, message } });
  const mayPass = bearerTokenGate(token, {
    notConfigured: { code: ErpImportErrorCode.ERP_IMPORT_NOT_CONFIGURED, message: 'ERP balance uploads are off: no ERP_IMPORT_TOKEN is configured' },
    unauthenticated: { code: ErpImportErrorCode.UNAUTHENTICATED, message: 'Send the ERP import token as authorization: Bearer <token>' },
  });

  return {
    method: 'POST',
    path: /^\/erp\/balances$/,
    handle: async (request, response) => {
      if (!mayPass(request, response)) return;
      const mediaType = request.headers['content-type']?.split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'text/csv') {
        return refuse(response, 415, ErpImportErrorCode.UNSUPPORTED_MEDIA_TYPE, `Send the balances as text/csv (got ${mediaType ?? 'no content-type'})`);
      }
      const body = await readBody(request, MAX_BODY_BYTES);
      if (body instanceof RequestBodyError) return refuse(response, 413, ErpImportErrorCode.PAYLOAD_TOO_LARGE, body.message);

      try {
        const { received, updated, unchanged, rejected } = await importer.importCsv(body.toString('utf8'));
        writeAudit(logger, { actor: ERP_IMPORT_ACTOR, action: 'erp.balances.upload', outcome: 'ok', received, updated, unchanged, rejected: rejected.length });
        if (updated > 0) onCommitted();
        sendJson(response, 200, { received, updated, unchanged, rejectedCount: rejected.length, rejected: rejected.slice(0, MAX_LISTED_REJECTIONS) });
      } catch (error) {
        const malformed = error instanceof MalformedCsvError;
        const interrupted = error instanceof ErpImportInterruptedError;
        writeAudit(logger, {
          actor: ERP_IMPORT_ACTOR, action: 'erp.balances.upload', outcome: malformed ? 'refused' : 'failed',
          errorCode: malformed ? ErpImportErrorCode.MALFORMED_CSV : interrupted ? ErpImportErrorCode.IMPORT_INTERRUPTED : 'INTERNAL_SERVER_ERROR',
          ...(interrupted && { applied: error.progress.applied, total: error.progress.total }),
        });
        if (malformed) return refuse(response, 400, ErpImportErrorCode.MALFORMED_CSV, error.message);
        if (!interrupted) throw error;
        logger.error({ err: error.cause, applied: error.progress.applied, total: error.progress.total }, 'ERP balance upload failed partway');
        if (error.progress.applied > 0) onCommitted();
        const { applied, total } = error.progress;
        sendJson(response, 503, {
          error: {
            code: ErpImportErrorCode.IMPORT_INTERRUPTED,
            message: `The database failed after ${applied} of ${total} item x locations were applied: the rows in appliedLines were applied, no other.`
              + ' Uploading the same file again is safe: it sets balances, it does not add to them',
          },
          appliedLines: lineRanges(error.appliedLines),
        });
      }
    },
  };
}

/** Ascending line numbers as ranges `[first, last]`: rows of one transaction mostly follow each other. */
function lineRanges(lines: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const line of lines) {
    const last = ranges.at(-1);
    if (last && line === last[1] + 1) last[1] = line;
    else ranges.push([line, line]);
  }
  return ranges;
}
