/**
 * What every collection resource of Oracle's REST framework (version 11.13.18.05) shares: paging
 * by `limit` and `offset`, and the `q` query-by-example filter. Written from Oracle's
 * documentation rather than from our clients, so that the two can disagree.
 */

const DEFAULT_LIMIT = 25;
// Fusion answers a larger limit with a page of this size and hasMore, never with an error.
const MAX_LIMIT = 500;

/** One `Attribute=value` condition of a `q` filter. */
export type QueryCondition = readonly [attribute: string, value: string];

// A condition runs to the next `;` outside quotes.
const CONDITIONS = /(?:[^;'"]|'[^']*'|"[^"]*")+/g;
const CONDITION = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^'"=<>!]*?))\s*$/;

/**
 * The conditions of a `q` parameter: `Attribute=value` joined by `;`, a value bare or in single or
 * double quotes; a record matches when it has every value. Only equality is supported, and only
 * on `attributes`, because that is all our clients ask of Fusion; anything else is refused (the
 * returned string says why) rather than ignored, so that a client relying on more fails loudly.
 */
export function parseQuery(q: string | null, attributes: readonly string[]): QueryCondition[] | string {
  if (q === null || q.trim() === '') return [];
  const conditions: QueryCondition[] = [];
  for (const [text] of q.matchAll(CONDITIONS)) {
    const match = CONDITION.exec(text);
    if (!match) return `q condition ${JSON.stringify(text)} is not Attribute=value (conditions are joined by ;)`;
    const attribute = match[1]!;
    if (!attributes.includes(attribute)) return `q names the attribute ${attribute}, which this resource cannot be filtered on (${attributes.join(', ')})`;
    conditions.push([attribute, match[2] ?? match[3] ?? match[4]!]);
  }
  return conditions;
}

export function matchesQuery(record: object, conditions: readonly QueryCondition[]): boolean {
  return conditions.every(([attribute, value]) => (record as Record<string, unknown>)[attribute] === value);
}

/**
 * The page of `items` that `search` asks for, in the framework's collection shape: `items`,
 * `count` (of this page), `hasMore`, `limit`, `offset`, `totalResults` when `totalResults=true`,
 * and a self link. `onlyData` is accepted; records carry no links either way. Returns why the
 * paging parameters are refused instead, when they are not whole numbers.
 */
export function collectionPage(
  items: readonly unknown[],
  search: URLSearchParams,
  self: { readonly href: string; readonly name: string },
): Record<string, unknown> | string {
  const limit = wholeNumber(search.get('limit'), DEFAULT_LIMIT);
  const offset = wholeNumber(search.get('offset'), 0);
  if (limit === undefined || limit === 0 || offset === undefined) return 'limit must be a whole number of at least 1, and offset a whole number';
  const pageLimit = Math.min(limit, MAX_LIMIT);
  const page = items.slice(offset, offset + pageLimit);
  return {
    items: page,
    count: page.length,
    hasMore: offset + page.length < items.length,
    limit: pageLimit,
    offset,
    ...(search.get('totalResults') === 'true' ? { totalResults: items.length } : {}),
    links: [{ rel: 'self', href: self.href, name: self.name, kind: 'collection' }],
  };
}

function wholeNumber(text: string | null, fallback: number): number | undefined {
  if (text === null) return fallback;
  return /^\d+$/.test(text) ? Number(text) : undefined;
}
