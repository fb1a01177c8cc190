import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError } from 'graphql';
import { decodeNewestFirstCursor, encodeCursor, encodeNewestFirstCursor } from '../../platform/graphql/pagination.ts';

describe('newest-first cursors', () => {
  it('give back the position they were made from, whatever the id holds', () => {
    const position = { at: new Date('2026-12-07T10:00:00.000Z'), id: '["acme|wms","e|1"]' };
    assert.deepEqual(decodeNewestFirstCursor(encodeNewestFirstCursor(position)), position);
  });

  it('refuse, as bad user input, what this API never made', () => {
    for (const cursor of ['not-a-cursor', encodeCursor('2026-12-07T10:00:00.000Z'), encodeCursor('yesterday|ORD-1'), encodeCursor('2026-12-07T10:00:00.000Z|')]) {
      assert.throws(() => decodeNewestFirstCursor(cursor), (error: unknown) => error instanceof GraphQLError && error.extensions.code === 'BAD_USER_INPUT', cursor);
    }
  });
});
