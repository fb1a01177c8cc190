import {
  ADJUSTMENT_REASONS,
  INVENTORY_EVENT_TYPES,
  isAdjustmentReason,
  isInventoryEventType,
  quantityRuleViolation,
  type AdjustmentReason,
  type CanonicalInventoryEvent,
  type InventoryEventType,
  type ItemEvent,
  type LocationSnapshot,
  type SnapshotLine,
} from './canonicalEvent.ts';
import { isWithinStockRange, QUANTITY_OUT_OF_RANGE, STOCK_RANGE_DESCRIPTION } from '../quantityRange.ts';

/** The type a source code maps to when the event is a full count of a location. */
export const LOCATION_SNAPSHOT = 'LOCATION_SNAPSHOT';

/**
 * How one WMS instance writes its events, so that every format maps to the same canonical
 * event. Plain JSON, validated with validateSourceMapping when it is loaded.
 */
export interface SourceMapping {
  readonly source: string;
  /** Dotted paths into the raw event for each canonical field, e.g. "item.code". */
  readonly fields: {
    readonly eventId: string;
    readonly type: string;
    readonly sequence: string;
    readonly sku: string;
    readonly location: string;
    readonly subinventory?: string;
    readonly fromSubinventory?: string;
    readonly lot?: string;
    readonly serials?: string;
    /** The order a movement fulfils or returns, as the WMS names it (Order.reference). */
    readonly orderReference?: string;
    /** Why an adjustment was made, as the WMS codes it: translated by reasonCodes, read for ADJUSTMENT only. */
    readonly reason?: string;
    readonly quantity: string;
    readonly unitOfMeasure: string;
    readonly occurredAt: string;
    /** The array of lines of a snapshot. */
    readonly lines?: string;
  };
  /** Fields inside each snapshot line, as paths relative to the line. */
  readonly lineFields?: {
    readonly sku: string;
    readonly subinventory?: string;
    readonly lot?: string;
    readonly quantity: string;
    readonly unitOfMeasure: string;
  };
  /** The source's type codes -> canonical type, or LOCATION_SNAPSHOT. */
  readonly types: Readonly<Record<string, InventoryEventType | typeof LOCATION_SNAPSHOT>>;
  /** Source SKU code -> Stockgraph SKU; codes not listed pass through unchanged unless skuPattern is set. */
  readonly skuCodes?: Readonly<Record<string, string>>;
  /**
   * A regex with one capture group that must match the whole code, and its template, e.g.
   * { match: "^ACME-(\\d+)$", replace: "SKU-$1" }. Tried after skuCodes; a code matching
   * neither is rejected.
   */
  readonly skuPattern?: { readonly match: string; readonly replace: string };
  /** Source location code -> Stockgraph location id; a code not listed is UNKNOWN_LOCATION. */
  readonly locationCodes: Readonly<Record<string, string>>;
  /** Source subinventory code -> Stockgraph subinventory; codes not listed pass through unchanged. */
  readonly subinventoryCodes?: Readonly<Record<string, string>>;
  /**
   * Source adjustment reason code -> the canonical reason it is (see ADJUSTMENT_REASONS), e.g.
   * { DMG: "DAMAGE" }. A code not listed is taken as it is when it names a canonical reason, and
   * otherwise makes a plain adjustment (one that changes its own subinventory only).
   */
  readonly reasonCodes?: Readonly<Record<string, AdjustmentReason>>;
  /** The subinventory of an event without one (except RETURN_RECEIVED, which defaults to QA). */
  readonly defaultSubinventory: string;
  /** Source unit -> canonical unit and factor, e.g. { CS: { unit: 'EA', factor: 12 } }. Units not listed pass through unchanged. */
  readonly units?: Readonly<Record<string, { readonly unit: string; readonly factor: number }>>;
}

