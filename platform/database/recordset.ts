import { Prisma } from './generated/client.ts';

/**
 * `rows` as a relation for one SQL statement to read from, as in
 * `SELECT * FROM ${recordset(rows, 'v', { sku: 'text', quantity: 'int' })}`: each row an object
 * keyed by column name, in the column order given. The rows travel as one JSON parameter. Passed
 * as an array per column instead, every element is checked by Prisma and escaped by the driver
 * one by one, and parsed from an array literal by the database: for a batch of 500 stock
 * changes that cost the service twice the CPU, and the database more time, than this.
 */
export function recordset<Row extends object>(rows: readonly Row[], alias: string, columns: { readonly [Column in keyof Row & string]: string }): Prisma.Sql {
  const definition = Object.entries(columns).map(([name, type]) => `${name} ${type}`).join(', ');
  return Prisma.sql`json_to_recordset(${JSON.stringify(rows)}::json) AS ${Prisma.raw(alias)}(${Prisma.raw(definition)})`;
}
