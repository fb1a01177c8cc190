import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketEffectsOf, isErpTransaction, serialMovementOf, subinventoriesOf, transactionSerialsOf, type BucketEffect } from '../../subgraphs/inventory/domain/events/bucketEffects.ts';
import {
  INVENTORY_EVENT_TYPES,
  type CanonicalInventoryEvent,
  type InventoryEventType,
  type ItemEvent,
  type LocationSnapshot,
} from '../../subgraphs/inventory/domain/events/canonicalEvent.ts';
import {
  DEAD_LETTER_CODES,
  LOCATION_SNAPSHOT,
  mapWarehouseEvent,
  validateSourceMapping,
  type DeadLetterCode,
  type MappingResult,
  type SourceMapping,
} from '../../subgraphs/inventory/domain/events/sourceMapping.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';

const [acme, northwind] = loadExampleMappings() as [SourceMapping, SourceMapping];

// 10:00 UTC on 1 June 2024; acme-wms writes it with its local offset, northwind-3pl in epoch ms.
const OCCURRED_AT = new Date('2024-06-01T10:00:00Z');

type Raw = Record<string, unknown>;

function acmeEvent(fields: Raw): Raw {
  return { event_id: 'ACME-0001', seq: 1042, site: 'DFW1', ts: '2024-06-01T05:00:00-05:00', ...fields };
}

function northwindEvent(movement: Raw, header: Raw = {}): Raw {
  return {
    header: { messageId: 'nw-7f3a', sequenceNo: '1042', timestamp: OCCURRED_AT.getTime(), ...header },
    movement: { warehouse: 'NW-DALLAS', ...movement },
  };
}

function mapOk(raw: unknown, mapping: SourceMapping): CanonicalInventoryEvent {
  const result = mapWarehouseEvent(raw, mapping);
  assert.ok(result.ok, `expected ${mapping.source} to map the event, got: ${result.ok ? '' : result.reason}`);
  return result.event;
}

/** An event without what identifies its message at the source. */
type Movement = Omit<ItemEvent, 'source' | 'eventId'> | Omit<LocationSnapshot, 'source' | 'eventId'>;

function movementOf(event: CanonicalInventoryEvent): Movement {
  const { source: _source, eventId: _eventId, ...movement } = event;
  return movement as Movement;
}

const itemAtDallas = { kind: 'item', sequence: 1042, locationId: 'DC-03', occurredAt: OCCURRED_AT, fromSubinventory: null, lot: '', serials: [], orderReference: null } as const;

