import { Prisma } from './generated/client.ts';

/**
 * Data-modifying statements (no WITH of their own) run as one: all but the last as parts of a
 * WITH, the last as its main statement. All or nothing, in one round trip; the parts cannot see
 * each other's rows (PostgreSQL runs them on one snapshot), and constraints are checked at the
 * end, so a row may reference one inserted by another part.
 */
export function oneStatement(statements: readonly Prisma.Sql[]): Prisma.Sql {
  if (statements.length === 0) throw new TypeError('oneStatement: no statement given');
  const parts = statements.slice(0, -1).map((statement, index) => Prisma.sql`${Prisma.raw(`part_${index}`)} AS (${statement})`);
  return parts.length ? Prisma.sql`WITH ${Prisma.join(parts, ', ')} ${statements.at(-1)!}` : statements[0]!;
}
