import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { preparedStatementNames } from '../../platform/database/preparedStatementNames.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('prepared statements', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase({ migrate: false });
  });

  after(async () => database?.drop());

  it('names each distinct statement once, and leaves statements past the limit unnamed', () => {
    const nameOf = preparedStatementNames('test', 2);

    const first = nameOf({ sql: 'SELECT 1' });
    assert.equal(nameOf({ sql: 'SELECT 1' }), first, 'the same text keeps its name');
    assert.notEqual(nameOf({ sql: 'SELECT 2' }), first);
    assert.equal(nameOf({ sql: 'SELECT 3' }), '', 'the third text runs unnamed');
    assert.equal(nameOf({ sql: 'SELECT 1' }), first, 'named texts keep their names past the limit');
  });

  it('prepares what Prisma sends once per connection, planned anew for each run\'s parameters', async () => {
    const prepared = await database.db.prisma.$transaction(async (tx) => {
      const [mode] = await tx.$queryRaw<{ plan_cache_mode: string }[]>`SHOW plan_cache_mode`;
      assert.equal(mode!.plan_cache_mode, 'force_custom_plan', 'no generic plan, made blind to the parameters');
      const answers = [];
      for (const n of [1, 2, 3]) answers.push(...(await tx.$queryRaw<{ next: number }[]>`SELECT ${n}::int + 1 AS next`));
      assert.deepEqual(answers, [{ next: 2 }, { next: 3 }, { next: 4 }]);
      return tx.$queryRaw<{ name: string }[]>`SELECT name FROM pg_prepared_statements WHERE statement LIKE '%::int + 1 AS next'`;
    });

    assert.equal(prepared.length, 1, 'one statement, prepared once on the connection');
    assert.match(prepared[0]!.name, /^prisma_\d+$/);
  });

  it('keeps the plan of a driver read marked reusePlan, on connections of its own, and plans every other read for its parameters', async () => {
    const { db } = database;
    const read = 'SELECT oid::int + $1::int FROM pg_class WHERE oid = $2::oid';
    for (let run = 1; run <= 8; run++) {
      assert.deepEqual(await db.queryTuples(read, [run, 1259], { reusePlan: true }), [[1259 + run]]);
    }
    // The pool hands an idle connection back to the next caller, so these run where the reads did.
    assert.deepEqual(await db.queryTuples('SHOW plan_cache_mode', [], { reusePlan: true }), [['force_generic_plan']]);
    const [kept] = await db.queryTuples<[string, string]>('SELECT name, generic_plans::text FROM pg_prepared_statements WHERE statement = $1', [read], { reusePlan: true });
    assert.match(kept![0], /^kept_\d+$/, 'prepared by name');
    assert.equal(kept![1], '8', 'every run on the plan made once, without the values');
    assert.deepEqual(await db.queryTuples('SHOW plan_cache_mode'), [['force_custom_plan']], 'any other read is planned for its parameters');
  });
});