export const DEAD_LETTER_CODES = [
  'MALFORMED_EVENT', 'UNKNOWN_EVENT_TYPE', 'UNKNOWN_LOCATION', 'INVALID_QUANTITY', 'QUANTITY_OUT_OF_RANGE', 'INVALID_TIMESTAMP', 'INVALID_SEQUENCE',
] as const;

export type DeadLetterCode = (typeof DEAD_LETTER_CODES)[number];

export type MappingResult =
  | { ok: true; event: CanonicalInventoryEvent }
  | { ok: false; reason: string; code: DeadLetterCode };

type Rejection = { ok: false; reason: string; code: DeadLetterCode };
type Read<T> = { ok: true; value: T } | Rejection;

type UnitTable = SourceMapping['units'];

// Returned units await inspection in QA, where nothing is promised.
const RESTOCKED_FROM_DEFAULT = 'QA';
const RETURN_RECEIVED_DEFAULT = 'QA';
// A timestamp before 2000 is almost always epoch seconds sent as milliseconds.
const EARLIEST_OCCURRED_AT_MS = Date.UTC(2000, 0, 1);
const LATEST_OCCURRED_AT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
// Tolerates binary floating point in quantity x factor (0.1 x 30), not real fractions.
const WHOLE_NUMBER_TOLERANCE = 1e-9;

/**
 * Maps one raw event from the WMS instance `mapping.source` to the canonical model, or says
 * why it belongs in the dead-letter store. This function does not throw, whatever `raw` is.
 *
 * A required field that is absent, null or blank is MALFORMED_EVENT; one that is present but
 * unusable gets its own code (UNKNOWN_LOCATION, INVALID_QUANTITY...). The first problem found
 * is reported, naming the field and the raw value. Strings are trimmed, and codes may arrive as
 * integers. `mapping` is trusted to have passed validateSourceMapping.
 */
export function mapWarehouseEvent(raw: unknown, mapping: SourceMapping): MappingResult {
  try {
    return mapEvent(raw, mapping);
  } catch (error) {
    // Only hostile input gets here: throwing getters, revoked proxies.
    return reject('MALFORMED_EVENT', `event could not be read: ${errorText(error)}`);
  }
}

function mapEvent(raw: unknown, mapping: SourceMapping): MappingResult {
  if (!isRecord(raw)) return reject('MALFORMED_EVENT', `event is ${describe(raw)}, not an object`);
  const { fields, source } = mapping;

  const eventId = readRequiredText(raw, fields.eventId, 'eventId');
  if (!eventId.ok) return eventId;
  const typeCode = readRequiredText(raw, fields.type, 'type');
  if (!typeCode.ok) return typeCode;
  const type = lookup(mapping.types, typeCode.value);
  if (type === undefined) {
    return reject('UNKNOWN_EVENT_TYPE', `event type ${quote(typeCode.value)} has no mapping for source ${source}`);
  }
  const sequence = readSequence(raw, fields.sequence);
  if (!sequence.ok) return sequence;
  const occurredAt = readOccurredAt(raw, fields.occurredAt);
  if (!occurredAt.ok) return occurredAt;
  const locationCode = readRequiredText(raw, fields.location, 'location');
  if (!locationCode.ok) return locationCode;
  const locationId = lookup(mapping.locationCodes, locationCode.value);
  if (locationId === undefined) {
    return reject('UNKNOWN_LOCATION', `location code ${quote(locationCode.value)} has no mapping for source ${source}`);
  }

  const header = { eventId: eventId.value, source, sequence: sequence.value, locationId, occurredAt: occurredAt.value };
  return type === LOCATION_SNAPSHOT ? mapSnapshot(raw, mapping, header) : mapItemEvent(raw, mapping, type, header);
}

type Header = Pick<ItemEvent, 'eventId' | 'source' | 'sequence' | 'locationId' | 'occurredAt'>;

