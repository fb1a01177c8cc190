import { randomUUID } from 'node:crypto';
import { ORDER_CONFIRMATION_TYPES, warehouseEventApplied } from '../../../platform/contracts/events.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { databaseMessageOf, isDataRefusal } from '../../../platform/database/postgresErrors.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { requestFingerprint } from '../../../platform/lang/requestFingerprint.ts';
import { outboxInsert, outboxRecord, type OutboxRecord } from '../../../platform/events/outbox.ts';
import { INVENTORY_PRODUCER } from '../data/inventoryOutbox.ts';
import { StockLedger, type StockChange } from '../data/stockLedger.ts';
import type { LedgerEffect } from '../domain/applyBucketEffects.ts';
import { bucketEffectsOf, isErpTransaction, serialMovementOf, subinventoriesOf, transactionSerialsOf, type SerialMovement } from '../domain/events/bucketEffects.ts';
import type { CanonicalInventoryEvent, ItemEvent, LocationSnapshot } from '../domain/events/canonicalEvent.ts';
import { mapWarehouseEvent, type SourceMapping } from '../domain/events/sourceMapping.ts';
import { HeldOrderAllocations } from './heldOrderAllocations.ts';

export interface IngestOptions {
  /** The dead letter this batch replays (see ingest). */
  readonly replaying?: string;
  /** The text the source sent for the event at an index of the batch, kept with it if it is dead-lettered. */
  readonly sourceTextOf?: (index: number) => string | undefined;
}

/** What became of one event of a batch. */
export type EventOutcome =
  | { readonly status: 'APPLIED' | 'DUPLICATE' | 'SUPERSEDED'; readonly eventId: string }
  | { readonly status: 'DEAD_LETTERED'; readonly eventId: string | null; readonly code: string; readonly reason: string; readonly deadLetterId: string };

export class UnknownSourceError extends Error {
  constructor(readonly source: string) {
    super(`No mapping is configured for source "${source}"`);
    this.name = 'UnknownSourceError';
  }
}

export class DeadLetterNotReplayableError extends Error {
  constructor(readonly reason: 'NOT_FOUND' | 'ALREADY_REPLAYED', message: string) {
    super(message);
    this.name = 'DeadLetterNotReplayableError';
  }
}

interface Rejection {
  readonly code: string;
  readonly reason: string;
}

interface Catalogue {
  readonly items: ReadonlyMap<string, { unitOfMeasure: string; lotControlled: boolean }>;
  /** Whether it is nettable, by `${locationId}\0${code}`, for every subinventory of the locations concerned. */
  readonly subinventories: ReadonlyMap<string, boolean>;
}

/**
 * Turns warehouse events, in each source's own format, into stock changes: maps them to the
 * canonical event, checks them against the catalogue, applies each exactly once (by source and
 * event id) and in source-sequence order per item x location, and keeps every event that cannot
 * be applied in the dead-letter store with its reason and raw payload. All-or-nothing per event.
 * Each applied event that concerns an order (a pick, pack, ship, delivery or return naming the
 * order's reference) is published, in the same transaction, as `inventory.warehouseEvent.applied`;
 * each applied movement the ERP records as a transaction (see isErpTransaction), as
 * `inventory.transaction.recorded` (a snapshot as one cycle count per item it changed).
 * A pick or ship that names an order whose stock is HELD counts toward the order's allocation of
 * its SKU at its location (see HeldOrderAllocations): a pick allocates only what the allocation
 * no longer covers.
 */
export class WarehouseEventIngestion {
  private readonly mappings: ReadonlyMap<string, SourceMapping>;

  constructor(
    private readonly prisma: PrismaClient,
    mappings: readonly SourceMapping[],
    /** Hears of each batch's outcomes once its transaction committed (over HTTP, from a stream, or replayed). */
    private readonly onIngested: (source: string, outcomes: readonly EventOutcome[]) => void = () => {},
  ) {
    this.mappings = new Map(mappings.map((mapping) => [mapping.source, mapping]));
  }

