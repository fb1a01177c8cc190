import { Prisma } from '../../../platform/database/generated/client.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';

// What a caller granted only some locations (CallerIdentity.locations) sees of orders. Every read
// of orders and confirmations for a caller, and every mutation's lock of its order, goes
// through these, so that a list is filtered in the statement that pages it.

/**
 * The orders a caller granted `grant` may see and act on: every order when it is granted every
 * location (null); otherwise those that have lines and hold every line at a granted location (a
 * CREATED order, whose lines are not known yet, belongs to no partner). One rule, in the two
 * forms the data layer reads orders with: a Prisma `where` here, an SQL condition below.
 */
export function visibleOrders(grant: LocationGrant): Prisma.OrderWhereInput {
  if (grant === null) return {};
  return { lines: { some: {}, every: { locationId: { in: [...grant] } } } };
}

/** visibleOrders as an SQL condition on the row of `sales_order` known as `alias` (a constant of the caller's, never input). */
export function visibleOrderSql(grant: LocationGrant, alias: 'o'): Prisma.Sql {
  if (grant === null) return Prisma.sql`TRUE`;
  const order = Prisma.raw(alias);
  return Prisma.sql`(EXISTS (SELECT 1 FROM order_line visible_line WHERE visible_line.order_id = ${order}.id)
    AND NOT EXISTS (SELECT 1 FROM order_line visible_line WHERE visible_line.order_id = ${order}.id
                                                         AND visible_line.location_id <> ALL(${[...grant]}::text[])))`;
}

/**
 * What is recorded per location (demand of order lines, warehouse confirmations): a caller granted
 * some locations sees what is at those. An SQL condition on `column`, a constant of the caller's.
 */
export function atGrantedLocationSql(grant: LocationGrant, column: 'line.location_id' | 'location_id'): Prisma.Sql {
  return grant === null ? Prisma.sql`TRUE` : Prisma.sql`${Prisma.raw(column)} = ANY(${[...grant]}::text[])`;
}