function mapItemEvent(raw: Record<string, unknown>, mapping: SourceMapping, type: InventoryEventType, header: Header): MappingResult {
  const { fields } = mapping;
  const sku = readSku(raw, fields.sku, mapping);
  if (!sku.ok) return sku;

  const subinventoryDefault = type === 'RETURN_RECEIVED' ? RETURN_RECEIVED_DEFAULT : mapping.defaultSubinventory;
  const subinventory = readSubinventory(raw, fields.subinventory, 'subinventory', mapping, subinventoryDefault);
  if (!subinventory.ok) return subinventory;
  let fromSubinventory: string | null = null;
  if (type === 'RETURN_RESTOCKED') {
    const from = readSubinventory(raw, fields.fromSubinventory, 'fromSubinventory', mapping, RESTOCKED_FROM_DEFAULT);
    if (!from.ok) return from;
    if (from.value === subinventory.value) {
      return reject('MALFORMED_EVENT', `RETURN_RESTOCKED moves from ${from.value} to ${subinventory.value}; the subinventories must differ`);
    }
    fromSubinventory = from.value;
  }

  const lot = readOptionalText(raw, fields.lot, 'lot');
  if (!lot.ok) return lot;
  const serials = readSerials(raw, fields.serials);
  if (!serials.ok) return serials;
  const orderReference = readOptionalText(raw, fields.orderReference, 'orderReference');
  if (!orderReference.ok) return orderReference;
  const reason = type === 'ADJUSTMENT' ? readReason(raw, fields.reason, mapping) : { ok: true as const, value: undefined };
  if (!reason.ok) return reason;

  const amount = readQuantity(raw, fields.quantity, fields.unitOfMeasure, mapping.units);
  if (!amount.ok) return amount;
  const { quantity, unitOfMeasure } = amount.value;
  const violation = quantityRuleViolation(type, quantity);
  if (violation !== null) return reject('INVALID_QUANTITY', `${amount.value.described} ${violation}`);
  if (serials.value.length > 0 && serials.value.length !== Math.abs(quantity)) {
    return reject('INVALID_QUANTITY', `${amount.value.described} does not match the ${serials.value.length} serial number${serials.value.length === 1 ? '' : 's'}`);
  }

  const event: ItemEvent = {
    kind: 'item',
    ...header,
    type,
    sku: sku.value,
    subinventory: subinventory.value,
    fromSubinventory,
    ...(reason.value === undefined ? {} : { reason: reason.value }),
    lot: lot.value ?? '',
    serials: serials.value,
    orderReference: orderReference.value ?? null,
    quantity,
    unitOfMeasure,
  };
  return { ok: true, event };
}

function mapSnapshot(raw: Record<string, unknown>, mapping: SourceMapping, header: Header): MappingResult {
  const { lineFields, fields: { lines: linesPath } } = mapping;
  if (linesPath === undefined || lineFields === undefined) {
    return reject('MALFORMED_EVENT', `source ${mapping.source} has no fields.lines or lineFields for a location snapshot`);
  }
  const rawLines = readPath(raw, linesPath);
  if (isAbsent(rawLines)) return missing('lines', linesPath);
  if (!Array.isArray(rawLines)) return reject('MALFORMED_EVENT', `lines ${describe(rawLines)} is not an array`);
  if (rawLines.length === 0) return reject('MALFORMED_EVENT', 'lines is empty; a location snapshot needs at least one line');

  // A WMS may count a position in several bins or units; a position is sku x subinventory x lot.
  const byPosition = new Map<string, { line: SnapshotLine; index: number }>();
  for (const [index, rawLine] of rawLines.entries()) {
    const line = mapSnapshotLine(rawLine, lineFields, mapping);
    if (!line.ok) return { ...line, reason: `lines[${index}]: ${line.reason}` };
    const key = JSON.stringify([line.value.sku, line.value.subinventory, line.value.lot]);
    const earlier = byPosition.get(key);
    if (earlier === undefined) {
      byPosition.set(key, { line: line.value, index });
      continue;
    }
    if (earlier.line.unitOfMeasure !== line.value.unitOfMeasure) {
      return reject('MALFORMED_EVENT',
        `lines[${index}]: ${describePosition(line.value)} is counted in ${line.value.unitOfMeasure} here and in ${earlier.line.unitOfMeasure} at lines[${earlier.index}]`);
    }
    const quantity = earlier.line.quantity + line.value.quantity;
    if (!isWithinStockRange(quantity)) {
      return reject(QUANTITY_OUT_OF_RANGE, `lines[${index}]: the total of ${describePosition(line.value)}, ${quantity}, is ${STOCK_RANGE_DESCRIPTION}`);
    }
    byPosition.set(key, { line: { ...earlier.line, quantity }, index: earlier.index });
  }

  const event: LocationSnapshot = { kind: 'snapshot', ...header, lines: [...byPosition.values()].map(({ line }) => line) };
  return { ok: true, event };
}