  hasSource(source: string): boolean {
    return this.mappings.has(source);
  }

  /** The sources that have a mapping. */
  sources(): string[] {
    return [...this.mappings.keys()];
  }

  /**
   * Ingests one batch from `source`; throws UnknownSourceError when it has no mapping. A
   * dead-lettered event keeps the text `sourceTextOf` gives for it, exactly as it was sent.
   * `replaying` names the dead letter the batch replays: it is marked replayed in the batch's
   * transaction, so that it stays replayable unless the batch commits, and is replayed once
   * however many replays race (DeadLetterNotReplayableError for the others).
   */
  async ingest(source: string, rawEvents: readonly unknown[], options: IngestOptions = {}): Promise<EventOutcome[]> {
    const mapping = this.mappings.get(source);
    if (!mapping) throw new UnknownSourceError(source);
    const outcomes = await this.ingestOrDeadLetter(mapping, rawEvents, options);
    this.onIngested(source, outcomes);
    return outcomes;
  }

  private async ingestOrDeadLetter(mapping: SourceMapping, rawEvents: readonly unknown[], options: IngestOptions): Promise<EventOutcome[]> {
    try {
      return await this.ingestBatch(mapping, rawEvents, options);
    } catch (error) {
      if (!isRefusalOfTheEvents(error)) throw error;
      // One event that the checks let by and the database refuses (or our code cannot take)
      // fails its whole batch's transaction: each is applied alone then, so that only it is
      // dead-lettered and the events behind it go on.
      if (rawEvents.length > 1) {
        const outcomes: EventOutcome[] = [];
        for (const [index, raw] of rawEvents.entries()) {
          outcomes.push(...(await this.ingestOrDeadLetter(mapping, [raw], { sourceTextOf: () => options.sourceTextOf?.(index) })));
        }
        return outcomes;
      }
      return [await this.deadLetterAlone(mapping, rawEvents[0], error, options)];
    }
  }

