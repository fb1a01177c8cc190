import type { ServerResponse } from 'node:http';
import { bearerTokenGate } from '../../../platform/http/bearerToken.ts';
import { readBody, RequestBodyError, sendJson, type HttpRoute } from '../../../platform/http/serviceHttpServer.ts';
import type { Logger } from '../../../platform/logger.ts';
import { writeAudit } from '../../../platform/observability/auditLog.ts';
import { MalformedCsvError, type ErpBalanceImport } from '../services/erpBalanceImport.ts';

/** Why an upload was refused as a whole; `error.code` of the response body. */
export enum ErpImportErrorCode {
  ERP_IMPORT_NOT_CONFIGURED = 'ERP_IMPORT_NOT_CONFIGURED',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  MALFORMED_CSV = 'MALFORMED_CSV',
}

const MAX_BODY_BYTES = 32 * 1024 * 1024; // 32 MiB

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
 * `{received, updated, unchanged, rejected: [{line, reason}]}`, or an error that refuses the
 * whole upload and changes nothing.
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
        sendJson(response, 200, { received, updated, unchanged, rejected });
      } catch (error) {
        const malformed = error instanceof MalformedCsvError;
        writeAudit(logger, { actor: ERP_IMPORT_ACTOR, action: 'erp.balances.upload', outcome: malformed ? 'refused' : 'failed', errorCode: malformed ? ErpImportErrorCode.MALFORMED_CSV : 'INTERNAL_SERVER_ERROR' });
        if (malformed) return refuse(response, 400, ErpImportErrorCode.MALFORMED_CSV, error.message);
        logger.error({ err: error }, 'ERP balance upload failed');
        sendJson(response, 500, {
          error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error; part of the upload may have been applied, and uploading it again is safe' },
        });
      }
    },
  };
}