function mapSnapshotLine(rawLine: unknown, lineFields: NonNullable<SourceMapping['lineFields']>, mapping: SourceMapping): Read<SnapshotLine> {
  if (!isRecord(rawLine)) return reject('MALFORMED_EVENT', `line is ${describe(rawLine)}, not an object`);
  const sku = readSku(rawLine, lineFields.sku, mapping);
  if (!sku.ok) return sku;
  const subinventory = readSubinventory(rawLine, lineFields.subinventory, 'subinventory', mapping, mapping.defaultSubinventory);
  if (!subinventory.ok) return subinventory;
  const lot = readOptionalText(rawLine, lineFields.lot, 'lot');
  if (!lot.ok) return lot;
  const amount = readQuantity(rawLine, lineFields.quantity, lineFields.unitOfMeasure, mapping.units);
  if (!amount.ok) return amount;
  if (amount.value.quantity < 0) return reject('INVALID_QUANTITY', `${amount.value.described} must be at least 0 in a snapshot`);
  return {
    ok: true,
    value: { sku: sku.value, subinventory: subinventory.value, lot: lot.value ?? '', quantity: amount.value.quantity, unitOfMeasure: amount.value.unitOfMeasure },
  };
}

function describePosition(line: SnapshotLine): string {
  return `${line.sku} in ${line.subinventory}${line.lot === '' ? '' : ` lot ${line.lot}`}`;
}

// ---- Fields

function readRequiredText(record: Record<string, unknown>, path: string, field: string): Read<string> {
  const value = readPath(record, path);
  if (isAbsent(value)) return missing(field, path);
  const text = textOf(value);
  if (text === undefined) return reject('MALFORMED_EVENT', `${field} ${describe(value)} is not a string`);
  return { ok: true, value: text };
}

function readOptionalText(record: Record<string, unknown>, path: string | undefined, field: string): Read<string | undefined> {
  const value = path === undefined ? undefined : readPath(record, path);
  if (isAbsent(value)) return { ok: true, value: undefined };
  const text = textOf(value);
  if (text === undefined) return reject('MALFORMED_EVENT', `${field} ${describe(value)} is not a string`);
  return { ok: true, value: text };
}

function readSku(record: Record<string, unknown>, path: string, mapping: SourceMapping): Read<string> {
  const code = readRequiredText(record, path, 'sku');
  if (!code.ok) return code;
  const listed = lookup(mapping.skuCodes, code.value);
  if (listed !== undefined) return { ok: true, value: listed };
  if (mapping.skuPattern === undefined) return { ok: true, value: code.value };

  const pattern = new RegExp(mapping.skuPattern.match);
  const match = pattern.exec(code.value);
  if (match === null || match.index !== 0 || match[0].length !== code.value.length) {
    return reject('MALFORMED_EVENT',
      `sku code ${quote(code.value)} matches neither skuCodes nor skuPattern ${quote(mapping.skuPattern.match)} of source ${mapping.source}`);
  }
  const sku = code.value.replace(pattern, mapping.skuPattern.replace).trim();
  if (sku === '') return reject('MALFORMED_EVENT', `sku code ${quote(code.value)} translates to an empty SKU`);
  return { ok: true, value: sku };
}