  private async ingestBatch(mapping: SourceMapping, rawEvents: readonly unknown[], { replaying, sourceTextOf }: IngestOptions): Promise<EventOutcome[]> {
    const { source } = mapping;
    const mapped = rawEvents.map((raw) => mapWarehouseEvent(raw, mapping));
    const events = mapped.flatMap((result) => (result.ok ? [result.event] : []));
    const catalogue = await this.catalogue(events);

    return this.prisma.$transaction(async (tx) => {
      if (replaying !== undefined) await claimReplay(tx, replaying);
      const outcomes: (EventOutcome | null)[] = new Array(rawEvents.length).fill(null);
      const deadLetters: { index: number; eventId: string | null; code: string; reason: string }[] = [];
      const candidates: { index: number; event: CanonicalInventoryEvent; fingerprint: string }[] = [];
      /** The fingerprint of each event id's first event in the batch. */
      const seenInBatch = new Map<string, string>();
      mapped.forEach((result, index) => {
        if (!result.ok) return deadLetters.push({ index, eventId: eventIdOf(rawEvents[index], mapping), code: result.code, reason: result.reason });
        const rejection = checkAgainstCatalogue(result.event, catalogue);
        if (rejection) return deadLetters.push({ index, eventId: result.event.eventId, ...rejection });
        const { eventId } = result.event;
        const fingerprint = requestFingerprint(result.event);
        const earlier = seenInBatch.get(eventId);
        if (earlier === fingerprint) return (outcomes[index] = { status: 'DUPLICATE', eventId });
        if (earlier !== undefined) return deadLetters.push({ index, eventId, code: CONFLICTING_DUPLICATE, reason: `event id ${eventId} comes earlier in this batch with other contents` });
        seenInBatch.set(eventId, fingerprint);
        candidates.push({ index, event: result.event, fingerprint });
      });

      // Claiming the event ids first makes a concurrent delivery of the same event wait on
      // the primary key and then see it as a duplicate.
      const claimed = new Set(
        (
          await tx.$queryRaw<{ eventId: string }[]>`
            INSERT INTO inventory_event (source, event_id, sequence, type, location_id, sku, occurred_at, on_hand_changes, fingerprint, outcome)
            SELECT ${source}, v.*, 'APPLIED'
              FROM ${recordset(
                candidates.map(({ event, fingerprint }) => ({
                  event_id: event.eventId, sequence: event.sequence, type: typeOf(event), location_id: event.locationId,
                  sku: event.kind === 'item' ? event.sku : null, occurred_at: event.occurredAt, on_hand_changes: onHandChangesOf(event), fingerprint,
                })),
                'v',
                { event_id: 'text', sequence: 'bigint', type: 'text', location_id: 'text', sku: 'text', occurred_at: 'timestamptz', on_hand_changes: 'jsonb', fingerprint: 'text' },
              )}
            ON CONFLICT DO NOTHING
            RETURNING event_id AS "eventId"`
        ).map((row) => row.eventId),
      );
      const appliedBefore = await fingerprintsOf(tx, source, candidates.flatMap(({ event }) => (claimed.has(event.eventId) ? [] : [event.eventId])));
      const fresh = candidates.filter(({ index, event: { eventId }, fingerprint }) => {
        if (claimed.has(eventId)) return true;
        const earlier = appliedBefore.get(eventId);
        // Events applied before fingerprints were kept have none: taken as the same.
        if (earlier === undefined || earlier === null || earlier === fingerprint) outcomes[index] = { status: 'DUPLICATE', eventId };
        else deadLetters.push({ index, eventId, code: CONFLICTING_DUPLICATE, reason: `event id ${eventId} was applied before with other contents; this one is not applied` });
        return false;
      });

      // Source-sequence order, so that a late event is judged by its sequence, not its arrival.
      fresh.sort((a, b) => a.event.sequence - b.event.sequence);
      const snapshotPositions = await currentPositionsOf(tx, fresh.flatMap(({ event }) => (event.kind === 'snapshot' ? [event.locationId] : [])));
      const plans = fresh.map(({ index, event }) => ({ index, event, changes: changesOf(event, snapshotPositions) }));
      const changes = plans.flatMap((plan) => plan.changes);
      const ledger = await StockLedger.open(tx, changes);
      // Read under the levels' locks, so that no newer movement of theirs, nor change of their orders' allocations, commits unseen.
      const later = await laterMovements(tx, source, changes, fresh.map(({ event }) => event.eventId));
      const heldOrders = await HeldOrderAllocations.read(tx, fresh.flatMap(({ event }) => (event.kind === 'item' ? [event] : [])));
      const superseded: string[] = [];
      const unclaimed: string[] = [];
      for (const { index, event, changes } of plans) {
        const movement = event.kind === 'item' ? heldOrders.movementOf(event, changes) : null;
        // A pick its order's allocation holds already moves no stock: what is left of it is its transaction.
        const eventChanges = !movement ? changes : movement.changes.length > 0 ? movement.changes : changes.map((change) => ({ ...change, effects: [] }));
        // All of an event's changes (a snapshot's, one per SKU) or none.
        const result = ledger.applyAll(eventChanges.map((change) => withLaterMovements(change, later)));
        if (!result.ok) {
          unclaimed.push(event.eventId);
          deadLetters.push({ index, eventId: event.eventId, code: result.refused.code, reason: result.refused.reason });
          continue;
        }
        movement?.record();
        if (result.outcomes.length > 0 && result.outcomes.every((outcome) => outcome.status === 'SUPERSEDED')) {
          superseded.push(event.eventId);
          outcomes[index] = { status: 'SUPERSEDED', eventId: event.eventId };
        } else {
          outcomes[index] = { status: 'APPLIED', eventId: event.eventId };
        }
      }
      const confirmations = plans.flatMap(({ index, event }) => {
        const status = outcomes[index]?.status;
        // A superseded event's stock is in a newer count already; what it tells of the order still holds.
        return (status === 'APPLIED' || status === 'SUPERSEDED') && event.kind === 'item' ? orderConfirmations(event, catalogue) : [];
      });
      const progress = heldOrders.progressUpdate();
      await ledger.write([...(confirmations.length ? [outboxInsert(INVENTORY_PRODUCER, confirmations, new Date())] : []), ...(progress ? [progress] : [])]);
      await recordSerialMovements(tx, plans.flatMap(({ index, event }) => (outcomes[index]?.status === 'APPLIED' && event.kind === 'item' ? [event] : [])));
      if (unclaimed.length) await tx.$executeRaw`DELETE FROM inventory_event WHERE source = ${source} AND event_id = ANY(${unclaimed}::text[])`;
      if (superseded.length) await tx.$executeRaw`UPDATE inventory_event SET outcome = 'SUPERSEDED' WHERE source = ${source} AND event_id = ANY(${superseded}::text[])`;
      const letters = await insertDeadLetters(tx, source, deadLetters.map((letter) => ({ ...letter, payload: rawEvents[letter.index], sourceText: sourceTextOf?.(letter.index) })));
      deadLetters.forEach((letter, i) => (outcomes[letter.index] = letters[i]!));
      return outcomes as EventOutcome[];
    });
  }

