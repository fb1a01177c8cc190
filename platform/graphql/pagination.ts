import { UserInputError } from './errors.ts';

const CURSOR_PREFIX = 'after:';

/** Opaque page cursors: clients pass back what they got and must not build their own. */
export function encodeCursor(position: string): string {
  return Buffer.from(CURSOR_PREFIX + position, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded.startsWith(CURSOR_PREFIX)) throw new UserInputError(`"${cursor}" is not a cursor returned by this API`);
  return decoded.slice(CURSOR_PREFIX.length);
}

/** The largest page any list in the API serves. */
export const MAX_PAGE_SIZE = 500;

/** Checks a requested page size against the API's bounds. */
export function pageSize(first: number, max = MAX_PAGE_SIZE): number {
  if (!Number.isInteger(first) || first < 1 || first > max) throw new UserInputError(`first must be between 1 and ${max}, got ${first}`);
  return first;
}

/** A place in a newest-first list ordered by an instant, then by id. */
export interface NewestFirstPosition {
  readonly at: Date;
  readonly id: string;
}

export function encodeNewestFirstCursor(position: NewestFirstPosition): string {
  return encodeCursor(`${position.at.toISOString()}|${position.id}`);
}

export function decodeNewestFirstCursor(cursor: string): NewestFirstPosition {
  // The instant never holds a '|'; the id may.
  const text = decodeCursor(cursor);
  const separator = text.indexOf('|');
  const position = separator < 0 ? { at: new Date(NaN), id: '' } : { at: new Date(text.slice(0, separator)), id: text.slice(separator + 1) };
  if (Number.isNaN(position.at.getTime()) || !position.id) throw new UserInputError(`"${cursor}" is not a cursor returned by this API`);
  return position;
}

/** A page as the schema's `*Connection` types show it. */
export interface Connection<Node> {
  readonly nodes: Node[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/**
 * Builds a page from up to `first + 1` rows fetched in list order: the extra row, when
 * present, only tells that another page follows.
 */
export function connectionOf<Node>(rows: Node[], first: number, cursorOf: (node: Node) => string): Connection<Node> {
  const nodes = rows.slice(0, first);
  const last = nodes.at(-1);
  return { nodes, hasNextPage: rows.length > first, endCursor: last === undefined ? null : cursorOf(last) };
}

/** Prisma `where` for the rows after `after` in a list ordered by `field` desc, then id desc. */
export function newestFirstAfter<Field extends string>(field: Field, after: NewestFirstPosition | undefined) {
  if (!after) return {};
  return { OR: [{ [field]: { lt: after.at } }, { [field]: after.at, id: { lt: after.id } }] };
}

/**
 * One page of a newest-first list: fetches up to `first + 1` rows after the cursor with
 * `fetchPage` (ordered by `instantOf` desc, then id desc) and builds the connection.
 */
export async function newestFirstConnection<Node extends { readonly id: string }>(
  args: { readonly first: number; readonly after?: string | null },
  fetchPage: (take: number, after: NewestFirstPosition | undefined) => Promise<Node[]>,
  instantOf: (node: Node) => Date,
): Promise<Connection<Node>> {
  const first = pageSize(args.first);
  const rows = await fetchPage(first + 1, args.after ? decodeNewestFirstCursor(args.after) : undefined);
  return connectionOf(rows, first, (node) => encodeNewestFirstCursor({ at: instantOf(node), id: node.id }));
}
