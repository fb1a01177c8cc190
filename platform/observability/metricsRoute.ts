import { bearerTokenGate } from '../http/bearerToken.ts';
import type { HttpRoute } from '../http/serviceHttpServer.ts';
import type { ServiceMetrics } from './serviceMetrics.ts';

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics: the service's metrics in Prometheus' text format. With a METRICS_TOKEN only a
 * request bearing it is answered (401 UNAUTHENTICATED otherwise); without one it is open, as
 * `npm start` leaves it on loopback.
 */
export function metricsRoute(metrics: ServiceMetrics, token: string | null): HttpRoute {
  const gate = token === null ? null : bearerTokenGate(token, {
    notConfigured: { code: 'UNAUTHENTICATED', message: 'No METRICS_TOKEN is configured' },
    unauthenticated: { code: 'UNAUTHENTICATED', message: 'Send the METRICS_TOKEN as Authorization: Bearer <token>' },
  });
  return {
    method: 'GET',
    path: new RegExp(`^${METRICS_PATH}$`),
    handle: async (request, response) => {
      if (gate && !gate(request, response)) return;
      const { contentType, body } = await metrics.exposition();
      response.writeHead(200, { 'content-type': contentType });
      response.end(body);
    },
  };
}
