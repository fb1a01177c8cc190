import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STREAMS, stockLevelChanged, type PayloadOf, type StockBucketsPayload } from '../../platform/contracts/events.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { eventually } from '../support/eventually.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { newLocation, startReconciliation } from './reconciliationFixtures.ts';

type StockChange = PayloadOf<typeof stockLevelChanged>;

const buckets = (onHandWms: number, onHandErp: number): StockBucketsPayload => ({
  onHandWms, onHandErp, onHandNonNettable: 0, expired: 0, allocated: 0, reserved: 0, inboundInTransit: 0, inboundExpectedAt: null,
  qualityHold: 0, damaged: 0, safetyStock: 0, available: onHandWms,
});

/** A stock change of `sku` at `locationId` from `before` to `after` (WMS, ERP nettable on hand). */
function change(sku: string, locationId: string, sequence: number, cause: StockChange['cause']['type'], before: [number, number], after: [number, number], occurredAt: string): StockChange {
  return { sku, locationId, sequence, cause: { type: cause, id: `${cause}:${sequence}` }, before: buckets(...before), after: buckets(...after), occurredAt };
}

describe("reconciliation's copy of on hand, kept from inventory's stock changes", () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('reconciliation-positions');
  let service: RunningService;

  before(async () => {
    database = await createTestDatabase();
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    service = await startReconciliation(infrastructure);
  });

  after(async () => {
    await service?.stop();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  const publish = (changes: readonly StockChange[]) =>
    infrastructure.bus.publishMany(STREAMS.stockChanges, changes.map((payload) => ({ type: stockLevelChanged.type, payload })));
  const positionOf = async (sku: string, locationId: string) =>
    (await database.db.query<{ wms: number; erp: number; sequence: string; reported: Date | null }>(
      'SELECT wms_on_hand AS wms, erp_on_hand AS erp, sequence::text, erp_reported_at AS reported FROM reconciliation_position WHERE sku = $1 AND location_id = $2',
      [sku, locationId],
    ))[0] ?? null;
  /** Publishes a marker change and waits until it is applied: everything published before it has been too. */
  async function settled(locationId: string) {
    const marker = `MARKER-${Math.random()}`;
    await publish([change(marker, locationId, 1, 'WAREHOUSE_EVENT', [0, 0], [1, 0], new Date().toISOString())]);
    await eventually(() => positionOf(marker, locationId), (found) => found !== null, { what: 'the marker applied' });
  }

  it('keeps each item x location at its newest change: WMS and ERP nettable on hand, and when an ERP balance last changed', async () => {
    const at = newLocation();
    await publish([
      change('SKU-1', at, 1, 'WAREHOUSE_EVENT', [0, 0], [10, 0], '2026-12-01T08:00:00.000Z'),
      change('SKU-1', at, 2, 'ERP_BALANCE', [10, 0], [10, 10], '2026-12-01T09:00:00.000Z'),
      change('SKU-1', at, 3, 'WAREHOUSE_EVENT', [10, 10], [8, 10], '2026-12-01T10:00:00.000Z'),
    ]);
    // Apart, so that it is a batch of its own: an ERP balance that changed nothing is no report.
    await publish([change('SKU-1', at, 4, 'ERP_BALANCE', [8, 10], [8, 10], '2026-12-01T11:00:00.000Z')]);
    await settled(at);

    assert.deepEqual(await positionOf('SKU-1', at), { wms: 8, erp: 10, sequence: '4', reported: new Date('2026-12-01T09:00:00.000Z') });
  });

  it('applies each change once and never lets an older one overwrite a newer', async () => {
    const at = newLocation();
    const newest = change('SKU-2', at, 5, 'ERP_BALANCE', [3, 3], [4, 7], '2026-12-02T10:00:00.000Z');
    await publish([newest]);
    await settled(at);

    // An older change alone (late, out of order), then older ones with a repeat of the newest.
    await publish([change('SKU-2', at, 4, 'WAREHOUSE_EVENT', [3, 3], [100, 3], '2026-12-02T09:00:00.000Z')]);
    await settled(at);
    const kept = { wms: 4, erp: 7, sequence: '5', reported: new Date('2026-12-02T10:00:00.000Z') };
    assert.deepEqual(await positionOf('SKU-2', at), kept, 'a late older change is passed over');
    await publish([change('SKU-2', at, 3, 'ERP_BALANCE', [0, 0], [3, 3], '2026-12-02T08:00:00.000Z'), newest]);
    await settled(at);

    assert.deepEqual(await positionOf('SKU-2', at), kept, 'a repeat changes nothing');
  });
});