function readSubinventory(
  record: Record<string, unknown>, path: string | undefined, field: string, mapping: SourceMapping, fallback: string,
): Read<string> {
  const code = readOptionalText(record, path, field);
  if (!code.ok) return code;
  if (code.value === undefined) return { ok: true, value: fallback };
  return { ok: true, value: lookup(mapping.subinventoryCodes, code.value) ?? code.value };
}

function readReason(record: Record<string, unknown>, path: string | undefined, mapping: SourceMapping): Read<AdjustmentReason | undefined> {
  const code = readOptionalText(record, path, 'reason');
  if (!code.ok) return code;
  if (code.value === undefined) return { ok: true, value: undefined };
  const reason = lookup(mapping.reasonCodes, code.value) ?? code.value;
  return { ok: true, value: isAdjustmentReason(reason) ? reason : undefined };
}

function readSequence(record: Record<string, unknown>, path: string): Read<number> {
  const value = readPath(record, path);
  if (isAbsent(value)) return missing('sequence', path);
  const number = typeof value === 'number' ? value
    : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim())
    : Number.NaN;
  if (!Number.isInteger(number) || number < 1) {
    return reject('INVALID_SEQUENCE', `sequence ${describe(value)} is not a positive integer`);
  }
  if (!Number.isSafeInteger(number)) {
    return reject('INVALID_SEQUENCE', `sequence ${describe(value)} is larger than ${Number.MAX_SAFE_INTEGER}`);
  }
  return { ok: true, value: number };
}

function readOccurredAt(record: Record<string, unknown>, path: string): Read<Date> {
  const value = readPath(record, path);
  if (isAbsent(value)) return missing('occurredAt', path);
  let epochMs: number;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) {
    epochMs = Number(typeof value === 'string' ? value.trim() : value);
    if (!Number.isSafeInteger(epochMs)) {
      return reject('INVALID_TIMESTAMP', `occurredAt ${describe(value)} is not a whole number of epoch milliseconds`);
    }
  } else if (typeof value === 'string') {
    const parsed = parseIsoTimestamp(value.trim());
    if (typeof parsed === 'string') return reject('INVALID_TIMESTAMP', `occurredAt ${describe(value)} ${parsed}`);
    epochMs = parsed;
  } else {
    return reject('INVALID_TIMESTAMP', `occurredAt ${describe(value)} is neither an ISO-8601 string nor epoch milliseconds`);
  }
  if (epochMs < EARLIEST_OCCURRED_AT_MS) {
    const hint = typeof value === 'string' && !/^\d+$/.test(value.trim()) ? '' : ' (epoch seconds instead of milliseconds?)';
    return reject('INVALID_TIMESTAMP', `occurredAt ${describe(value)} is before 2000-01-01${hint}`);
  }
  if (epochMs > LATEST_OCCURRED_AT_MS) return reject('INVALID_TIMESTAMP', `occurredAt ${describe(value)} is after 9999-12-31`);
  return { ok: true, value: new Date(epochMs) };
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Epoch milliseconds of an ISO-8601 date-time with an offset, or why it is not one. Written
 * out because Date.parse accepts other formats, rolls 30 February over into March and reads
 * a time without an offset as the server's local time.
 */
function parseIsoTimestamp(text: string): number | string {
  const parts = ISO_TIMESTAMP.exec(text);
  if (parts === null) return 'is not an ISO-8601 timestamp or epoch milliseconds';
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone] = parts;
  if (zone === undefined) return 'has no time zone offset (add Z or ±hh:mm)';
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
  if (d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) return 'is not a valid date and time';
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = Number(digits.slice(2) || '0');
    if (offsetHours > 23 || offsetMins > 59) return 'has an invalid time zone offset';
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const milliseconds = Number(fraction.padEnd(3, '0').slice(0, 3));
  const utc = new Date(0);
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(h, mi, s, milliseconds);
  return utc.getTime() - offsetMinutes * 60_000;
}