  /** Keeps an event whose application failed (see ingest) as a dead letter, APPLY_FAILED with the failure. */
  private async deadLetterAlone(mapping: SourceMapping, raw: unknown, error: unknown, { replaying, sourceTextOf }: IngestOptions): Promise<EventOutcome> {
    const mapped = mapWarehouseEvent(raw, mapping);
    const eventId = mapped.ok ? mapped.event.eventId : eventIdOf(raw, mapping);
    const reason = `it could not be applied: ${databaseMessageOf(error) ?? (error as Error).message}`;
    return this.prisma.$transaction(async (tx) => {
      if (replaying !== undefined) await claimReplay(tx, replaying);
      const [letter] = await insertDeadLetters(tx, mapping.source, [{ eventId, code: APPLY_FAILED, reason, payload: raw, sourceText: sourceTextOf?.(0) }]);
      return letter!;
    });
  }

  /**
   * Ingests a dead letter's raw payload again and, in the same transaction, marks the dead letter
   * replayed, whatever the event's outcome (dead-lettered again, say). If the replay throws (its
   * source no longer mapped, the database gone), the letter stays to be replayed again. Throws
   * DeadLetterNotReplayableError when it does not exist or was replayed.
   */
  async replay(deadLetterId: string): Promise<EventOutcome> {
    const letter = await this.prisma.deadLetter.findUnique({ where: { id: deadLetterId } });
    if (!letter) throw new DeadLetterNotReplayableError('NOT_FOUND', `No dead letter ${deadLetterId}`);
    if (letter.replayedAt) throw new DeadLetterNotReplayableError('ALREADY_REPLAYED', `Dead letter ${deadLetterId} was already replayed`);
    const [outcome] = await this.ingest(letter.source, [letter.payload], { replaying: deadLetterId });
    return outcome!;
  }

  private async catalogue(events: readonly CanonicalInventoryEvent[]): Promise<Catalogue> {
    const skus = [...new Set(events.flatMap((event) => (event.kind === 'item' ? [event.sku] : event.lines.map((line) => line.sku))))];
    const locationIds = [...new Set(events.map((event) => event.locationId))];
    const [items, subinventories] = await Promise.all([
      this.prisma.item.findMany({ where: { sku: { in: skus } }, select: { sku: true, unitOfMeasure: true, lotControlled: true } }),
      this.prisma.subinventory.findMany({ where: { locationId: { in: locationIds } }, select: { locationId: true, code: true, nettable: true } }),
    ]);
    return {
      items: new Map(items.map((item) => [item.sku, item])),
      subinventories: new Map(subinventories.map((s) => [`${s.locationId}\u0000${s.code}`, s.nettable])),
    };
  }
}

