import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { syncTransactionFailed } from '../../platform/contracts/events.ts';
import { outboxRecord, writeOutbox } from '../../platform/events/outbox.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { RECONCILIATION_PRODUCER } from '../../subgraphs/reconciliation/reconciliationModule.ts';
import type { GraphQLResponse } from '../support/graphql.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { signedIdentity } from '../support/trustedCaller.ts';
import { codeOf, givenPositions, givenSyncTransactions, reconciliationApi, startReconciliation, type RunView } from './reconciliationFixtures.ts';

// A partner granted DC-01 alone, calling the reconciliation subgraph as the gateway calls it for
// such a client, against cases, sync transactions, events and runs at DC-01 and DC-02 (and, for an
// item's lists, at a hundred other locations): it sees and changes DC-01's only, through every
// Query and Mutation root field and the entity fields.

const OWN = 'DC-01';
const OTHER = 'DC-02';
const PARTNER = { caller: 'partner', locations: [OWN] };
const EXTRA_LOCATIONS = Array.from({ length: 100 }, (_, n) => `EXTRA-${String(n + 1).padStart(3, '0')}`);

// Variances by tier (defaults: under 5 AUTO_CORRECT, over 50 ALERT, REVIEW between).
const ALERTED = 'SKU-ALERTED'; // an alert and a hold at each location
const REVIEWED = 'SKU-REVIEWED'; // a review task at each
const REJECTED = 'SKU-REJECTED'; // another
const CORRECTED = 'SKU-CORRECTED'; // auto-corrected at DC-01 first, then at DC-02 and a hundred other locations
const LATE = 'SKU-LATE'; // at DC-01, raised by a run over every location
const SYNCED = 'SKU-SYNC'; // sync transactions only

/** The lists a partner pages through, with the type of their filter (none for runs). */
const LISTS = {
  syncTransactions: 'SyncTransactionFilter',
  discrepancies: 'DiscrepancyFilter',
  reviewTasks: 'ReviewTaskFilter',
  alerts: 'AlertFilter',
  holds: 'HoldFilter',
} as const;
type ListField = keyof typeof LISTS;
interface Located { id: string; stockLevel: { sku: string; locationId: string } }