function readSerials(record: Record<string, unknown>, path: string | undefined): Read<string[]> {
  const value = path === undefined ? undefined : readPath(record, path);
  if (value === undefined || value === null) return { ok: true, value: [] };
  if (!Array.isArray(value)) return reject('MALFORMED_EVENT', `serials ${describe(value)} is not an array`);
  const serials: string[] = [];
  for (const [index, item] of value.entries()) {
    const serial = textOf(item);
    if (serial === undefined || serial === '') return reject('MALFORMED_EVENT', `serials[${index}] ${describe(item)} is not a serial number`);
    const first = serials.indexOf(serial);
    if (first !== -1) return reject('MALFORMED_EVENT', `serials[${index}] ${quote(serial)} repeats serials[${first}]`);
    serials.push(serial);
  }
  return { ok: true, value: serials };
}

interface Amount {
  readonly quantity: number;
  readonly unitOfMeasure: string;
  /** The raw amount and, when converted, the result, for reasons: `quantity 3 CS (36 EA)`. */
  readonly described: string;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** The quantity in the canonical unit: an integer of any sign within the stock range; the caller checks the sign. */
function readQuantity(
  record: Record<string, unknown>, quantityPath: string, unitPath: string, units: UnitTable,
): Read<Amount> {
  const value = readPath(record, quantityPath);
  if (isAbsent(value)) return missing('quantity', quantityPath);
  const number = typeof value === 'number' ? value
    : typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value.trim())
    : Number.NaN;
  if (Number.isNaN(number)) return reject('INVALID_QUANTITY', `quantity ${describe(value)} is not a number`);
  if (!Number.isFinite(number)) return reject('INVALID_QUANTITY', `quantity ${describe(value)} is not a finite number`);

  const sourceUnit = readRequiredText(record, unitPath, 'unitOfMeasure');
  if (!sourceUnit.ok) return sourceUnit;
  const conversion = lookup(units, sourceUnit.value) ?? { unit: sourceUnit.value, factor: 1 };
  const product = number * conversion.factor;
  const rounded = Math.round(product) + 0;
  const converted = conversion.factor !== 1 || conversion.unit !== sourceUnit.value;
  const described = `quantity ${describe(value)} ${sourceUnit.value}`
    + (converted ? ` (${Number.isFinite(product) ? Number(product.toPrecision(12)) : 'overflow'} ${conversion.unit})` : '');
  if (!isWithinStockRange(rounded)) return reject(QUANTITY_OUT_OF_RANGE, `${described} is ${STOCK_RANGE_DESCRIPTION}`);
  if (Math.abs(product - rounded) > WHOLE_NUMBER_TOLERANCE * Math.max(1, Math.abs(product))) {
    return reject('INVALID_QUANTITY', `${described} is not a whole number of ${conversion.unit}`);
  }
  return { ok: true, value: { quantity: rounded, unitOfMeasure: conversion.unit, described } };
}