describe('mapWarehouseEvent: two WMS formats, one canonical event', () => {
  const sameMovements: { name: string; acme: Raw; northwind: Raw; expected: Movement }[] = [
    {
      name: 'a receipt of two cases of a lot',
      acme: acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00042', lot_no: 'L2405', qty: 2, uom: 'CS' }),
      northwind: northwindEvent({ kind: 'goods-receipt', product: { sku: 'SKU-00042', batch: 'L2405' }, bin: { zone: 'PICKFACE' }, quantity: { value: 2, unit: 'CASE' } }),
      expected: { ...itemAtDallas, type: 'RECEIPT', sku: 'SKU-00042', subinventory: 'STOCK', lot: 'L2405', quantity: 24, unitOfMeasure: 'EA' },
    },
    {
      name: 'a shipment of two serial-numbered units',
      acme: acmeEvent({ txn_type: 'SHP', item_code: 'ACME-00125', serial_nos: ['SN-881', 'SN-882'], qty: 2, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'shipment-dispatched', product: { sku: 'SKU-00125', serialNumbers: ['SN-881', 'SN-882'] }, quantity: { value: 2, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'SHIP', sku: 'SKU-00125', subinventory: 'STOCK', serials: ['SN-881', 'SN-882'], quantity: 2, unitOfMeasure: 'EA' },
    },
    {
      name: 'a negative adjustment in the damaged area',
      acme: acmeEvent({ txn_type: 'ADJ', item_code: 'ACME-00007', subinv: 'DMG', qty: -3, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'stock-adjustment', product: { sku: 'SKU-00007' }, bin: { zone: 'DAMAGE-CAGE' }, quantity: { value: -3, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'ADJUSTMENT', sku: 'SKU-00007', subinventory: 'DAMAGED', quantity: -3, unitOfMeasure: 'EA' },
    },
    {
      name: 'damage found in stock, which moves the units to DAMAGED',
      acme: acmeEvent({ txn_type: 'ADJ', item_code: 'ACME-00007', subinv: 'MAIN', reason_code: 'DMG', qty: -3, uom: 'EA' }),
      northwind: northwindEvent({
        kind: 'stock-adjustment', adjustmentReason: 'breakage', product: { sku: 'SKU-00007' }, bin: { zone: 'RESERVE' }, quantity: { value: -3, unit: 'EACH' },
      }),
      expected: { ...itemAtDallas, type: 'ADJUSTMENT', sku: 'SKU-00007', subinventory: 'STOCK', reason: 'DAMAGE', quantity: -3, unitOfMeasure: 'EA' },
    },
    {
      name: 'a customer return of an order, which lands in QA (awaiting inspection) when no subinventory is given',
      acme: acmeEvent({ txn_type: 'RTN', item_code: 'ACME-00042', order_no: 'WEB-100042', qty: 1, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'return-received', product: { sku: 'SKU-00042' }, customerOrder: { number: 'WEB-100042' }, quantity: { value: 1, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'RETURN_RECEIVED', sku: 'SKU-00042', subinventory: 'QA', orderReference: 'WEB-100042', quantity: 1, unitOfMeasure: 'EA' },
    },
    {
      name: "a pick for an order, naming the order's reference",
      acme: acmeEvent({ txn_type: 'PCK', item_code: 'ACME-00042', order_no: 'WEB-100042', qty: 3, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'pick-confirmed', product: { sku: 'SKU-00042' }, customerOrder: { number: 'WEB-100042' }, quantity: { value: 3, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'PICK', sku: 'SKU-00042', subinventory: 'STOCK', orderReference: 'WEB-100042', quantity: 3, unitOfMeasure: 'EA' },
    },
    {
      name: "the carrier's delivery of an order",
      acme: acmeEvent({ txn_type: 'DLV', item_code: 'ACME-00042', order_no: 'WEB-100042', qty: 3, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'delivery-confirmed', product: { sku: 'SKU-00042' }, customerOrder: { number: 'WEB-100042' }, quantity: { value: 3, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'DELIVERY', sku: 'SKU-00042', subinventory: 'STOCK', orderReference: 'WEB-100042', quantity: 3, unitOfMeasure: 'EA' },
    },
    {
      name: 'a restock of returned units into stock',
      acme: acmeEvent({ txn_type: 'RST', item_code: 'ACME-00042', subinv: 'MAIN', qty: 1, uom: 'EA' }),
      northwind: northwindEvent({
        kind: 'return-restocked', product: { sku: 'SKU-00042' }, fromBin: { zone: 'QUARANTINE' }, bin: { zone: 'PICKFACE' }, quantity: { value: 1, unit: 'EACH' },
      }),
      expected: { ...itemAtDallas, type: 'RETURN_RESTOCKED', sku: 'SKU-00042', subinventory: 'STOCK', fromSubinventory: 'QA', quantity: 1, unitOfMeasure: 'EA' },
    },
    {
      name: 'a quality hold in QA',
      acme: acmeEvent({ txn_type: 'QHD', item_code: 'ACME-00300', subinv: 'QC', qty: 5, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'quality-hold', product: { sku: 'SKU-00300' }, bin: { zone: 'QUARANTINE' }, quantity: { value: 5, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'QUALITY_HOLD', sku: 'SKU-00300', subinventory: 'QA', quantity: 5, unitOfMeasure: 'EA' },
    },
    {
      name: 'a cycle count that found nothing',
      acme: acmeEvent({ txn_type: 'CNT', item_code: 'ACME-00042', qty: 0, uom: 'EA' }),
      northwind: northwindEvent({ kind: 'cycle-count', product: { sku: 'SKU-00042' }, quantity: { value: 0, unit: 'EACH' } }),
      expected: { ...itemAtDallas, type: 'CYCLE_COUNT', sku: 'SKU-00042', subinventory: 'STOCK', quantity: 0, unitOfMeasure: 'EA' },
    },
    {
      name: 'a snapshot of a location, counting one position in two bins',
      acme: acmeEvent({
        txn_type: 'SNAP',
        lines: [
          { item_code: 'ACME-00042', subinv: 'MAIN', qty: 2, uom: 'CS' },
          { item_code: 'ACME-00300', subinv: 'QC', lot_no: 'L2405', qty: 0, uom: 'EA' },
        ],
      }),
      northwind: northwindEvent({
        kind: 'stock-snapshot',
        lines: [
          { product: { sku: 'SKU-00042' }, bin: { zone: 'PICKFACE' }, quantity: { value: 1, unit: 'CASE' } },
          { product: { sku: 'SKU-00300', batch: 'L2405' }, bin: { zone: 'QUARANTINE' }, quantity: { value: 0, unit: 'EACH' } },
          { product: { sku: 'SKU-00042' }, bin: { zone: 'RESERVE' }, quantity: { value: 12, unit: 'EACH' } },
        ],
      }),
      expected: {
        kind: 'snapshot', sequence: 1042, locationId: 'DC-03', occurredAt: OCCURRED_AT,
        lines: [
          { sku: 'SKU-00042', subinventory: 'STOCK', lot: '', quantity: 24, unitOfMeasure: 'EA' },
          { sku: 'SKU-00300', subinventory: 'QA', lot: 'L2405', quantity: 0, unitOfMeasure: 'EA' },
        ],
      },
    },
  ];

  for (const movement of sameMovements) {
    it(`maps ${movement.name} from acme-wms and northwind-3pl to the same canonical event`, () => {
      // Given the same movement written by each WMS; when both are mapped
      const fromAcme = mapOk(movement.acme, acme);
      const fromNorthwind = mapOk(movement.northwind, northwind);

      // Then only the message identity differs
      assert.deepEqual(movementOf(fromAcme), movement.expected);
      assert.deepEqual(movementOf(fromNorthwind), movement.expected);
      assert.deepEqual([fromAcme.source, fromAcme.eventId], ['acme-wms', 'ACME-0001']);
      assert.deepEqual([fromNorthwind.source, fromNorthwind.eventId], ['northwind-3pl', 'nw-7f3a']);
    });
  }

  it('reads an adjustment reason the mapping does not list as a plain adjustment, unless it names a canonical reason; and a reason of any other movement not at all', () => {
    const reasonOf = (fields: Raw) => {
      const event = mapOk(acmeEvent({ item_code: 'ACME-00007', uom: 'EA', ...fields }), acme);
      return event.kind === 'item' ? event.reason : undefined;
    };
    assert.equal(reasonOf({ txn_type: 'ADJ', qty: -2, reason_code: 'LOST' }), undefined);
    assert.equal(reasonOf({ txn_type: 'ADJ', qty: -2, reason_code: 'DAMAGE' }), 'DAMAGE');
    assert.equal(reasonOf({ txn_type: 'ADJ', qty: -2 }), undefined);
    assert.equal(reasonOf({ txn_type: 'RTN', qty: 1, reason_code: 'DMG' }), undefined, 'a return named damaged by the customer lands in QA like any other');
    const plain = mapOk(acmeEvent({ txn_type: 'ADJ', item_code: 'ACME-00007', uom: 'EA', qty: -2, reason_code: 'LOST' }), acme);
    assert.equal(Object.hasOwn(plain, 'reason'), false, 'an event without a reason has the fingerprint it had before reasons were read');
  });

  function eventWithTypeCode(mapping: SourceMapping, code: string): Raw {
    const isSnapshot = mapping.types[code] === LOCATION_SNAPSHOT;
    if (mapping === acme) {
      return acmeEvent(isSnapshot
        ? { txn_type: code, lines: [{ item_code: 'ACME-00001', qty: 1, uom: 'EA' }] }
        : { txn_type: code, item_code: 'ACME-00001', qty: 1, uom: 'EA' });
    }
    return northwindEvent(isSnapshot
      ? { kind: code, lines: [{ product: { sku: 'SKU-00001' }, quantity: { value: 1, unit: 'EACH' } }] }
      : { kind: code, product: { sku: 'SKU-00001' }, quantity: { value: 1, unit: 'EACH' } });
  }

  for (const mapping of [acme, northwind]) {
    it(`maps every type code of ${mapping.source}, which covers all 12 movements and the snapshot`, () => {
      // Given each type code of the example mapping
      const mappedTypes = Object.entries(mapping.types).map(([code, type]) => {
        // When an event with that code is mapped
        const event = mapOk(eventWithTypeCode(mapping, code), mapping);
        // Then it has the canonical type the mapping names
        assert.equal(event.kind === 'snapshot' ? LOCATION_SNAPSHOT : event.type, type);
        return type;
      });
      assert.deepEqual(mappedTypes.sort(), [...INVENTORY_EVENT_TYPES, LOCATION_SNAPSHOT].sort());
    });
  }

  it('reads sequence and epoch timestamps sent as strings, and trims text', () => {
    const event = mapOk(northwindEvent(
      { kind: '  goods-receipt ', product: { sku: ' SKU-00042 ', batch: '  ' }, quantity: { value: ' 3 ', unit: 'EACH' } },
      { sequenceNo: ' 0001042 ', timestamp: String(OCCURRED_AT.getTime()), messageId: ' nw-7f3a ' },
    ), northwind);
    assert.deepEqual(event, {
      ...itemAtDallas, source: 'northwind-3pl', eventId: 'nw-7f3a', type: 'RECEIPT', sku: 'SKU-00042', subinventory: 'STOCK', quantity: 3, unitOfMeasure: 'EA',
    });
  });

  it('translates a SKU listed in skuCodes before trying skuPattern', () => {
    const withKit: SourceMapping = { ...acme, skuCodes: { 'ACME-KIT-7': 'SKU-04007' } };
    const kit = mapOk(acmeEvent({ txn_type: 'RCV', item_code: 'ACME-KIT-7', qty: 1, uom: 'EA' }), withKit);
    const plain = mapOk(acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00099', qty: 1, uom: 'EA' }), withKit);
    assert.equal(kit.kind === 'item' && kit.sku, 'SKU-04007');
    assert.equal(plain.kind === 'item' && plain.sku, 'SKU-00099');
  });

  it('passes SKU, subinventory and unit codes through when the mapping does not list them', () => {
    const event = mapOk(northwindEvent({ kind: 'goods-receipt', product: { sku: 'SKU-00042' }, bin: { zone: 'STOCK' }, quantity: { value: 4, unit: 'KG' } }), northwind);
    assert.deepEqual([event.kind === 'item' && event.sku, event.kind === 'item' && event.subinventory, event.kind === 'item' && event.unitOfMeasure], ['SKU-00042', 'STOCK', 'KG']);
  });
});

describe('mapWarehouseEvent: unit conversion', () => {
  function receipt(qty: unknown, uom: string): MappingResult {
    return mapWarehouseEvent(acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00042', qty, uom }), acme);
  }
  const quantityOf = (result: MappingResult) => (result.ok && result.event.kind === 'item' ? [result.event.quantity, result.event.unitOfMeasure] : result);

  it('converts cases to eaches at 12 per case', () => {
    assert.deepEqual(quantityOf(receipt(3, 'CS')), [36, 'EA']);
  });

  it('accepts a fraction of a case that is a whole number of eaches', () => {
    assert.deepEqual(quantityOf(receipt(0.5, 'CS')), [6, 'EA']);
    assert.deepEqual(quantityOf(receipt('0.25', 'CS')), [3, 'EA']);
  });

  it('rejects a fraction of a case that is not a whole number of eaches', () => {
    assert.deepEqual(receipt(0.3, 'CS'), { ok: false, code: 'INVALID_QUANTITY', reason: 'quantity 0.3 CS (3.6 EA) is not a whole number of EA' });
  });

  it('rejects a fraction of an each', () => {
    assert.deepEqual(receipt(2.5, 'EA'), { ok: false, code: 'INVALID_QUANTITY', reason: 'quantity 2.5 EA is not a whole number of EA' });
  });

  it('rejects a count of cases beyond the largest quantity kept once converted', () => {
    assert.deepEqual(receipt(1e15, 'CS'), { ok: false, code: 'QUANTITY_OUT_OF_RANGE', reason: 'quantity 1000000000000000 CS (12000000000000000 EA) is beyond 2,147,483,647, the largest quantity Stockgraph keeps' });
    assert.deepEqual(receipt(178_956_971, 'CS'), { ok: false, code: 'QUANTITY_OUT_OF_RANGE', reason: 'quantity 178956971 CS (2147483652 EA) is beyond 2,147,483,647, the largest quantity Stockgraph keeps' });
    assert.equal(receipt(178_956_970, 'CS').ok, true, '2,147,483,640 EA is kept');
  });
});

describe('mapWarehouseEvent: dead letters', () => {
  const receipt = (fields: Raw) => acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00042', qty: 1, uom: 'EA', ...fields });
  const deadLetters: { name: string; mapping: SourceMapping; raw: unknown; code: DeadLetterCode; reason: string }[] = [
    { name: 'an event that is not an object', mapping: acme, raw: '["RCV"]', code: 'MALFORMED_EVENT', reason: 'event is "[\\"RCV\\"]", not an object' },
    { name: 'an event without an id', mapping: acme, raw: receipt({ event_id: undefined }), code: 'MALFORMED_EVENT', reason: 'eventId is missing (expected at "event_id")' },
    { name: 'a blank SKU', mapping: northwind, raw: northwindEvent({ kind: 'goods-receipt', product: { sku: '   ' }, quantity: { value: 1, unit: 'EACH' } }), code: 'MALFORMED_EVENT', reason: 'sku is missing (expected at "movement.product.sku")' },
    { name: 'a SKU the pattern does not recognise', mapping: acme, raw: receipt({ item_code: 'WIDGET-42' }), code: 'MALFORMED_EVENT', reason: 'sku code "WIDGET-42" matches neither skuCodes nor skuPattern "^ACME-(\\\\d+)$" of source acme-wms' },
    { name: 'a serial number listed twice', mapping: acme, raw: receipt({ qty: 2, serial_nos: ['SN-1', 'SN-1'] }), code: 'MALFORMED_EVENT', reason: 'serials[1] "SN-1" repeats serials[0]' },
    { name: 'a restock from and to the same subinventory', mapping: acme, raw: receipt({ txn_type: 'RST', subinv: 'QC' }), code: 'MALFORMED_EVENT', reason: 'RETURN_RESTOCKED moves from QA to QA; the subinventories must differ' },
    { name: 'a snapshot without lines', mapping: acme, raw: acmeEvent({ txn_type: 'SNAP', lines: [] }), code: 'MALFORMED_EVENT', reason: 'lines is empty; a location snapshot needs at least one line' },
    { name: 'an unmapped type code', mapping: acme, raw: receipt({ txn_type: 'XYZ' }), code: 'UNKNOWN_EVENT_TYPE', reason: 'event type "XYZ" has no mapping for source acme-wms' },
    { name: 'a type code that names an Object.prototype member', mapping: northwind, raw: northwindEvent({ kind: 'constructor' }), code: 'UNKNOWN_EVENT_TYPE', reason: 'event type "constructor" has no mapping for source northwind-3pl' },
    { name: 'an unmapped site', mapping: acme, raw: receipt({ site: 'XX9' }), code: 'UNKNOWN_LOCATION', reason: 'location code "XX9" has no mapping for source acme-wms' },
    { name: 'a non-numeric quantity', mapping: acme, raw: receipt({ qty: 'abc' }), code: 'INVALID_QUANTITY', reason: 'quantity "abc" is not a number' },
    { name: 'a receipt of nothing', mapping: acme, raw: receipt({ qty: 0 }), code: 'INVALID_QUANTITY', reason: 'quantity 0 EA must be at least 1 for RECEIPT' },
    { name: 'a negative pick in cases', mapping: acme, raw: receipt({ txn_type: 'PCK', qty: -1, uom: 'CS' }), code: 'INVALID_QUANTITY', reason: 'quantity -1 CS (-12 EA) must be at least 1 for PICK' },
    { name: 'an adjustment of zero', mapping: northwind, raw: northwindEvent({ kind: 'stock-adjustment', product: { sku: 'SKU-00042' }, quantity: { value: 0, unit: 'EACH' } }), code: 'INVALID_QUANTITY', reason: 'quantity 0 EACH (0 EA) must not be zero for ADJUSTMENT' },
    { name: 'a negative cycle count', mapping: acme, raw: receipt({ txn_type: 'CNT', qty: -1 }), code: 'INVALID_QUANTITY', reason: 'quantity -1 EA must be at least 0 for CYCLE_COUNT' },
    { name: 'serials that do not match the quantity', mapping: acme, raw: receipt({ qty: 3, serial_nos: ['SN-1', 'SN-2'] }), code: 'INVALID_QUANTITY', reason: 'quantity 3 EA does not match the 2 serial numbers' },
    {
      name: 'a snapshot whose third line has a bad quantity', mapping: northwind, code: 'INVALID_QUANTITY', reason: 'lines[2]: quantity "lots" is not a number',
      raw: northwindEvent({
        kind: 'stock-snapshot',
        lines: [1, 2, 3].map((n) => ({ product: { sku: `SKU-0000${n}` }, quantity: { value: n === 3 ? 'lots' : n, unit: 'EACH' } })),
      }),
    },
    { name: 'a receipt of a trillion units', mapping: acme, raw: receipt({ qty: 1e12 }), code: 'QUANTITY_OUT_OF_RANGE', reason: 'quantity 1000000000000 EA is beyond 2,147,483,647, the largest quantity Stockgraph keeps' },
    {
      name: 'a snapshot whose lines of one position add up beyond the range', mapping: acme,
      raw: acmeEvent({ txn_type: 'SNAP', lines: [{ item_code: 'ACME-00001', qty: 2_000_000_000, uom: 'EA' }, { item_code: 'ACME-00001', qty: 200_000_000, uom: 'EA' }] }),
      code: 'QUANTITY_OUT_OF_RANGE', reason: 'lines[1]: the total of SKU-00001 in STOCK, 2200000000, is beyond 2,147,483,647, the largest quantity Stockgraph keeps',
    },
    { name: 'a snapshot line below zero', mapping: acme, raw: acmeEvent({ txn_type: 'SNAP', lines: [{ item_code: 'ACME-00001', qty: -2, uom: 'EA' }] }), code: 'INVALID_QUANTITY', reason: 'lines[0]: quantity -2 EA must be at least 0 in a snapshot' },
    { name: 'a timestamp that is not a date', mapping: acme, raw: receipt({ ts: 'yesterday' }), code: 'INVALID_TIMESTAMP', reason: 'occurredAt "yesterday" is not an ISO-8601 timestamp or epoch milliseconds' },
    { name: 'a timestamp without a time zone', mapping: acme, raw: receipt({ ts: '2024-06-01T10:00:00' }), code: 'INVALID_TIMESTAMP', reason: 'occurredAt "2024-06-01T10:00:00" has no time zone offset (add Z or ±hh:mm)' },
    { name: 'the 30th of February', mapping: acme, raw: receipt({ ts: '2024-02-30T10:00:00Z' }), code: 'INVALID_TIMESTAMP', reason: 'occurredAt "2024-02-30T10:00:00Z" is not a valid date and time' },
    { name: 'epoch seconds instead of milliseconds', mapping: northwind, raw: northwindEvent({ kind: 'goods-receipt' }, { timestamp: 1_717_236_000 }), code: 'INVALID_TIMESTAMP', reason: 'occurredAt 1717236000 is before 2000-01-01 (epoch seconds instead of milliseconds?)' },
    { name: 'a sequence of zero', mapping: northwind, raw: northwindEvent({ kind: 'goods-receipt' }, { sequenceNo: '0' }), code: 'INVALID_SEQUENCE', reason: 'sequence "0" is not a positive integer' },
    { name: 'a sequence with letters', mapping: northwind, raw: northwindEvent({ kind: 'goods-receipt' }, { sequenceNo: '12a' }), code: 'INVALID_SEQUENCE', reason: 'sequence "12a" is not a positive integer' },
    { name: 'a sequence beyond the safe integers', mapping: acme, raw: receipt({ seq: 2 ** 53 }), code: 'INVALID_SEQUENCE', reason: 'sequence 9007199254740992 is larger than 9007199254740991' },
  ];

  for (const letter of deadLetters) {
    it(`sends ${letter.name} to the dead-letter store as ${letter.code}`, () => {
      assert.deepEqual(mapWarehouseEvent(letter.raw, letter.mapping), { ok: false, code: letter.code, reason: letter.reason });
    });
  }

  it('has an example above for every dead-letter code', () => {
    assert.deepEqual([...new Set(deadLetters.map(({ code }) => code))].sort(), [...DEAD_LETTER_CODES].sort());
  });
});

describe('mapWarehouseEvent: never throws', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const junk: unknown[] = [
    undefined, null, 0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, Number.MAX_VALUE, 2 ** 53 + 2, 10n, true, false, '', ' ', 'RCV', '{}',
    'x'.repeat(10_000), Symbol('junk'), () => 1, [], [1, 2], [{}], {}, Object.create(null), new Date(Number.NaN), /regex/, new Map(),
    { toString: () => { throw new Error('toString'); } }, { valueOf: () => 42 }, { __proto__: { event_id: 'inherited' } },
    JSON.parse('{"__proto__": {"qty": 1}}'), 'constructor', '__proto__', 'toString', revoked.proxy,
    new Proxy({}, { get: () => { throw new Error('get trap'); }, has: () => { throw new Error('has trap'); }, getOwnPropertyDescriptor: () => { throw new Error('gopd trap'); }, ownKeys: () => { throw new Error('ownKeys trap'); } }),
    Object.defineProperty({}, 'event_id', { enumerable: true, get: () => { throw new Error('getter'); } }),
  ];

  function assertDeadLetterOrEvent(result: MappingResult): void {
    if (result.ok) return;
    assert.ok(DEAD_LETTER_CODES.includes(result.code), `unknown code ${result.code}`);
    assert.ok(typeof result.reason === 'string' && result.reason.length > 0);
  }

  for (const mapping of [acme, northwind]) {
    it(`rejects junk in place of a whole ${mapping.source} event without throwing`, () => {
      for (const value of junk) {
        const result = mapWarehouseEvent(value, mapping);
        assert.equal(result.ok, false);
        assertDeadLetterOrEvent(result);
      }
    });
  }

  /** Every path to a leaf or branch of `value`, e.g. ['movement', 'quantity', 'value']. */
  function pathsOf(value: unknown, prefix: string[] = []): string[][] {
    if (typeof value !== 'object' || value === null) return [prefix];
    return [prefix, ...Object.entries(value).flatMap(([key, child]) => pathsOf(child, [...prefix, key]))].filter((path) => path.length > 0);
  }

  function replaced(value: unknown, path: string[], replacement: unknown): unknown {
    const copy: Raw = Array.isArray(value) ? [...value] as unknown as Raw : { ...(value as Raw) };
    const [head, ...rest] = path as [string, ...string[]];
    copy[head] = rest.length === 0 ? replacement : replaced(copy[head], rest, replacement);
    return copy;
  }

  const validEvents: [SourceMapping, Raw][] = [
    [acme, acmeEvent({ txn_type: 'RST', item_code: 'ACME-00042', subinv: 'MAIN', from_subinv: 'RET', lot_no: 'L1', serial_nos: ['SN-1'], qty: 1, uom: 'EA' })],
    [acme, acmeEvent({ txn_type: 'SNAP', lines: [{ item_code: 'ACME-00042', subinv: 'MAIN', lot_no: 'L1', qty: 1, uom: 'CS' }] })],
    [northwind, northwindEvent({ kind: 'return-restocked', product: { sku: 'SKU-1', batch: 'L1', serialNumbers: ['SN-1'] }, bin: { zone: 'PICKFACE' }, fromBin: { zone: 'QUARANTINE' }, quantity: { value: 1, unit: 'EACH' } })],
    [northwind, northwindEvent({ kind: 'stock-snapshot', lines: [{ product: { sku: 'SKU-1', batch: 'L1' }, bin: { zone: 'PICKFACE' }, quantity: { value: 1, unit: 'CASE' } }] })],
  ];

  for (const [mapping, valid] of validEvents) {
    it(`survives junk in every field of a valid ${mapping.source} ${String(mapping.types[String(valid.txn_type ?? (valid.movement as Raw).kind)])} event`, () => {
      // Given a valid event; when each field in turn holds each junk value
      mapOk(valid, mapping);
      let checked = 0;
      for (const path of pathsOf(valid)) {
        for (const value of junk) {
          // Then mapping returns a result, never an exception
          assertDeadLetterOrEvent(mapWarehouseEvent(replaced(valid, path, value), mapping));
          checked += 1;
        }
      }
      assert.ok(checked > 200);
    });
  }
});

describe('bucketEffectsOf', () => {
  const event = (type: InventoryEventType, quantity: number, overrides: Partial<ItemEvent> = {}): ItemEvent => ({
    kind: 'item', eventId: 'e-1', source: 'acme-wms', sequence: 1, type, sku: 'SKU-00042', locationId: 'DC-01',
    subinventory: 'STOCK', fromSubinventory: null, lot: 'L1', serials: [], orderReference: null, quantity, unitOfMeasure: 'EA', occurredAt: OCCURRED_AT,
    ...overrides,
  });
  const add = (bucket: BucketEffect['bucket'], quantity: number, subinventory = 'STOCK'): BucketEffect => ({ subinventory, lot: 'L1', bucket, op: 'add', quantity });

  const expectations: { type: InventoryEventType; event: ItemEvent; effects: BucketEffect[] }[] = [
    { type: 'RECEIPT', event: event('RECEIPT', 5), effects: [add('onHandWms', 5)] },
    { type: 'PICK', event: event('PICK', 5), effects: [add('allocated', 5)] },
    { type: 'PACK', event: event('PACK', 5), effects: [] },
    { type: 'SHIP', event: event('SHIP', 5), effects: [add('onHandWms', -5), add('allocated', -5)] },
    { type: 'DELIVERY', event: event('DELIVERY', 5, { orderReference: 'WEB-100042' }), effects: [] },
    { type: 'ADJUSTMENT', event: event('ADJUSTMENT', -3), effects: [add('onHandWms', -3)] },
    { type: 'CYCLE_COUNT', event: event('CYCLE_COUNT', 17), effects: [{ subinventory: 'STOCK', lot: 'L1', bucket: 'onHandWms', op: 'set', quantity: 17 }] },
    { type: 'TRANSFER_OUT', event: event('TRANSFER_OUT', 5), effects: [add('onHandWms', -5)] },
    { type: 'TRANSFER_IN', event: event('TRANSFER_IN', 5), effects: [add('onHandWms', 5), add('inboundInTransit', -5)] },
    { type: 'RETURN_RECEIVED', event: event('RETURN_RECEIVED', 2, { subinventory: 'RETURNS' }), effects: [add('onHandWms', 2, 'RETURNS')] },
    {
      type: 'RETURN_RESTOCKED', event: event('RETURN_RESTOCKED', 2, { fromSubinventory: 'QA' }),
      effects: [add('onHandWms', -2, 'QA'), add('onHandWms', 2, 'STOCK')],
    },
    { type: 'QUALITY_HOLD', event: event('QUALITY_HOLD', 4, { subinventory: 'QA' }), effects: [add('qualityHold', 4, 'QA')] },
    { type: 'QUALITY_RELEASE', event: event('QUALITY_RELEASE', 4, { subinventory: 'QA' }), effects: [add('qualityHold', -4, 'QA')] },
  ];

  for (const { type, event: given, effects } of expectations) {
    it(`turns ${type} into ${effects.length === 0 ? 'no effect' : effects.map((e) => `${e.op} ${e.quantity} ${e.bucket} in ${e.subinventory}`).join(', ')}`, () => {
      assert.deepEqual(bucketEffectsOf(given), effects);
    });
  }

  it('moves the units of a damage adjustment between its subinventory and DAMAGED, both ways', () => {
    assert.deepEqual(bucketEffectsOf(event('ADJUSTMENT', -3, { reason: 'DAMAGE' })), [add('onHandWms', -3), add('onHandWms', 3, 'DAMAGED')], 'damage found');
    assert.deepEqual(bucketEffectsOf(event('ADJUSTMENT', 2, { reason: 'DAMAGE' })), [add('onHandWms', 2), add('onHandWms', -2, 'DAMAGED')], 'found sellable after all');
  });

  it('adjusts DAMAGED alone for a damage adjustment or write-off that names DAMAGED itself', () => {
    assert.deepEqual(bucketEffectsOf(event('ADJUSTMENT', -2, { subinventory: 'DAMAGED', reason: 'DAMAGE' })), [add('onHandWms', -2, 'DAMAGED')]);
    assert.deepEqual(bucketEffectsOf(event('ADJUSTMENT', -2, { subinventory: 'DAMAGED' })), [add('onHandWms', -2, 'DAMAGED')]);
  });

  it('names every subinventory a movement touches, for the catalogue to check', () => {
    assert.deepEqual(subinventoriesOf(event('ADJUSTMENT', -3, { reason: 'DAMAGE' })), ['STOCK', 'DAMAGED']);
    assert.deepEqual(subinventoriesOf(event('RETURN_RESTOCKED', 1, { subinventory: 'DAMAGED', fromSubinventory: 'RETURNS' })), ['DAMAGED', 'RETURNS']);
    assert.deepEqual(subinventoriesOf(event('PACK', 1)), ['STOCK']);
  });

  it('puts the serials of a damage adjustment where its units go, and takes those of a write-off off the books', () => {
    const serials = ['SN-1', 'SN-2'];
    assert.deepEqual(serialMovementOf(event('ADJUSTMENT', -2, { reason: 'DAMAGE', serials })), { kind: 'arrive', subinventory: 'DAMAGED' });
    assert.deepEqual(serialMovementOf(event('ADJUSTMENT', 2, { reason: 'DAMAGE', serials })), { kind: 'arrive', subinventory: 'STOCK' });
    assert.deepEqual(serialMovementOf(event('ADJUSTMENT', -2, { subinventory: 'DAMAGED', serials })), { kind: 'leave' });
    assert.deepEqual(serialMovementOf(event('RETURN_RESTOCKED', 2, { subinventory: 'DAMAGED', fromSubinventory: 'QA', serials })), { kind: 'arrive', subinventory: 'DAMAGED' });
  });

  it('tells the ERP of the serials a movement moves or a pick commits, and of none a count found', () => {
    const serials = ['SN-1', 'SN-2'];
    assert.deepEqual(transactionSerialsOf(event('SHIP', 2, { serials })), serials);
    assert.deepEqual(transactionSerialsOf(event('PICK', 2, { serials })), serials);
    assert.deepEqual(transactionSerialsOf(event('ADJUSTMENT', -2, { reason: 'DAMAGE', serials })), serials);
    assert.deepEqual(transactionSerialsOf(event('CYCLE_COUNT', 2, { serials })), []);
  });

  it('restocks from QA, where returns await inspection, when the event names no origin', () => {
    assert.deepEqual(bucketEffectsOf(event('RETURN_RESTOCKED', 1)), [add('onHandWms', -1, 'QA'), add('onHandWms', 1, 'STOCK')]);
  });

  it('has an expectation above for every event type', () => {
    assert.deepEqual(expectations.map(({ type }) => type), [...INVENTORY_EVENT_TYPES]);
  });

  it('makes an ERP transaction of every movement that changes on hand, and of a pick', () => {
    assert.deepEqual(INVENTORY_EVENT_TYPES.filter(isErpTransaction), [
      'RECEIPT', 'PICK', 'SHIP', 'ADJUSTMENT', 'CYCLE_COUNT', 'TRANSFER_OUT', 'TRANSFER_IN', 'RETURN_RECEIVED', 'RETURN_RESTOCKED',
    ]);
    for (const { type, effects } of expectations) {
      assert.equal(isErpTransaction(type), type === 'PICK' || effects.some((effect) => effect.bucket === 'onHandWms'), type);
    }
  });

  it('applies what the mapping produced: a restock in northwind-3pl format moves units out of QA into stock', () => {
    const mapped = mapOk(northwindEvent({
      kind: 'return-restocked', product: { sku: 'SKU-00042' }, fromBin: { zone: 'QUARANTINE' }, bin: { zone: 'RESERVE' }, quantity: { value: 1, unit: 'CASE' },
    }), northwind);
    assert.equal(mapped.kind, 'item');
    assert.deepEqual(bucketEffectsOf(mapped as ItemEvent), [
      { subinventory: 'QA', lot: '', bucket: 'onHandWms', op: 'add', quantity: -12 },
      { subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'add', quantity: 12 },
    ]);
  });
});

describe('validateSourceMapping', () => {
  it('accepts both example mappings', () => {
    assert.deepEqual(loadExampleMappings().map((mapping) => [mapping.source, validateSourceMapping(mapping)]), [['acme-wms', []], ['northwind-3pl', []]]);
  });

  it('reports every problem of a broken mapping at once', () => {
    // Given a mapping with a problem in nearly every part
    const broken = {
      source: ' ',
      fields: { ...acme.fields, eventId: 'header..id', qty: 'qty', occurredAt: undefined },
      types: { RCV: 'RECIEPT', SNAP: 'LOCATION_SNAPSHOT' },
      skuPattern: { match: '^ACME-\\d+$', replace: 'SKU-$1' },
      locationCodes: { ATL1: '' },
      units: { CS: { unit: 'EA', factor: 0 } },
      defaultSubinventory: 'STOCK',
      subinventory: 'STOCK',
    };

    // When it is validated; then each problem is named
    assert.deepEqual(validateSourceMapping(broken), [
      'mapping has an unknown key "subinventory" (expected one of source, fields, lineFields, types, skuCodes, skuPattern, locationCodes, subinventoryCodes, reasonCodes, defaultSubinventory, units)',
      'source must be a non-empty string, got " "',
      'fields has an unknown key "qty" (expected one of eventId, type, sequence, sku, location, quantity, unitOfMeasure, occurredAt, subinventory, fromSubinventory, lot, serials, orderReference, reason, lines)',
      'fields.eventId must be a dotted path such as "item.code", got "header..id"',
      'fields.occurredAt is missing',
      'types.RCV maps to "RECIEPT", which is neither one of RECEIPT, PICK, PACK, SHIP, DELIVERY, ADJUSTMENT, CYCLE_COUNT, TRANSFER_OUT, TRANSFER_IN, RETURN_RECEIVED, RETURN_RESTOCKED, QUALITY_HOLD, QUALITY_RELEASE nor LOCATION_SNAPSHOT',
      'lineFields is required because types maps a code to LOCATION_SNAPSHOT',
      'skuPattern.match "^ACME-\\\\d+$" must have exactly one capture group, has 0',
      'locationCodes.ATL1 must map to a non-empty string, got ""',
      'units.CS.factor must be a positive number, got 0',
    ]);
  });

  it('reports reason codes that name no canonical reason, and reason codes with no field to read them from', () => {
    const { reason: _reason, ...withoutReason } = acme.fields;
    assert.deepEqual(validateSourceMapping({ ...acme, fields: withoutReason, reasonCodes: { DMG: 'DAMAGED', SCRAP: '' } }), [
      'reasonCodes.SCRAP must map to a non-empty string, got ""',
      'reasonCodes.DMG maps to "DAMAGED", which is not one of DAMAGE',
      'fields.reason is required because reasonCodes is given',
    ]);
  });

  it('reports a pattern that is not a regular expression', () => {
    const problems = validateSourceMapping({ ...acme, skuPattern: { match: '^ACME-(\\d+$', replace: 'SKU-$1' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^skuPattern.match "\^ACME-\(\\\\d\+\$" is not a valid regular expression: /);
  });

  it('reports a mapping that is not an object, and one without location codes', () => {
    assert.deepEqual(validateSourceMapping(null), ['mapping is null, not an object']);
    assert.deepEqual(validateSourceMapping({ ...northwind, locationCodes: {} }), ['locationCodes must map at least one code, got an object']);
  });
});
