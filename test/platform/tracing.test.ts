import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { listen, closeServer } from '../../platform/http/serviceHttpServer.ts';
import { inSpan, readTracingConfig, startTracing } from '../../platform/observability/tracing.ts';

// The OTLP exporter path, against a collector stand-in: a plain HTTP server that records what
// it is sent. (A process registers one tracer provider: this file's own.)

describe('tracing setup', () => {
  it('reads OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME, and refuses an endpoint that is not an http(s) URL', () => {
    assert.deepEqual(readTracingConfig({}), { otlpEndpoint: undefined, serviceName: undefined });
    assert.deepEqual(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'edge-eu' }), { otlpEndpoint: 'http://collector:4318', serviceName: 'edge-eu' });
    assert.throws(() => readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), (error: unknown) => error instanceof ConfigurationError && error.variable === 'OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('exports spans over OTLP/HTTP to <endpoint>/v1/traces, named for the service, once an endpoint is configured', async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const collector = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      received.push({ path: request.url, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const url = await listen(collector, 0, '127.0.0.1');
    try {
      const tracing = startTracing({ otlpEndpoint: `${url}/`, serviceName: 'stockgraph-under-test' }, { defaultServiceName: 'unused' });
      await inSpan('unit-of-work', {}, async () => {});
      const delivered = once(collector, 'request');
      await tracing.shutdown(); // flushes the batch
      await delivered;
      assert.equal(received.length, 1);
      assert.equal(received[0]!.path, '/v1/traces');
      // The exporter's default encoding is OTLP protobuf; the names travel as plain strings in it.
      assert.match(received[0]!.body, /unit-of-work/);
      assert.match(received[0]!.body, /stockgraph-under-test/);
    } finally {
      await closeServer(collector);
    }
  });
});
