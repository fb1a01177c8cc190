import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Kind, getNamedType, isObjectType, type DocumentNode, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { stockLevelKey } from '../contracts/events.ts';

// How a subgraph tells the gateway's entity cache (SubgraphAnswerCache) what an answer rests on,
// like a CDN's surrogate keys (Fastly's Surrogate-Key, Varnish's xkey): in response headers, so
// that the answer's bytes stay exactly what the client gets (the single-fetch fast path passes
// them on unparsed). Values are URI-encoded JSON: SKUs and location ids may hold any character.

/**
 * On a query's answer that the gateway may keep until a stock change of what it read: JSON
 * `{ levels: [[sku, locationId], ...], skus: [sku, ...], ttlMs }`; `skus` read every location of
 * theirs, `ttlMs` (null: none) is how long after the read the answer changes by the clock alone.
 * Absent: the answer is not to be kept.
 */
export const CACHEABLE_HEADER = 'x-stockgraph-cacheable';
/**
 * On a mutation's answer: JSON `{ levels: [[sku, locationId], ...] }`, every stock level it
 * changed. Absent: the subgraph cannot tell (or they are too many to name), and the gateway
 * forgets every kept answer.
 */
export const INVALIDATES_HEADER = 'x-stockgraph-invalidates';

/**
 * Above this a query's hints fall back to whole SKUs, then to not cacheable, and a mutation's to
 * none: a response header must stay small (undici, the gateway's HTTP client, refuses headers over
 * 16 KiB in all).
 */
const MAX_HEADER_BYTES = 8 * 1024;

/** The tag of a stock level, or with no location of every level of a SKU. */
export const stockTag = (sku: string, locationId?: string): string => (locationId === undefined ? JSON.stringify([sku]) : stockLevelKey(sku, locationId));

/** The tags a change of the stock of `sku` at `locationId` makes stale: its level's, and its SKU's. */
export const tagsChangedBy = (sku: string, locationId: string): string[] => [stockTag(sku, locationId), stockTag(sku)];

interface CacheableHints {
  readonly levels: readonly (readonly [string, string])[];
  readonly skus: readonly string[];
  readonly ttlMs: number | null;
}

/** What a CACHEABLE_HEADER says: the answer's tags and how long it holds; null when it is absent or malformed (not to be kept). */
export function readCacheableHeader(value: string | string[] | undefined): { tags: string[]; ttlMs: number | null } | null {
  const hints = decoded(value) as Partial<CacheableHints> | null;
  if (!hints || !Array.isArray(hints.levels) || !Array.isArray(hints.skus) || !(hints.ttlMs === null || (typeof hints.ttlMs === 'number' && hints.ttlMs >= 0))) return null;
  const levels = levelTags(hints.levels);
  if (!levels || !hints.skus.every((sku) => typeof sku === 'string')) return null;
  return { tags: [...levels, ...hints.skus.map((sku) => stockTag(sku))], ttlMs: hints.ttlMs };
}

/** The tags an INVALIDATES_HEADER names; null when it is absent or malformed (the mutation's changes are unknown). */
export function readInvalidatesHeader(value: string | string[] | undefined): string[] | null {
  const hints = decoded(value) as { levels?: unknown } | null;
  return hints && Array.isArray(hints.levels) ? levelTags(hints.levels)?.flatMap((tag) => {
    const [sku, locationId] = JSON.parse(tag) as [string, string];
    return tagsChangedBy(sku, locationId);
  }) ?? null : null;
}

function decoded(value: string | string[] | undefined): unknown {
  if (typeof value !== 'string') return null;
  try {
    return JSON.parse(decodeURIComponent(value));
  } catch {
    return null;
  }
}

function levelTags(levels: readonly unknown[]): string[] | null {
  const tags: string[] = [];
  for (const level of levels) {
    if (!Array.isArray(level) || level.length !== 2 || typeof level[0] !== 'string' || typeof level[1] !== 'string') return null;
    tags.push(stockTag(level[0], level[1]));
  }
  return tags;
}

/**
 * One request's record, in a subgraph, of the stock it read and changed, for the headers above.
 * Loaders and resolvers report each stock level (or each SKU's levels) they read, and when what
 * they read changes by the clock alone (a source going stale, a lot expiring, inbound stock
 * falling due); mutations report the levels they changed.
 */
export class StockCacheHints {
  private readonly levels = new Map<string, readonly [string, string]>();
  private readonly skus = new Set<string>();
  private readonly changedLevels = new Map<string, readonly [string, string]>();
  private ttlMs: number | null = null;
  private changesReported = false;

  readStockLevel(sku: string, locationId: string): void {
    this.levels.set(stockTag(sku, locationId), [sku, locationId]);
  }

  readEveryLevelOf(sku: string): void {
    this.skus.add(sku);
  }