// ---- Raw values

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** Follows own properties only, so "constructor" or "__proto__" in a path or payload reads nothing inherited. */
function readPath(root: unknown, path: string): unknown {
  let current = root;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isRecord(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** Own entries only: a code such as "toString" must not find Object.prototype.toString. */
function lookup<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A code or identifier: a string, trimmed, or the integer some systems send instead. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

const DESCRIBED_LENGTH = 80;

/** A raw value as a reason shows it: strings quoted and shortened, anything else by its kind. */
function describe(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function quote(text: string): string {
  const shown = text.length > DESCRIBED_LENGTH ? `${text.slice(0, DESCRIBED_LENGTH)}...` : text;
  return JSON.stringify(shown);
}

function errorText(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unreadable error';
  }
}

function missing(field: string, path: string): Rejection {
  return reject('MALFORMED_EVENT', `${field} is missing (expected at ${quote(path)})`);
}

function reject(code: DeadLetterCode, reason: string): Rejection {
  return { ok: false, reason, code };
}

// ---- Validating a mapping

const REQUIRED_FIELDS = ['eventId', 'type', 'sequence', 'sku', 'location', 'quantity', 'unitOfMeasure', 'occurredAt'] as const;
const OPTIONAL_FIELDS = ['subinventory', 'fromSubinventory', 'lot', 'serials', 'orderReference', 'reason', 'lines'] as const;
const REQUIRED_LINE_FIELDS = ['sku', 'quantity', 'unitOfMeasure'] as const;
const OPTIONAL_LINE_FIELDS = ['subinventory', 'lot'] as const;
const MAPPING_KEYS = [
  'source', 'fields', 'lineFields', 'types', 'skuCodes', 'skuPattern', 'locationCodes', 'subinventoryCodes', 'reasonCodes', 'defaultSubinventory', 'units',
] as const;
const PATH = /^[^.\s]+(\.[^.\s]+)*$/;

/**
 * Every problem with a mapping configuration (checked at start-up), or an empty list when it
 * is valid. Unknown keys are problems too, so that a misspelt key is not silently ignored.
 */
export function validateSourceMapping(value: unknown): string[] {
  if (!isRecord(value)) return [`mapping is ${describe(value)}, not an object`];
  const problems: string[] = [];
  checkKnownKeys(value, MAPPING_KEYS, 'mapping', problems);
  if (!isNonBlankString(value.source)) problems.push(`source must be a non-empty string, got ${describe(value.source)}`);
  checkPaths(value.fields, 'fields', REQUIRED_FIELDS, OPTIONAL_FIELDS, true, problems);
  checkPaths(value.lineFields, 'lineFields', REQUIRED_LINE_FIELDS, OPTIONAL_LINE_FIELDS, false, problems);
  checkTypes(value, problems);
  checkCodeTable(value.skuCodes, 'skuCodes', false, problems);
  checkSkuPattern(value.skuPattern, problems);
  checkCodeTable(value.locationCodes, 'locationCodes', true, problems);
  checkCodeTable(value.subinventoryCodes, 'subinventoryCodes', false, problems);
  checkReasonCodes(value, problems);
  if (!isNonBlankString(value.defaultSubinventory)) {
    problems.push(`defaultSubinventory must be a non-empty string, got ${describe(value.defaultSubinventory)}`);
  }
  checkUnits(value.units, problems);
  return problems;
}

function checkKnownKeys(record: Record<string, unknown>, known: readonly string[], where: string, problems: string[]): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) problems.push(`${where} has an unknown key ${quote(key)} (expected one of ${known.join(', ')})`);
  }
}

function checkPaths(
  value: unknown, where: string, required: readonly string[], optional: readonly string[], isRequired: boolean, problems: string[],
): void {
  if (value === undefined && !isRequired) return;
  if (!isRecord(value)) {
    problems.push(`${where} must be an object of dotted paths, got ${describe(value)}`);
    return;
  }
  checkKnownKeys(value, [...required, ...optional], where, problems);
  for (const key of [...required, ...optional]) {
    const path = value[key];
    if (path === undefined) {
      if (required.includes(key)) problems.push(`${where}.${key} is missing`);
    } else if (typeof path !== 'string' || !PATH.test(path)) {
      problems.push(`${where}.${key} must be a dotted path such as "item.code", got ${describe(path)}`);
    }
  }
}

