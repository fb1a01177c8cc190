import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PositionState } from '../../subgraphs/inventory/domain/stockLevelSummary.ts';
import {
  changedPositionBuckets, leastFreshReports, recordSourceReport, restsOnStaleSources, sourceFreshness, stampBuckets, STOCKGRAPH_SOURCE, turnsStaleAt,
} from '../../subgraphs/inventory/domain/stockProvenance.ts';

const HOUR_MS = 3_600_000;
const readAt = new Date('2026-12-09T12:00:00.000Z');
const hoursAgo = (hours: number) => readAt.getTime() - hours * HOUR_MS;

const position = (buckets: Partial<PositionState> = {}): PositionState => ({
  subinventory: 'STOCK', lot: '', nettable: true, lotExpiresAt: null,
  onHandWms: 0, onHandErp: 0, allocated: 0, reserved: 0, inboundInTransit: 0, inboundExpectedAt: null, qualityHold: 0,
  ...buckets,
});

describe('stock provenance', () => {
  it('names the buckets a change moved in a position, a new position by those it left above zero', () => {
    assert.deepEqual(changedPositionBuckets(position({ onHandWms: 5, allocated: 2 }), position({ onHandWms: 3, allocated: 2, reserved: 1 })), ['onHandWms', 'reserved']);
    assert.deepEqual(changedPositionBuckets(undefined, position({ inboundInTransit: 4, qualityHold: 1 })), ['inboundInTransit', 'qualityHold']);
    assert.deepEqual(changedPositionBuckets(position({ qualityHold: 2 }), position({ qualityHold: 2 })), []);
  });

  it('stamps the buckets given and keeps the others as they were', () => {
    const earlier = { onHandWms: { source: 'acme-wms', at: '2026-12-01T00:00:00.000Z' }, onHandErp: { source: 'erp', at: '2026-12-02T00:00:00.000Z' } };

    const stamped = stampBuckets(earlier, ['onHandWms', 'reserved'], STOCKGRAPH_SOURCE, readAt);

    assert.deepEqual(stamped, {
      onHandWms: { source: 'stockgraph', at: '2026-12-09T12:00:00.000Z' },
      onHandErp: earlier.onHandErp,
      reserved: { source: 'stockgraph', at: '2026-12-09T12:00:00.000Z' },
    });
    assert.equal(earlier.onHandWms.source, 'acme-wms', 'the stamps given are not changed');
  });

  it('records a source report for a change of any bucket but the ERP on hand', () => {
    const reports = { 'acme-wms': hoursAgo(3) };

    assert.deepEqual(recordSourceReport(reports, ['allocated'], 'acme-wms', readAt), { 'acme-wms': readAt.getTime() });
    assert.deepEqual(recordSourceReport(reports, ['onHandErp', 'reserved'], STOCKGRAPH_SOURCE, readAt), { 'acme-wms': hoursAgo(3), stockgraph: readAt.getTime() });
    assert.equal(recordSourceReport(reports, ['onHandErp'], 'erp', readAt), reports, 'the ERP is no source of availability');
    assert.equal(recordSourceReport(reports, [], 'acme-wms', readAt), reports);
  });

  it('tells each source apart, in source order, stale when quiet beyond the window; Stockgraph itself never is', () => {
    const freshness = sourceFreshness({ stockgraph: hoursAgo(5), 'north-3pl': hoursAgo(2), 'acme-wms': hoursAgo(0.5) }, readAt, HOUR_MS);

    assert.deepEqual(freshness, [
      { source: 'acme-wms', lastReportedAt: new Date(hoursAgo(0.5)), stale: false },
      { source: 'north-3pl', lastReportedAt: new Date(hoursAgo(2)), stale: true },
      { source: 'stockgraph', lastReportedAt: new Date(hoursAgo(5)), stale: false },
    ]);
  });

  it('takes figures for stale when one of their sources is, or when no warehouse has ever reported them', () => {
    assert.equal(restsOnStaleSources({ 'acme-wms': hoursAgo(0.5), stockgraph: hoursAgo(9) }, readAt, HOUR_MS), false);
    assert.equal(restsOnStaleSources({ 'acme-wms': hoursAgo(0.5), 'north-3pl': hoursAgo(2) }, readAt, HOUR_MS), true, 'one quiet warehouse');
    assert.equal(restsOnStaleSources({ stockgraph: hoursAgo(0) }, readAt, HOUR_MS), true, 'only Stockgraph\'s own changes');
    assert.equal(restsOnStaleSources({}, readAt, HOUR_MS), true, 'nothing reported');
    assert.equal(restsOnStaleSources({ 'acme-wms': hoursAgo(1) }, readAt, HOUR_MS), false, 'quiet exactly as long as the window');
  });

  it('tells when figures turn stale by the clock alone: the first fresh source going quiet, never for Stockgraph or one already quiet', () => {
    const reports = { 'acme-wms': hoursAgo(0.5), 'northwind-3pl': hoursAgo(0.25), [STOCKGRAPH_SOURCE]: hoursAgo(2), 'old-wms': hoursAgo(3) };
    const at = turnsStaleAt(reports, readAt, HOUR_MS)!;
    assert.equal(at, hoursAgo(0.5) + HOUR_MS + 1);
    assert.equal(restsOnStaleSources({ 'acme-wms': reports['acme-wms'] }, new Date(at - 1), HOUR_MS), false);
    assert.equal(restsOnStaleSources({ 'acme-wms': reports['acme-wms'] }, new Date(at), HOUR_MS), true);
    assert.equal(turnsStaleAt({ [STOCKGRAPH_SOURCE]: hoursAgo(2), 'old-wms': hoursAgo(3) }, readAt, HOUR_MS), null);
  });

  it('rests a sum over levels on each source as of its oldest last report among them', () => {
    const oldest = leastFreshReports([{ 'acme-wms': hoursAgo(1), stockgraph: hoursAgo(3) }, { 'acme-wms': hoursAgo(4) }, { constructor: hoursAgo(2) }]);

    assert.deepEqual(oldest, { 'acme-wms': hoursAgo(4), stockgraph: hoursAgo(3), constructor: hoursAgo(2) });
  });
});
