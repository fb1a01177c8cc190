import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import { holdRequest, inspectionRequest, ORDER_STOCK_API, releaseRequest } from '../../../platform/contracts/orderStockApi.ts';
import { bearerTokenGate } from '../../../platform/http/bearerToken.ts';
import { readBody, RequestBodyError, sendJson, type HttpRoute } from '../../../platform/http/serviceHttpServer.ts';
import type { Logger } from '../../../platform/logger.ts';
import { holdBatchProblems } from '../domain/orders/holdRequest.ts';
import type { OrderStockService } from '../services/orderStockService.ts';

/** Why a call was refused as a whole, or failed; `error.code` of the response body. */
export enum OrderStockApiErrorCode {
  INTERNAL_API_NOT_CONFIGURED = 'INTERNAL_API_NOT_CONFIGURED',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  BAD_REQUEST = 'BAD_REQUEST',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

// 500 holds of a few dozen lines each fit with room to spare.
const MAX_BODY_BYTES = 8 * 1024 * 1024; // 8 MiB

export interface OrderStockRoutesOptions {
  readonly service: Pick<OrderStockService, 'hold' | 'release' | 'inspect'>;
  /** The bearer token callers must present (INTERNAL_API_TOKEN); null refuses every call. */
  readonly token: string | null;
  readonly logger: Pick<Logger, 'error'>;
}

/**
 * The internal order-stock API (see ORDER_STOCK_API for the contract): `POST` holds, releases
 * and inspections, each a JSON batch with `authorization: Bearer <INTERNAL_API_TOKEN>`. Answers
 * 200 `{results: [...]}`, one per item in order, or an error that refuses the whole call and
 * changes nothing: 401 (no token configured, or none or a wrong one presented), 413 (a body over
 * 8 MiB), 400 (a body that breaks the contract, every problem named), 500 (unexpected; logged).
 */
export function orderStockRoutes({ service, token, logger }: OrderStockRoutesOptions): HttpRoute[] {
  const refuse = (response: ServerResponse, status: number, code: OrderStockApiErrorCode, message: string) =>
    sendJson(response, status, { error: { code, message } });
  const mayPass = bearerTokenGate(token, {
    notConfigured: { code: OrderStockApiErrorCode.INTERNAL_API_NOT_CONFIGURED, message: 'The internal order-stock API is off: no INTERNAL_API_TOKEN is configured' },
    unauthenticated: { code: OrderStockApiErrorCode.UNAUTHENTICATED, message: 'Send the internal API token as authorization: Bearer <token>' },
  });

  const route = <Body>(path: string, schema: z.ZodType<Body>, problemsOf: (body: Body) => string[], answer: (body: Body) => Promise<readonly unknown[]>): HttpRoute => ({
    method: 'POST',
    path: new RegExp(`^${path}$`),
    handle: async (request, response) => {
      if (!mayPass(request, response)) return;
      const raw = await readBody(request, MAX_BODY_BYTES);
      if (raw instanceof RequestBodyError) return refuse(response, 413, OrderStockApiErrorCode.PAYLOAD_TOO_LARGE, raw.message);
      const body = parseJson(raw.toString('utf8'));
      if (body === NOT_JSON) return refuse(response, 400, OrderStockApiErrorCode.BAD_REQUEST, 'The body must be JSON');
      const parsed = schema.safeParse(body);
      const problems = parsed.success
        ? problemsOf(parsed.data)
        : parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
      if (!parsed.success || problems.length) return refuse(response, 400, OrderStockApiErrorCode.BAD_REQUEST, problems.join('; '));

      try {
        sendJson(response, 200, { results: await answer(parsed.data) });
      } catch (error) {
        logger.error({ err: error, path }, 'order-stock call failed');
        refuse(response, 500, OrderStockApiErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error; nothing was changed, and repeating the call is safe');
      }
    },
  });

  return [
    route(ORDER_STOCK_API.holds, holdRequest, ({ holds }) => holdBatchProblems(holds), ({ holds }) => service.hold(holds)),
    route(ORDER_STOCK_API.releases, releaseRequest, () => [], ({ releases }) => service.release(releases.map(({ orderId }) => orderId))),
    route(ORDER_STOCK_API.inspections, inspectionRequest, () => [], ({ inspections }) => service.inspect(inspections)),
  ];
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}