function checkTypes(mapping: Record<string, unknown>, problems: string[]): void {
  const { types } = mapping;
  if (!isRecord(types) || Object.keys(types).length === 0) {
    problems.push(`types must map at least one source type code, got ${describe(types)}`);
    return;
  }
  for (const [code, type] of Object.entries(types)) {
    if (code.trim() !== code || code === '') problems.push(`types has a blank or untrimmed code ${quote(code)}`);
    if (!isInventoryEventType(type) && type !== LOCATION_SNAPSHOT) {
      problems.push(`types.${code} maps to ${describe(type)}, which is neither one of ${INVENTORY_EVENT_TYPES.join(', ')} nor ${LOCATION_SNAPSHOT}`);
    }
  }
  if (Object.values(types).includes(LOCATION_SNAPSHOT)) {
    const fields = isRecord(mapping.fields) ? mapping.fields : {};
    if (fields.lines === undefined) problems.push(`fields.lines is required because types maps a code to ${LOCATION_SNAPSHOT}`);
    if (mapping.lineFields === undefined) problems.push(`lineFields is required because types maps a code to ${LOCATION_SNAPSHOT}`);
  }
}

function checkCodeTable(value: unknown, where: string, isRequired: boolean, problems: string[]): void {
  if (value === undefined && !isRequired) return;
  if (!isRecord(value) || (isRequired && Object.keys(value).length === 0)) {
    problems.push(`${where} must ${isRequired ? 'map at least one code' : 'be an object of codes'}, got ${describe(value)}`);
    return;
  }
  for (const [code, target] of Object.entries(value)) {
    if (code.trim() !== code || code === '') problems.push(`${where} has a blank or untrimmed code ${quote(code)}`);
    if (!isNonBlankString(target)) problems.push(`${where}.${code} must map to a non-empty string, got ${describe(target)}`);
  }
}

function checkReasonCodes(mapping: Record<string, unknown>, problems: string[]): void {
  const { reasonCodes } = mapping;
  if (reasonCodes === undefined) return;
  checkCodeTable(reasonCodes, 'reasonCodes', false, problems);
  if (!isRecord(reasonCodes)) return;
  for (const [code, reason] of Object.entries(reasonCodes)) {
    if (isNonBlankString(reason) && !isAdjustmentReason(reason)) {
      problems.push(`reasonCodes.${code} maps to ${describe(reason)}, which is not one of ${ADJUSTMENT_REASONS.join(', ')}`);
    }
  }
  if (!isRecord(mapping.fields) || mapping.fields.reason === undefined) problems.push('fields.reason is required because reasonCodes is given');
}

function checkSkuPattern(value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    problems.push(`skuPattern must be { match, replace }, got ${describe(value)}`);
    return;
  }
  checkKnownKeys(value, ['match', 'replace'], 'skuPattern', problems);
  if (!isNonBlankString(value.replace)) problems.push(`skuPattern.replace must be a non-empty string, got ${describe(value.replace)}`);
  if (typeof value.match !== 'string' || value.match === '') {
    problems.push(`skuPattern.match must be a non-empty regular expression, got ${describe(value.match)}`);
    return;
  }
  try {
    new RegExp(value.match);
  } catch (error) {
    problems.push(`skuPattern.match ${quote(value.match)} is not a valid regular expression: ${errorText(error)}`);
    return;
  }
  // An alternative that matches the empty string makes exec report every group of the pattern.
  const groups = (new RegExp(`(?:${value.match})|`).exec('')?.length ?? 1) - 1;
  if (groups !== 1) problems.push(`skuPattern.match ${quote(value.match)} must have exactly one capture group, has ${groups}`);
}

function checkUnits(value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    problems.push(`units must be an object of { unit, factor }, got ${describe(value)}`);
    return;
  }
  for (const [code, conversion] of Object.entries(value)) {
    if (!isRecord(conversion)) {
      problems.push(`units.${code} must be { unit, factor }, got ${describe(conversion)}`);
      continue;
    }
    checkKnownKeys(conversion, ['unit', 'factor'], `units.${code}`, problems);
    if (!isNonBlankString(conversion.unit)) problems.push(`units.${code}.unit must be a non-empty string, got ${describe(conversion.unit)}`);
    const { factor } = conversion;
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) {
      problems.push(`units.${code}.factor must be a positive number, got ${describe(factor)}`);
    }
  }
}

function isNonBlankString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
