import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentCorrelationId, presentedCorrelationId, runOnBehalfOf, runInRequestContext } from '../../platform/observability/requestContext.ts';

describe('request context', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

  it("takes a valid traceparent's trace id first, then x-request-id, then x-correlation-id", () => {
    const traceparent = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
    assert.equal(presentedCorrelationId({ traceparent, 'x-request-id': 'req-1', 'x-correlation-id': 'corr-1' }), TRACE_ID);
    assert.equal(presentedCorrelationId({ 'x-request-id': 'req-1', 'x-correlation-id': 'corr-1' }), 'req-1');
    assert.equal(presentedCorrelationId({ 'x-correlation-id': 'corr-1' }), 'corr-1');
    assert.equal(presentedCorrelationId({}), undefined);
  });

  it('passes over malformed headers: a traceparent W3C refuses, an id with characters a header or log line must not carry', () => {
    for (const traceparent of ['00-not-a-trace-01', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `zz-${TRACE_ID}-00f067aa0ba902b7-01`]) {
      assert.equal(presentedCorrelationId({ traceparent, 'x-request-id': 'fallback' }), 'fallback', traceparent);
    }
    for (const id of ['has spaces', 'quote"d', 'x'.repeat(101), '']) assert.equal(presentedCorrelationId({ 'x-request-id': id }), undefined, id);
    assert.equal(presentedCorrelationId({ 'x-request-id': ['a', 'b'] as unknown as string }), undefined);
  });

  it('runs a batch of events under the id they share, and under none when they differ', async () => {
    const seen = async (events: { correlationId: string | null }[]) => runInRequestContext({ correlationId: 'outer' }, () => runOnBehalfOf(events, async () => currentCorrelationId()));
    assert.equal(await seen([{ correlationId: 'a' }, { correlationId: 'a' }]), 'a');
    assert.equal(await seen([{ correlationId: 'a' }, { correlationId: 'b' }]), undefined);
    assert.equal(await seen([{ correlationId: null }]), undefined);
  });
});