/** The dead-letter code of an event whose id was applied, or comes earlier in its batch, with other contents: a source reusing ids, or a changed mapping. */
export const CONFLICTING_DUPLICATE = 'CONFLICTING_DUPLICATE';

/** The fingerprint each of `eventIds` of `source` was applied with (null for events applied before fingerprints were kept). */
async function fingerprintsOf(tx: Prisma.TransactionClient, source: string, eventIds: readonly string[]): Promise<ReadonlyMap<string, string | null>> {
  if (eventIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<{ eventId: string; fingerprint: string | null }[]>`
    SELECT event_id AS "eventId", fingerprint FROM inventory_event WHERE source = ${source} AND event_id = ANY(${eventIds}::text[])`;
  return new Map(rows.map((row) => [row.eventId, row.fingerprint]));
}

/** The dead-letter code of an event that passed every check and still failed to apply. */
export const APPLY_FAILED = 'APPLY_FAILED';

/**
 * Whether ingesting a batch failed because of what its events hold, which trying again cannot
 * mend: the database refused their data, or our own code threw on them. Anything else (the
 * database unreachable, a deadlock) fails the batch for the caller to retry.
 */
function isRefusalOfTheEvents(error: unknown): boolean {
  return isDataRefusal(error) || error instanceof TypeError || error instanceof RangeError;
}

/** Marks a dead letter replayed, in the replay's transaction; another replay of it that committed first makes this one fail. */
async function claimReplay(tx: Prisma.TransactionClient, deadLetterId: string): Promise<void> {
  const claimed = await tx.$executeRaw`UPDATE dead_letter SET replayed_at = now() WHERE id = ${deadLetterId} AND replayed_at IS NULL`;
  if (claimed === 0) throw new DeadLetterNotReplayableError('ALREADY_REPLAYED', `Dead letter ${deadLetterId} was already replayed`);
}

async function insertDeadLetters(
  tx: Prisma.TransactionClient,
  source: string,
  letters: readonly { eventId: string | null; code: string; reason: string; payload: unknown; sourceText?: string | undefined }[],
): Promise<Extract<EventOutcome, { status: 'DEAD_LETTERED' }>[]> {
  if (letters.length === 0) return [];
  const ids = letters.map(() => `DL-${randomUUID()}`);
  await tx.$executeRaw`
    INSERT INTO dead_letter (id, source, event_id, code, reason, payload, raw_payload)
    SELECT id, ${source}, event_id, code, reason, payload, raw_payload FROM unnest(
      ${ids}::text[], ${letters.map((d) => d.eventId && withoutNul(d.eventId))}::text[], ${letters.map((d) => d.code)}::text[],
      ${letters.map((d) => withoutNul(d.reason))}::text[], ${letters.map((d) => jsonWithoutNul(JSON.stringify(d.payload ?? null)))}::jsonb[],
      ${letters.map((d) => (d.sourceText === undefined || d.sourceText.includes('\u0000') ? null : d.sourceText))}::text[])
      AS dl(id, event_id, code, reason, payload, raw_payload)`;
  return letters.map(({ eventId, code, reason }, i) => ({ status: 'DEAD_LETTERED', eventId, code, reason, deadLetterId: ids[i]! }));
}

// PostgreSQL's text and jsonb cannot hold the NUL character: a dead letter keeps each one as the
// six characters \u0000, so that the letter, and the events behind it, can still be stored.
const withoutNul = (text: string) => text.replaceAll('\u0000', '\\u0000');
/** In JSON text, the escape of NUL (not preceded by an escaped backslash) written as the text `\u0000`. */
const jsonWithoutNul = (json: string) => json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\\\u0000');

/** Keeps the serial registry in step with applied movements that name serial numbers; the last movement of a serial wins. */
async function recordSerialMovements(tx: Prisma.TransactionClient, events: readonly ItemEvent[]): Promise<void> {
  const lastMovement = new Map<string, { sku: string; serial: string; event: ItemEvent; movement: SerialMovement }>();
  for (const event of events) {
    const movement = serialMovementOf(event);
    if (movement) for (const serial of event.serials) lastMovement.set(`${event.sku}\u0000${serial}`, { sku: event.sku, serial, event, movement });
  }
  const arriving = [...lastMovement.values()].flatMap((m) => (m.movement.kind === 'arrive' ? [{ ...m, subinventory: m.movement.subinventory }] : []));
  const leaving = [...lastMovement.values()].filter((m) => m.movement.kind === 'leave');
  if (arriving.length) {
    await tx.$executeRaw`
      INSERT INTO serial_number AS s (sku, serial, location_id, subinventory, lot, status)
      SELECT *, 'IN_STOCK'::"SerialStatus" FROM unnest(
        ${arriving.map((a) => a.event.sku)}::text[], ${arriving.map((a) => a.serial)}::text[], ${arriving.map((a) => a.event.locationId)}::text[],
        ${arriving.map((a) => a.subinventory)}::text[], ${arriving.map((a) => a.event.lot)}::text[])
      ON CONFLICT (sku, serial) DO UPDATE SET location_id = EXCLUDED.location_id, subinventory = EXCLUDED.subinventory,
        lot = EXCLUDED.lot, status = 'IN_STOCK', updated_at = now()`;
  }
  if (leaving.length) {
    await tx.$executeRaw`
      DELETE FROM serial_number WHERE (sku, serial) IN (SELECT * FROM unnest(${leaving.map((l) => l.sku)}::text[], ${leaving.map((l) => l.serial)}::text[]))`;
  }
}

/** What a movement does to the WMS on hand of its positions, as recorded with it; null for a count, or when it leaves on hand alone. */
function onHandChangesOf(event: CanonicalInventoryEvent): { subinventory: string; lot: string; change: number }[] | null {
  if (event.kind !== 'item') return null;
  const changes = bucketEffectsOf(event)
    .filter((effect) => effect.bucket === 'onHandWms' && effect.op === 'add')
    .map(({ subinventory, lot, quantity }) => ({ subinventory, lot, change: quantity }));
  return changes.length > 0 ? changes : null;
}

const laterKey = (sku: string, locationId: string, sequence: number | bigint, subinventory: string, lot: string) =>
  `${sku}\u0000${locationId}\u0000${sequence}\u0000${subinventory}\u0000${lot}`;

/**
 * For each count among `changes`, what the source's movements newer than it, applied before it
 * arrived, did to the WMS on hand of each position (by laterKey). The batch's own events
 * (`batchEventIds`) are left out: they apply after it, in sequence order.
 */
async function laterMovements(tx: Prisma.TransactionClient, source: string, changes: readonly StockChange[], batchEventIds: readonly string[]): Promise<ReadonlyMap<string, number>> {
  const counts = changes.flatMap((change) => (change.order?.counts ? [{ sku: change.sku, location_id: change.locationId, sequence: change.order.sequence }] : []));
  if (counts.length === 0) return new Map();
  const rows = await tx.$queryRaw<{ sku: string; locationId: string; sequence: bigint; subinventory: string; lot: string; change: number }[]>`
    SELECT counted.sku, counted.location_id AS "locationId", counted.sequence, moved.subinventory, moved.lot, sum(moved.change)::int AS change
      FROM ${recordset(counts, 'counted', { sku: 'text', location_id: 'text', sequence: 'bigint' })}
      JOIN inventory_event newer
        ON newer.sku = counted.sku AND newer.location_id = counted.location_id AND newer.source = ${source}
       AND newer.sequence > counted.sequence AND newer.outcome = 'APPLIED' AND newer.event_id <> ALL(${batchEventIds}::text[])
     CROSS JOIN jsonb_to_recordset(newer.on_hand_changes) AS moved(subinventory text, lot text, change int)
     GROUP BY 1, 2, 3, 4, 5`;
  return new Map(rows.map((row) => [laterKey(row.sku, row.locationId, row.sequence, row.subinventory, row.lot), row.change]));
}

/** A count with the newer movements of each position it counts added to what it counted; any other change as it is. */
function withLaterMovements(change: StockChange, later: ReadonlyMap<string, number>): StockChange {
  const { order } = change;
  if (!order?.counts || later.size === 0) return change;
  return {
    ...change,
    effects: change.effects.map((effect) => {
      const moved = effect.op === 'set' && effect.bucket === 'onHandWms' ? later.get(laterKey(change.sku, change.locationId, order.sequence, effect.subinventory, effect.lot)) : undefined;
      return moved === undefined ? effect : { ...effect, quantity: effect.quantity + moved };
    }),
  };
}

function typeOf(event: CanonicalInventoryEvent): string {
  return event.kind === 'item' ? event.type : 'LOCATION_SNAPSHOT';
}

function eventIdOf(raw: unknown, mapping: SourceMapping): string | null {
  let value: unknown = raw;
  for (const part of mapping.fields.eventId.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

function checkAgainstCatalogue(event: CanonicalInventoryEvent, catalogue: Catalogue): Rejection | null {
  const lines = event.kind === 'item'
    ? subinventoriesOf(event).map((subinventory) => ({ sku: event.sku, subinventory, lot: event.lot, unitOfMeasure: event.unitOfMeasure }))
    : event.lines;
  const locationKnown = [...catalogue.subinventories.keys()].some((key) => key.startsWith(`${event.locationId}\u0000`));
  if (!locationKnown) return { code: 'UNKNOWN_LOCATION', reason: `location ${event.locationId} does not exist` };
  for (const line of lines) {
    const item = catalogue.items.get(line.sku);
    if (!item) return { code: 'UNKNOWN_SKU', reason: `SKU ${line.sku} does not exist` };
    if (!catalogue.subinventories.has(`${event.locationId}\u0000${line.subinventory}`)) {
      return { code: 'UNKNOWN_SUBINVENTORY', reason: `subinventory ${line.subinventory} does not exist at ${event.locationId}` };
    }
    if (line.unitOfMeasure !== item.unitOfMeasure) {
      return { code: 'UNIT_MISMATCH', reason: `${line.sku} is counted in ${item.unitOfMeasure}, the event says ${line.unitOfMeasure}` };
    }
    if (item.lotControlled && !line.lot) return { code: 'LOT_REQUIRED', reason: `${line.sku} is lot-controlled: the event must name a lot` };
    if (!item.lotControlled && line.lot) return { code: 'LOT_NOT_ALLOWED', reason: `${line.sku} is not lot-controlled, yet the event names lot ${line.lot}` };
  }
  return null;
}

type PositionsByLocation = ReadonlyMap<string, readonly { sku: string; subinventory: string; lot: string }[]>;

/** The non-empty WMS positions of each location, which a snapshot that omits them sets to zero. */
async function currentPositionsOf(tx: Prisma.TransactionClient, locationIds: string[]): Promise<PositionsByLocation> {
  if (locationIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<{ locationId: string; sku: string; subinventory: string; lot: string }[]>`
    SELECT location_id AS "locationId", sku, subinventory, lot FROM stock_position
     WHERE location_id = ANY(${[...new Set(locationIds)]}::text[]) AND on_hand_wms <> 0`;
  const byLocation = new Map<string, { sku: string; subinventory: string; lot: string }[]>();
  for (const { locationId, ...position } of rows) {
    if (!byLocation.has(locationId)) byLocation.set(locationId, []);
    byLocation.get(locationId)!.push(position);
  }
  return byLocation;
}

function changesOf(event: CanonicalInventoryEvent, positions: PositionsByLocation): StockChange[] {
  return event.kind === 'item' ? itemChanges(event) : snapshotChanges(event, positions.get(event.locationId) ?? []);
}

const isOrderConfirmation = (type: ItemEvent['type']): type is (typeof ORDER_CONFIRMATION_TYPES)[number] =>
  (ORDER_CONFIRMATION_TYPES as readonly string[]).includes(type);

/** The event as its order hears of it: an `inventory.warehouseEvent.applied` record, when it names an order and moves one. */
function orderConfirmations(event: ItemEvent, catalogue: Catalogue): OutboxRecord[] {
  const { type, orderReference } = event;
  if (orderReference === null || !isOrderConfirmation(type)) return [];
  return [outboxRecord(warehouseEventApplied, {
    source: event.source,
    eventId: event.eventId,
    sourceSequence: event.sequence,
    type,
    orderReference,
    sku: event.sku,
    locationId: event.locationId,
    subinventory: event.subinventory,
    // The catalogue check let the event through, so its subinventory exists at the location.
    subinventoryNettable: catalogue.subinventories.get(`${event.locationId}\u0000${event.subinventory}`)!,
    fromSubinventory: event.fromSubinventory,
    lot: event.lot,
    serials: [...event.serials],
    quantity: event.quantity,
    occurredAt: event.occurredAt.toISOString(),
    appliedAt: new Date().toISOString(),
  })];
}

/** An event's stock change; none for a movement that changes no stock (a pack, a delivery). */
function itemChanges(event: ItemEvent): StockChange[] {
  const effects = bucketEffectsOf(event);
  return effects.length === 0 ? [] : [itemChange(event, effects)];
}

function itemChange(event: ItemEvent, effects: StockChange['effects']): StockChange {
  const cause = { type: 'WAREHOUSE_EVENT', id: `${event.source}:${event.eventId}`, eventId: event.eventId } as const;
  return {
    sku: event.sku,
    locationId: event.locationId,
    cause,
    source: event.source,
    effects,
    order: event.type === 'CYCLE_COUNT' ? { sequence: event.sequence, counts: 'positions' } : { sequence: event.sequence },
    transaction: isErpTransaction(event.type)
      ? {
        kind: event.type,
        transactionId: `${cause.type}:${cause.id}`,
        // Unsigned: an adjustment's direction is in what it changed.
        quantity: Math.abs(event.quantity),
        subinventory: event.subinventory,
        serials: transactionSerialsOf(event),
        occurredAt: event.occurredAt,
      }
      : undefined,
  };
}

/** A snapshot sets every listed position and zeroes every other WMS position of the location. */
function snapshotChanges(snapshot: LocationSnapshot, current: readonly { sku: string; subinventory: string; lot: string }[]): StockChange[] {
  const effectsBySku = new Map<string, Map<string, LedgerEffect>>();
  const set = (sku: string, subinventory: string, lot: string, quantity: number) => {
    if (!effectsBySku.has(sku)) effectsBySku.set(sku, new Map());
    effectsBySku.get(sku)!.set(`${subinventory}\u0000${lot}`, { subinventory, lot, bucket: 'onHandWms', op: 'set', quantity });
  };
  for (const position of current) set(position.sku, position.subinventory, position.lot, 0);
  const counted = new Map<string, number>();
  for (const line of snapshot.lines) {
    set(line.sku, line.subinventory, line.lot, line.quantity);
    counted.set(line.sku, (counted.get(line.sku) ?? 0) + line.quantity);
  }
  const cause = { type: 'WAREHOUSE_EVENT', id: `${snapshot.source}:${snapshot.eventId}`, eventId: snapshot.eventId } as const;
  return [...effectsBySku].map(([sku, effects]) => ({
    sku,
    locationId: snapshot.locationId,
    cause,
    source: snapshot.source,
    effects: [...effects.values()],
    order: { sequence: snapshot.sequence, counts: 'level' },
    transaction: { kind: 'CYCLE_COUNT', transactionId: `${cause.type}:${cause.id}/${sku}`, quantity: counted.get(sku) ?? 0, occurredAt: snapshot.occurredAt },
  }));
}