describe('partner isolation in the reconciliation subgraph: a caller granted DC-01 alone, against data at DC-01 and DC-02', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('reconciliation-isolation');
  let service: RunningService;
  let operator: ReturnType<typeof reconciliationApi>;
  /** The partner's API, its identity signed afresh (a signed identity is honoured for 60 seconds). */
  const partner = () => reconciliationApi(service.url, PARTNER.caller, signedIdentity(PARTNER));
  const asPartner = (query: string, variables: Record<string, unknown> = {}) => partner().call(query, variables);
  const asOperator = (query: string, variables: Record<string, unknown> = {}) => operator.call(query, variables);
  const runs: Record<'own' | 'everywhere' | 'both' | 'other', RunView> = {} as never;

  /** Ids of `table`'s rows at `locationId`, optionally of one SKU. */
  const idsAt = async (table: string, locationId: string, sku?: string) =>
    (await database.db.query<{ id: string }>(`SELECT id FROM ${table} WHERE location_id = $1 AND ($2::text IS NULL OR sku = $2) ORDER BY id`, [locationId, sku ?? null])).map((row) => row.id);
  const oneAt = async (table: string, locationId: string, sku: string) => {
    const [id] = await idsAt(table, locationId, sku);
    assert.ok(id, `a row of ${table} for ${sku} at ${locationId}`);
    return id;
  };
  /** The outbox record of an event of `type` at `locationId`: what a subscription delivers by id. */
  const eventAt = async (type: string, locationId: string) =>
    (await database.db.query<{ id: string }>(`SELECT id::text FROM event_outbox WHERE type = $1 AND payload->>'locationId' = $2 ORDER BY id LIMIT 1`, [type, locationId]))[0]!.id;
  /** Everything a refused action could have changed. */
  const everything = () =>
    database.db.query(`SELECT (SELECT json_agg(t ORDER BY id) FROM review_task t) AS tasks, (SELECT json_agg(a ORDER BY id) FROM alert a) AS alerts,
                              (SELECT json_agg(h ORDER BY id) FROM reconciliation_hold h) AS holds, (SELECT json_agg(d ORDER BY id) FROM discrepancy d) AS discrepancies,
                              (SELECT json_agg(s ORDER BY id) FROM sync_transaction s) AS transactions, (SELECT json_agg(r ORDER BY id) FROM reconciliation_run r) AS runs,
                              (SELECT count(*) FROM reconciliation_audit) AS audit, (SELECT count(*) FROM event_outbox) AS events`);

  before(async () => {
    database = await createTestDatabase();
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    service = await startReconciliation(infrastructure);
    operator = reconciliationApi(service.url, 'operator');

    // Given the same variances at both locations, reconciled at DC-01 by the partner itself
    await givenPositions(database.db, [OWN, OTHER].flatMap((locationId) => [
      { sku: ALERTED, locationId, wms: 100, erp: 20 },
      { sku: REVIEWED, locationId, wms: 100, erp: 80 },
      { sku: REJECTED, locationId, wms: 100, erp: 80 },
      { sku: CORRECTED, locationId, wms: 102, erp: 100 },
    ]));
    await givenPositions(database.db, EXTRA_LOCATIONS.map((locationId) => ({ sku: CORRECTED, locationId, wms: 102, erp: 100 })));
    runs.own = await partner().reconcile([OWN]);
    // And later, by the operator: a run over every location (which raises DC-01's LATE variance), one over both, one over DC-02
    await givenPositions(database.db, [{ sku: LATE, locationId: OWN, wms: 100, erp: 80 }]);
    runs.everywhere = await operator.reconcile([]);
    runs.both = await operator.reconcile([OWN, OTHER]);
    runs.other = await operator.reconcile([OTHER]);
    // And sync transactions at both, DC-02's the newer, and a syncFailed event of each location's failed one
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    await givenSyncTransactions(database.db, [
      { id: 'SYNC-OWN-FAILED', sku: SYNCED, locationId: OWN, quantity: 1, status: 'SYNC_FAILED', createdAt: minutesAgo(10) },
      { id: 'SYNC-OWN-SYNCED', sku: SYNCED, locationId: OWN, quantity: 2, status: 'SYNCED', createdAt: minutesAgo(9), syncedAt: minutesAgo(8) },
      { id: 'SYNC-OWN-PENDING', sku: SYNCED, locationId: OWN, quantity: 3, createdAt: minutesAgo(7) },
      ...['A', 'B', 'C'].map((n) => ({ id: `SYNC-OTHER-FAILED-${n}`, sku: SYNCED, locationId: OTHER, quantity: 1, status: 'SYNC_FAILED' as const })),
      { id: 'SYNC-OTHER-PENDING', sku: SYNCED, locationId: OTHER, quantity: 4 },
    ]);
    await database.db.prisma.$transaction((tx) => writeOutbox(tx, RECONCILIATION_PRODUCER, [OWN, OTHER].map((locationId) => outboxRecord(syncTransactionFailed, {
      syncTransactionId: locationId === OWN ? 'SYNC-OWN-FAILED' : 'SYNC-OTHER-FAILED-A', transactionId: `T-${locationId}`, kind: 'SHIP', sku: SYNCED, locationId,
      attempts: 1, lastError: 'ERP refused it', failures: 1, failedAt: new Date().toISOString(),
    }))));
  });

  after(async () => {
    await service?.stop();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  /** Every row of `field` the partner is shown, `first` at a time, asserting that each page but the last is full. */
  async function partnerPages(field: ListField | 'reconciliationRuns', filter: Record<string, unknown> | null, first = 2): Promise<string[]> {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const filtered = field === 'reconciliationRuns' ? '' : `filter: $filter, `;
      const declared = field === 'reconciliationRuns' ? '' : `, $filter: ${LISTS[field]}`;
      const answer: GraphQLResponse = await asPartner(`query ($first: Int!, $after: String${declared}) {
        ${field}(${filtered}first: $first, after: $after) { nodes { id } endCursor hasNextPage } }`, { first, after, filter });
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      const page = answer.data[field];
      seen.push(...page.nodes.map((node: { id: string }) => node.id));
      if (!page.hasNextPage) return seen;
      assert.equal(page.nodes.length, first, `${field}: a page before the last is full`);
      after = page.endCursor;
    }
  }

  /** What the operator sees of `field`, newest first, in one page. */
  async function operatorList(field: ListField): Promise<Located[]> {
    const answer = await asOperator(`query ($filter: ${LISTS[field]}) { ${field}(filter: $filter, first: 500) { nodes { id stockLevel { sku locationId } } hasNextPage } }`, { filter: null });
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    assert.equal(answer.data[field].hasNextPage, false);
    return answer.data[field].nodes;
  }

  it("lists DC-01's sync transactions, discrepancies, review tasks, alerts and holds alone, every page full, in the operator's order; runs over DC-01 alone", async () => {
    for (const field of Object.keys(LISTS) as ListField[]) {
      // Given what the operator sees, at both locations
      const all = await operatorList(field);
      const own = all.filter((row) => row.stockLevel.locationId === OWN).map((row) => row.id);
      assert.ok(own.length > 0 && all.some((row) => row.stockLevel.locationId === OTHER), `${field}: the operator sees rows at both locations`);

      // Then the partner pages through DC-01's, each of them, newest first
      assert.deepEqual(await partnerPages(field, null), own, `${field}: DC-01's, every one`);
      assert.deepEqual(await partnerPages(field, { locationId: OWN }, 500), own, `${field}: filtered on DC-01`);
      assert.deepEqual(await partnerPages(field, { locationId: OTHER }, 500), [], `${field}: filtered on DC-02, none`);
    }

    // And of the runs, only the one that compared DC-01 alone: not those over every location, both, or DC-02
    const operatorRuns = (await asOperator('{ reconciliationRuns(first: 500) { nodes { id } } }')).data.reconciliationRuns.nodes.map((run: { id: string }) => run.id);
    assert.deepEqual(operatorRuns, [runs.other.id, runs.both.id, runs.everywhere.id, runs.own.id]);
    assert.deepEqual(await partnerPages('reconciliationRuns', null, 1), [runs.own.id]);
  });

  it("answers DC-02's records, and runs that compared it, as unknown ids: by id, as entities, through links and event lookups", async () => {
    // Given a record of each kind at each location, and an event of each
    const records = async (locationId: string) => ({
      discrepancy: await oneAt('discrepancy', locationId, REVIEWED),
      reviewTask: await oneAt('review_task', locationId, REVIEWED),
      alert: await oneAt('alert', locationId, ALERTED),
      hold: await oneAt('reconciliation_hold', locationId, ALERTED),
      syncTransaction: locationId === OWN ? 'SYNC-OWN-FAILED' : 'SYNC-OTHER-FAILED-A',
      discrepancyEvent: await eventAt('reconciliation.discrepancy.changed', locationId),
      holdEvent: await eventAt('reconciliation.hold.placed', locationId),
      syncFailureEvent: await eventAt(syncTransactionFailed.type, locationId),
    });
    const [own, other] = [await records(OWN), await records(OTHER)];
    const BY_ID = `query ($d: ID!, $t: ID!, $a: ID!, $h: ID!, $s: ID!, $de: [ID!]!, $he: [ID!]!, $se: [ID!]!, $entities: [_Any!]!) {
      discrepancy(id: $d) { id } reviewTask(id: $t) { id } alert(id: $a) { id } hold(id: $h) { id } syncTransaction(id: $s) { id }
      discrepancyEvents(ids: $de) { id discrepancy { id } } holdEvents(ids: $he) { id hold { id } } syncFailureEvents(ids: $se) { id syncTransaction { id } }
      entities: _entities(representations: $entities) {
        ... on Discrepancy { id } ... on ReviewTask { id } ... on Alert { id } ... on Hold { id } ... on SyncTransaction { id } } }`;
    const variablesOf = (at: typeof own) => ({
      d: at.discrepancy, t: at.reviewTask, a: at.alert, h: at.hold, s: at.syncTransaction,
      de: [own.discrepancyEvent, other.discrepancyEvent], he: [own.holdEvent, other.holdEvent], se: [own.syncFailureEvent, other.syncFailureEvent],
      entities: [
        { __typename: 'Discrepancy', id: at.discrepancy }, { __typename: 'ReviewTask', id: at.reviewTask }, { __typename: 'Alert', id: at.alert },
        { __typename: 'Hold', id: at.hold }, { __typename: 'SyncTransaction', id: at.syncTransaction },
      ],
    });
    const idsOf = (at: typeof own) => [at.discrepancy, at.reviewTask, at.alert, at.hold, at.syncTransaction].map((id) => ({ id }));

    // When the partner and the operator look up DC-02's, and DC-01's
    const [partnerOther, partnerOwn, operatorOther] = [await asPartner(BY_ID, variablesOf(other)), await asPartner(BY_ID, variablesOf(own)), await asOperator(BY_ID, variablesOf(other))];

    // Then the operator finds DC-02's, the partner none of them: null as for an unknown id, and DC-01's as anyone does
    for (const answer of [partnerOther, partnerOwn, operatorOther]) assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    const roots = (answer: GraphQLResponse) => ['discrepancy', 'reviewTask', 'alert', 'hold', 'syncTransaction'].map((field) => answer.data[field]);
    assert.deepEqual(roots(operatorOther), idsOf(other));
    assert.deepEqual(roots(partnerOther), [null, null, null, null, null]);
    assert.deepEqual(partnerOther.data.entities, [null, null, null, null, null]);
    assert.deepEqual(roots(partnerOwn), idsOf(own));
    assert.deepEqual(partnerOwn.data.entities, idsOf(own));
    // And of each pair of events, DC-01's only (the gateway runs these with a subscriber's locations)
    const events = (answer: GraphQLResponse) => [answer.data.discrepancyEvents, answer.data.holdEvents, answer.data.syncFailureEvents].map((pair) => pair.map((event: { id: string } | null) => event?.id ?? null));
    assert.deepEqual(events(operatorOther), [[own.discrepancyEvent, other.discrepancyEvent], [own.holdEvent, other.holdEvent], [own.syncFailureEvent, other.syncFailureEvent]]);
    assert.deepEqual(events(partnerOther), [[own.discrepancyEvent, null], [own.holdEvent, null], [own.syncFailureEvent, null]]);

    // And a run is shown only when it compared DC-01 alone: by id, and as a discrepancy's run
    const RUNS = `query ($own: ID!, $everywhere: ID!, $both: ID!, $other: ID!, $raisedByOwn: ID!, $raisedEverywhere: ID!) {
      own: reconciliationRun(id: $own) { id } everywhere: reconciliationRun(id: $everywhere) { id } both: reconciliationRun(id: $both) { id }
      other: reconciliationRun(id: $other) { id }
      raisedByOwn: discrepancy(id: $raisedByOwn) { run { id discrepancies(first: 500) { nodes { stockLevel { locationId } } } } }
      raisedEverywhere: discrepancy(id: $raisedEverywhere) { id run { id } } }`;
    const runVariables = {
      own: runs.own.id, everywhere: runs.everywhere.id, both: runs.both.id, other: runs.other.id,
      raisedByOwn: own.discrepancy, raisedEverywhere: await oneAt('discrepancy', OWN, LATE),
    };
    const [partnerRuns, operatorRuns] = [await asPartner(RUNS, runVariables), await asOperator(RUNS, runVariables)];
    assert.equal(partnerRuns.errors, undefined, JSON.stringify(partnerRuns.errors));
    assert.deepEqual(Object.values(operatorRuns.data).slice(0, 4), [{ id: runs.own.id }, { id: runs.everywhere.id }, { id: runs.both.id }, { id: runs.other.id }]);
    assert.deepEqual(operatorRuns.data.raisedEverywhere.run, { id: runs.everywhere.id });
    assert.deepEqual(partnerRuns.data, {
      own: { id: runs.own.id }, everywhere: null, both: null, other: null,
      raisedByOwn: { run: { id: runs.own.id, discrepancies: partnerRuns.data.raisedByOwn.run.discrepancies } },
      raisedEverywhere: { id: runVariables.raisedEverywhere, run: null },
    });
    assert.deepEqual([...new Set(partnerRuns.data.raisedByOwn.run.discrepancies.nodes.map((d: Located) => d.stockLevel.locationId))], [OWN]);
  });

  it('counts the sync backlog over DC-01 alone', async () => {
    const counted = async (locationIds: string[] | null) => (await database.db.query<{ pending: number; synced: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'PENDING_SYNC')::int AS pending, count(*) FILTER (WHERE status = 'SYNCED')::int AS synced,
              count(*) FILTER (WHERE status = 'SYNC_FAILED')::int AS failed
         FROM sync_transaction WHERE $1::text[] IS NULL OR location_id = ANY($1::text[])`, [locationIds]))[0]!;
    const BACKLOG = '{ syncBacklog { pending synced failed } }';
    const [partnerBacklog, operatorBacklog] = [(await asPartner(BACKLOG)).data.syncBacklog, (await asOperator(BACKLOG)).data.syncBacklog];
    assert.deepEqual(operatorBacklog, await counted(null));
    assert.deepEqual(partnerBacklog, await counted([OWN]));
    assert.notDeepEqual(partnerBacklog, operatorBacklog);
  });

  it("reads the reconciliation of DC-01's stock levels alone, and an item's discrepancies and holds at DC-01, however many newer ones other locations have", async () => {
    // Given an item auto-corrected at DC-01 before the hundred and one other locations, and one alerted at both
    const ENTITIES = `query ($representations: [_Any!]!) { _entities(representations: $representations) {
      ... on StockLevel { sku locationId reconciliation { variance tier openDiscrepancy { id } activeHold { id } } }
      ... on Item { sku discrepancies { id stockLevel { locationId } } holds { id stockLevel { locationId } } } } }`;
    const representations = [
      { __typename: 'StockLevel', sku: ALERTED, locationId: OWN }, { __typename: 'StockLevel', sku: ALERTED, locationId: OTHER },
      { __typename: 'Item', sku: CORRECTED }, { __typename: 'Item', sku: ALERTED },
    ];

    // When the partner and the operator resolve them as the gateway would
    const [partnerSees, operatorSees] = [await asPartner(ENTITIES, { representations }), await asOperator(ENTITIES, { representations })];

    // Then the operator sees both stock levels, and only the hundred newest of the corrected item's discrepancies (none of them DC-01's)
    assert.equal(operatorSees.errors, undefined, JSON.stringify(operatorSees.errors));
    const [ownLevel, otherLevel, corrected, alerted] = operatorSees.data._entities;
    assert.deepEqual([ownLevel.locationId, otherLevel.locationId, otherLevel.reconciliation.tier], [OWN, OTHER, 'ALERT']);
    assert.equal(corrected.discrepancies.length, 100);
    assert.ok(!corrected.discrepancies.some((d: Located) => d.stockLevel.locationId === OWN), "DC-01's is older than the hundred newest");
    assert.deepEqual(new Set(alerted.holds.map((hold: Located) => hold.stockLevel.locationId)), new Set([OWN, OTHER]));
    // And the partner DC-01's stock level and none at DC-02, and the items' discrepancies and holds at DC-01: each of them, filtered before the hundred are counted
    assert.equal(partnerSees.errors, undefined, JSON.stringify(partnerSees.errors));
    assert.deepEqual(partnerSees.data._entities, [
      {
        sku: ALERTED, locationId: OWN,
        reconciliation: { variance: 80, tier: 'ALERT', openDiscrepancy: { id: await oneAt('discrepancy', OWN, ALERTED) }, activeHold: { id: await oneAt('reconciliation_hold', OWN, ALERTED) } },
      },
      null,
      { sku: CORRECTED, discrepancies: [{ id: await oneAt('discrepancy', OWN, CORRECTED), stockLevel: { locationId: OWN } }], holds: [] },
      {
        sku: ALERTED,
        discrepancies: [{ id: await oneAt('discrepancy', OWN, ALERTED), stockLevel: { locationId: OWN } }],
        holds: [{ id: await oneAt('reconciliation_hold', OWN, ALERTED), stockLevel: { locationId: OWN } }],
      },
    ]);
  });

  it('starts runs over DC-01 only: FORBIDDEN naming DC-02 or a location that does not exist, FORBIDDEN for every location, RUN_IN_PROGRESS while a run over DC-02 is under way', async () => {
    const before = await everything();

    // When the partner asks for runs over locations it is not granted, or over every location
    const refused = [await partner().start([OTHER]), await partner().start([OWN, OTHER]), await partner().start(['NOWHERE']), await partner().start(), await partner().start([])];

    // Then each is FORBIDDEN (naming the locations it is not granted; not UNKNOWN_LOCATION, which would say whether one exists), and nothing starts
    assert.deepEqual(refused.map((answer) => [codeOf(answer), answer.errors?.[0]?.extensions?.locationIds, answer.data]), [
      ['FORBIDDEN', [OTHER], null], ['FORBIDDEN', [OTHER], null], ['FORBIDDEN', ['NOWHERE'], null], ['FORBIDDEN', undefined, null], ['FORBIDDEN', undefined, null],
    ]);
    assert.equal(codeOf(await operator.start(['NOWHERE'])), 'UNKNOWN_LOCATION');
    assert.deepEqual(await everything(), before);

    // Given a run over DC-02 under way
    await database.db.query(`INSERT INTO reconciliation_run (id, location_ids, requested_by, started_at, lease_expires_at)
                             VALUES ('RUN-UNDER-WAY', '{${OTHER}}', 'operator', now(), now() + interval '1 hour')`);
    try {
      // When the partner asks for one over DC-01
      const busy = await partner().start([OWN]);

      // Then it is told one is under way, and not shown it; the operator is answered that run, as ever
      assert.deepEqual([codeOf(busy), busy.data], ['RUN_IN_PROGRESS', null]);
      assert.doesNotMatch(JSON.stringify(busy), /RUN-UNDER-WAY|DC-02/);
      assert.equal((await operator.start([OWN])).data?.startReconciliation.id, 'RUN-UNDER-WAY');
    } finally {
      await database.db.query(`UPDATE reconciliation_run SET status = 'FAILED', finished_at = now(), error = 'test' WHERE id = 'RUN-UNDER-WAY'`);
    }
  });

  it("changes no task, alert, hold or sync transaction of DC-02: each answers exactly as an unknown id does, and nothing changes", async () => {
    // Given DC-02's open task, alert and hold, and its failed sync transactions
    const [task, alert, hold] = [await oneAt('review_task', OTHER, REVIEWED), await oneAt('alert', OTHER, ALERTED), await oneAt('reconciliation_hold', OTHER, ALERTED)];
    const before = await everything();

    // When the partner acts on each, and on ids that name nothing
    const actions = (ids: { task: string; alert: string; hold: string; sync: string }) => [
      () => partner().approve(ids.task, 'recounted'), () => partner().reject(ids.task), () => partner().assign(ids.task, 'picker'),
      () => partner().acknowledge(ids.alert), () => partner().resolve(ids.alert, 'fixed'), () => partner().release(ids.hold),
      () => asPartner('mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id } }', { ids: [ids.sync] }),
    ];
    const answered = async (calls: (() => Promise<GraphQLResponse>)[]) => {
      const answers = [];
      for (const call of calls) answers.push(await call());
      return answers;
    };
    const foreign = await answered(actions({ task, alert, hold, sync: 'SYNC-OTHER-FAILED-A' }));
    const unknown = await answered(actions({ task: 'TSK-NONE', alert: 'ALR-NONE', hold: 'HLD-NONE', sync: 'SYNC-NONE' }));

    // Then each answer is the unknown id's, its id aside, and nothing changed
    const shapeOf = (answer: GraphQLResponse, id: string) => ({ data: answer.data, errors: answer.errors?.map(({ message, extensions }) => ({ message: message.replace(id, '<id>'), extensions: JSON.parse(JSON.stringify(extensions).replace(id, '<id>')) })) });
    const foreignIds = [task, task, task, alert, alert, hold, 'SYNC-OTHER-FAILED-A'];
    const unknownIds = ['TSK-NONE', 'TSK-NONE', 'TSK-NONE', 'ALR-NONE', 'ALR-NONE', 'HLD-NONE', 'SYNC-NONE'];
    assert.deepEqual(foreign.map((answer, n) => shapeOf(answer, foreignIds[n]!)), unknown.map((answer, n) => shapeOf(answer, unknownIds[n]!)));
    assert.deepEqual(foreign.map(codeOf), ['TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'ALERT_NOT_FOUND', 'ALERT_NOT_FOUND', 'HOLD_NOT_FOUND', 'SYNC_TRANSACTION_NOT_FOUND']);
    assert.deepEqual(await everything(), before);

    // When it redrives its own failed transaction with DC-02's
    const mixed = await asPartner('mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id } }', { ids: ['SYNC-OWN-FAILED', 'SYNC-OTHER-FAILED-B', 'SYNC-OTHER-FAILED-C'] });

    // Then none is redriven, DC-02's named as not found
    assert.deepEqual([codeOf(mixed), mixed.errors?.[0]?.extensions?.ids], ['SYNC_TRANSACTION_NOT_FOUND', ['SYNC-OTHER-FAILED-B', 'SYNC-OTHER-FAILED-C']]);
    assert.deepEqual(await everything(), before);
  });

  it("decides, assigns, acknowledges, resolves, releases and redrives DC-01's as anyone may", async () => {
    // Given DC-01's two open tasks, its alert and hold, and its failed sync transaction
    const [reviewed, rejected] = [await oneAt('review_task', OWN, REVIEWED), await oneAt('review_task', OWN, REJECTED)];
    const [alert, hold] = [await oneAt('alert', OWN, ALERTED), await oneAt('reconciliation_hold', OWN, ALERTED)];

    // When the partner acts on each
    const answers = [
      await partner().assign(reviewed, 'picker'), await partner().approve(reviewed, 'recounted'), await partner().reject(rejected),
      await partner().release(hold), await partner().acknowledge(alert), await partner().resolve(alert, 'fixed'),
      await asPartner('mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id status } }', { ids: ['SYNC-OWN-FAILED'] }),
    ];

    // Then each is done, recorded as the partner's
    for (const answer of answers) assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    assert.deepEqual(answers.map((answer) => Object.values(answer.data!)[0]).map((result: any) => result.status ?? result[0].status), [
      'OPEN', 'APPROVED', 'REJECTED', 'RELEASED', 'ACKNOWLEDGED', 'RESOLVED', 'PENDING_SYNC',
    ]);
    const actors = await database.db.query<{ actor: string }>(`SELECT DISTINCT actor FROM reconciliation_audit WHERE subject_id = ANY($1::text[]) AND action NOT IN ('OPENED', 'PLACED')`, [[reviewed, rejected, alert, hold]]);
    assert.deepEqual(actors.map((row) => row.actor), [PARTNER.caller]);
  });
});