  /** What was read at `readAt` changes at `at` by the clock alone (earlier instants are ignored: already past). */
  changesAt(at: Date | number, readAt: Date): void {
    const ttlMs = (typeof at === 'number' ? at : at.getTime()) - readAt.getTime();
    if (Number.isFinite(ttlMs) && ttlMs >= 0 && (this.ttlMs === null || ttlMs < this.ttlMs)) this.ttlMs = ttlMs;
  }

  /** A mutation changed (or may have changed) the stock of `sku` at `locationId`. */
  changedStockLevel(sku: string, locationId: string): void {
    this.changedLevels.set(stockTag(sku, locationId), [sku, locationId]);
  }

  /** A mutation has reported every stock level it changed (none, when it changed none). */
  changesComplete(): void {
    this.changesReported = true;
  }

  /** CACHEABLE_HEADER's value for what was read; null when too much was read to name in a header. */
  cacheableHeader(): string | null {
    const exact = encode({ levels: [...this.levels.values()], skus: [...this.skus], ttlMs: this.ttlMs });
    if (exact.length <= MAX_HEADER_BYTES) return exact;
    // Whole SKUs: an answer dropped on a change at any of their locations, more often than needed, never less.
    const coarse = encode({ levels: [], skus: [...new Set([...this.skus, ...[...this.levels.values()].map(([sku]) => sku)])], ttlMs: this.ttlMs });
    return coarse.length <= MAX_HEADER_BYTES ? coarse : null;
  }

  /**
   * INVALIDATES_HEADER's value; null unless the mutation reported its changes complete, or when
   * it changed too many levels to name in a header (a 1,000-line setSafetyStocks): the gateway
   * then forgets every kept answer, as for a mutation that cannot tell. A longer header would be
   * refused by the gateway's HTTP client after the mutation was applied.
   */
  invalidatesHeader(): string | null {
    if (!this.changesReported) return null;
    const exact = encode({ levels: [...this.changedLevels.values()] });
    return exact.length <= MAX_HEADER_BYTES ? exact : null;
  }
}

const encode = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/**
 * Whether `operation` selects nothing but `covered` fields (`Type.field`; `__typename` always),
 * at any depth, through fragments: the fields whose values only the events invalidating the
 * cache (or the clock, reported as a ttl) change. Unknown types and fields are not covered.
 */
export function selectsOnly(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, covered: ReadonlySet<string>): boolean {
  const fragments = new Map(
    document.definitions.filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION).map((fragment) => [fragment.name.value, fragment]),
  );
  const root = operation.operation === 'query' ? (schema.getQueryType() ?? null) : null;
  const walk = (selectionSet: SelectionSetNode, parent: GraphQLObjectType): boolean =>
    selectionSet.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') return true;
        const field = parent.getFields()[name];
        if (!field || !covered.has(`${parent.name}.${name}`)) return false;
        if (!selection.selectionSet) return true;
        const type = getNamedType(field.type);
        // An abstract type's selections are only fragments on its object types (the entities' union).
        return isObjectType(type) ? walk(selection.selectionSet, type) : selection.selectionSet.selections.every((inner) => inner.kind !== Kind.FIELD || inner.name.value === '__typename') && walkFragments(selection.selectionSet);
      }
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      if (!fragment) return false;
      const type = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
      return isObjectType(type) && walk(fragment.selectionSet, type);
    });
  const walkFragments = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return true;
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      const type = fragment?.typeCondition && schema.getType(fragment.typeCondition.name.value);
      return Boolean(fragment && type && isObjectType(type) && walk(fragment.selectionSet, type));
    });
  return root !== null && walk(operation.selectionSet, root);
}

/**
 * Sets the headers above on a subgraph's answers: CACHEABLE_HEADER on a query's answer without
 * errors that selects only `covered` fields, INVALIDATES_HEADER on a mutation's answer without
 * errors whose resolvers reported their changes complete. `hintsOf` is the request's record.
 */
export function stockCacheHintsPlugin<Context extends BaseContext>(hintsOf: (context: Context) => StockCacheHints, covered: ReadonlySet<string>): ApolloServerPlugin<Context> {
  // Decided once per parsed document (Apollo Server keeps parsed documents) and operation.
  const coveredOperations = new WeakMap<OperationDefinitionNode, boolean>();
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ response, contextValue, document, operation, schema }) => {
        if (response.body.kind !== 'single' || response.body.singleResult.errors?.length || !operation || !document) return;
        const hints = hintsOf(contextValue);
        if (operation.operation === 'mutation') {
          const invalidates = hints.invalidatesHeader();
          if (invalidates !== null) response.http.headers.set(INVALIDATES_HEADER, invalidates);
          return;
        }
        let isCovered = coveredOperations.get(operation);
        if (isCovered === undefined) coveredOperations.set(operation, (isCovered = selectsOnly(schema, document, operation, covered)));
        const cacheable = isCovered ? hints.cacheableHeader() : null;
        if (cacheable !== null) response.http.headers.set(CACHEABLE_HEADER, cacheable);
      },
    }),
  };
}
