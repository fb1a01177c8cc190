import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { readBody, RequestBodyError, sendJson, type HttpRoute } from '../../../platform/http/serviceHttpServer.ts';
import type { Logger } from '../../../platform/logger.ts';
import { UnknownSourceError, type EventOutcome, type WarehouseEventIngestion } from '../services/warehouseEventIngestion.ts';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { isTransientDatabaseFailure } from '../../../platform/database/postgresErrors.ts';

/** Why a batch was refused as a whole; `error.code` of the response body. */
export enum EventBatchErrorCode {
  MISSING_SIGNATURE = 'MISSING_SIGNATURE',
  BAD_SIGNATURE = 'BAD_SIGNATURE',
  STALE_SIGNATURE = 'STALE_SIGNATURE',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  BATCH_TOO_LARGE = 'BATCH_TOO_LARGE',
  MALFORMED_BATCH = 'MALFORMED_BATCH',
  /** The database failed (a lost connection, a deadlock): nothing in the batch was applied, and sending it again is safe. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
}

export const SIGNATURE_HEADER = 'x-stockgraph-signature';
export const TIMESTAMP_HEADER = 'x-stockgraph-timestamp';

/**
 * The signature a source sends: `sha256=` + hex HMAC-SHA256, keyed with the source's secret, of
 * `<timestamp>.<raw body>`, where timestamp is the Unix time in seconds sent in
 * x-stockgraph-timestamp. Signing the timestamp makes a captured request useless once it
 * falls outside the replay window.
 */
export function signEventBatch(secret: string, timestampSeconds: number, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex')}`;
}

export interface WarehouseEventsRouteOptions {
  readonly ingestion: WarehouseEventIngestion;
  /** Secret per source; a source without one cannot post. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly replayWindowSeconds: number;
  readonly maxBatchEvents: number;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** Called once a batch has committed (wakes the outbox relay). */
  readonly onCommitted: () => void;
  readonly now?: () => number;
}

/**
 * `POST /events/:source`: a signed batch `{"events": [...]}` in the source's own format.
 * Answers 200 with one result per event, in order (APPLIED, DUPLICATE, SUPERSEDED or
 * DEAD_LETTERED with code and reason), or an error that refuses the whole batch and changes
 * nothing. A source that has no mapping, or no secret, is answered exactly as a known one whose
 * signature is wrong, so that the endpoint tells a prober nothing about which sources exist
 * (the log says which it was).
 */
export function warehouseEventsRoute({
  ingestion, secrets, replayWindowSeconds, maxBatchEvents, maxBodyBytes, logger, onCommitted, now = Date.now,
}: WarehouseEventsRouteOptions): HttpRoute {
  const refuse = (response: ServerResponse, status: number, code: EventBatchErrorCode, message: string) =>
    sendJson(response, status, { error: { code, message } });
  // Signs what an unknown source sends, so that it is checked, and refused, as a known one is.
  const noSourceSecret = randomBytes(32).toString('hex');

  return {
    method: 'POST',
    path: /^\/events\/([A-Za-z0-9._-]+)$/,
    handle: async (request, response, match) => {
      const source = match[1]!;
      const body = await readBody(request, maxBodyBytes);
      if (body instanceof RequestBodyError) return refuse(response, 413, EventBatchErrorCode.PAYLOAD_TOO_LARGE, body.message);

      const secret = ingestion.hasSource(source) ? secrets.get(source) : undefined;
      if (!secret) logger.warn({ source }, ingestion.hasSource(source) ? 'events from a source with no secret in WMS_SOURCE_SECRETS refused' : 'events from a source with no mapping refused');
      const signature = request.headers[SIGNATURE_HEADER];
      const timestamp = Number(request.headers[TIMESTAMP_HEADER]);
      if (typeof signature !== 'string' || !Number.isInteger(timestamp)) {
        return refuse(response, 401, EventBatchErrorCode.MISSING_SIGNATURE, `Send ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} (Unix seconds)`);
      }
      if (Math.abs(now() / 1000 - timestamp) > replayWindowSeconds) {
        return refuse(response, 401, EventBatchErrorCode.STALE_SIGNATURE, `${TIMESTAMP_HEADER} is more than ${replayWindowSeconds} s away from the server's clock`);
      }
      if (!sameSignature(signature, signEventBatch(secret ?? noSourceSecret, timestamp, body)) || !secret) {
        return refuse(response, 401, EventBatchErrorCode.BAD_SIGNATURE, 'The signature does not match the body');
      }

      const events = parseBatch(body);
      if (!events) return refuse(response, 400, EventBatchErrorCode.MALFORMED_BATCH, 'The body must be JSON of the form {"events": [ ... ]}');
      if (events.length > maxBatchEvents) {
        return refuse(response, 413, EventBatchErrorCode.BATCH_TOO_LARGE, `A batch holds at most ${maxBatchEvents} events, this one ${events.length}`);
      }
      try {
        const results = await ingestion.ingest(source, events, { sourceTextOf: eventTexts(body) });
        onCommitted();
        sendJson(response, 200, { ...countOutcomes(results), results });
      } catch (error) {
        if (error instanceof UnknownSourceError) return refuse(response, 401, EventBatchErrorCode.BAD_SIGNATURE, 'The signature does not match the body');
        if (isTransientDatabaseFailure(error)) {
          logger.warn({ source, reason: (error as Error).message }, 'event batch failed: the database was unavailable; nothing in it was applied');
          response.setHeader('retry-after', '1');
          return refuse(response, 503, EventBatchErrorCode.SERVICE_UNAVAILABLE, 'The database was unavailable: nothing in the batch was applied; send it again');
        }
        logger.error({ err: error, source }, 'event batch failed');
        sendJson(response, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error; nothing in the batch was applied' } });
      }
    },
  };
}

function sameSignature(received: string, expected: string): boolean {
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The text of each event of a batch as it was sent, by index, for the dead letters: found with
 * jsonc-parser's offsets (JSON.parse keeps none), on the first call only, as few batches have one.
 */
function eventTexts(body: Buffer): (index: number) => string | undefined {
  let texts: string[] | undefined;
  return (index) => {
    if (!texts) {
      const text = body.toString('utf8');
      const events = findNodeAtLocation(parseTree(text)!, ['events']);
      texts = (events?.children ?? []).map((node) => text.slice(node.offset, node.offset + node.length));
    }
    return texts[index];
  };
}

function parseBatch(body: Buffer): unknown[] | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { events?: unknown };
    return Array.isArray(parsed?.events) ? parsed.events : null;
  } catch {
    return null;
  }
}

export function countOutcomes(results: readonly EventOutcome[]) {
  const count = (status: EventOutcome['status']) => results.filter((result) => result.status === status).length;
  return { applied: count('APPLIED'), duplicates: count('DUPLICATE'), superseded: count('SUPERSEDED'), deadLettered: count('DEAD_LETTERED') };
}
