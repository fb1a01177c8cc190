import {
  getArgumentValues,
  Kind,
  OperationTypeNode,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { grantsEveryLocation, type LocationGrant } from '../../platform/lang/locationGrant.ts';
import { SUBSCRIPTION_FEEDS, type SubscriptionFeed } from './subscriptionFeeds.ts';

/**
 * How the gateway serves one subscription: which feed's events it receives (`filter`), and the
 * query that resolves their selection through the supergraph, a batch of events at a time.
 */
export interface SubscriptionPlan {
  readonly feed: SubscriptionFeed<unknown>;
  /** The root field's name in the answer (its alias, if it has one). */
  readonly responseKey: string;
  /** The field's arguments and the subscriber's granted locations, both: checked before any lookup, so that nothing else is resolved for it. */
  readonly filter: (payload: unknown) => boolean;
  /** The keys (SubscriptionFeed.routing) of the only events `filter` can pass; null when events of any key may. */
  readonly routingKeys: readonly string[] | null;
  /** Resume after this cursor; live from now when undefined. */
  readonly after: string | undefined;
  readonly lookup: EventLookup;
  /**
   * Plans with the same lookup key and this key receive the same results for the same events:
   * the same field, with the same arguments but `after`, under the same response key.
   */
  readonly audienceKey: string;
}

/**
 * A query that returns the root field's selection for a list of event ids, as `lookup`.
 * Subscribers whose lookups share a `key` share one execution per batch of events, and each
 * event's serialized result. The key is the query, its variables and `locations`: the answer
 * depends on nothing else, since the lookup runs with the gateway's scopes (a subscriber's own
 * are checked, against the same selection, when it subscribes).
 */
export interface EventLookup {
  readonly key: string;
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Response keys of the root field's `cursor`, which the gateway fills in itself. */
  readonly cursorKeys: readonly string[];
  /**
   * The subscriber's granted locations, which the lookup runs with (as the gateway, with the
   * gateway's scopes): what the selection reaches beyond the event's own object (an item's other
   * stock levels, its open orders) is what the subscriber itself may see. Part of `key`.
   */
  readonly locations: LocationGrant;
}

/** The variable the event ids travel in; one the lookup's own cannot be named, for its prefix. */
export const EVENT_IDS_VARIABLE = 'stockgraphEventIds';
export const LOOKUP_RESPONSE_KEY = 'lookup';

/**
 * Plans a validated subscription operation for a subscriber granted `locations` (its
 * principal's; null for every location): it receives only the events of those (see
 * SubscriptionFeed.locationsOf), resolved with them. Throws a GraphQLError (BAD_REQUEST) for a
 * root field that no feed serves, or one that is not selected directly.
 */
export function planSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variableValues: Readonly<Record<string, unknown>>,
  locations: LocationGrant,
): SubscriptionPlan {
  const [root] = operation.selectionSet.selections;
  if (operation.selectionSet.selections.length !== 1 || root?.kind !== Kind.FIELD || !root.selectionSet) {
    throw new UserInputError('A subscription selects exactly one field, directly (not through a fragment), with a selection of its own', CommonErrorCode.BAD_REQUEST);
  }
  const feed = SUBSCRIPTION_FEEDS[root.name.value];
  const fieldDefinition = schema.getSubscriptionType()?.getFields()[root.name.value];
  if (!feed || !fieldDefinition) throw new UserInputError(`Subscription.${root.name.value} is not served by this gateway`, CommonErrorCode.BAD_REQUEST);

  const args = getArgumentValues(fieldDefinition, root, variableValues as Record<string, unknown>);
  const fragments = fragmentsOf(document);
  const usedFragments = fragmentsUsedBy(root.selectionSet, fragments);
  const usedVariables = variablesUsedBy([root.selectionSet, ...usedFragments]);
  const lookupDocument: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        name: { kind: Kind.NAME, value: 'SubscriptionEventLookup' },
        variableDefinitions: [
          {
            kind: Kind.VARIABLE_DEFINITION,
            variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_IDS_VARIABLE } },
            type: listOfNonNullIds,
          },
          ...(operation.variableDefinitions ?? []).filter((definition) => usedVariables.has(definition.variable.name.value)),
        ],
        selectionSet: {
          kind: Kind.SELECTION_SET,
          selections: [
            {
              kind: Kind.FIELD,
              alias: { kind: Kind.NAME, value: LOOKUP_RESPONSE_KEY },
              name: { kind: Kind.NAME, value: feed.lookupField },
              arguments: [
                {
                  kind: Kind.ARGUMENT,
                  name: { kind: Kind.NAME, value: 'ids' },
                  value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_IDS_VARIABLE } },
                },
              ],
              selectionSet: root.selectionSet,
            },
          ],
        },
      },
      ...usedFragments,
    ],
  };
  const query = print(lookupDocument);
  const variables = Object.fromEntries([...usedVariables].filter((name) => name in variableValues).map((name) => [name, variableValues[name]]));
  const asked = feed.filter(args) as (payload: unknown) => boolean;
  const locationsOf = feed.locationsOf as (payload: unknown) => readonly string[];
  const responseKey = root.alias?.value ?? root.name.value;
  return {
    feed: feed as SubscriptionFeed<unknown>,
    responseKey,
    filter: locations === null ? asked : (payload) => asked(payload) && grantsEveryLocation(locations, locationsOf(payload)),
    routingKeys: feed.routing?.keysOf(args) ?? null,
    after: (args.after as string | null | undefined) ?? undefined,
    audienceKey: JSON.stringify([root.name.value, { ...args, after: undefined }, responseKey]),
    lookup: {
      key: `${query}\n${JSON.stringify(variables)}\n${JSON.stringify(locations)}`,
      query,
      variables,
      cursorKeys: [...responseKeysOf('cursor', root.selectionSet, fragments)],
      locations,
    },
  };
}

const listOfNonNullIds = {
  kind: Kind.NON_NULL_TYPE,
  type: { kind: Kind.LIST_TYPE, type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } } },
} as const;

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
}

/** The fragments a selection spreads, directly or through other fragments. */
function fragmentsUsedBy(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (node: SelectionSetNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !used.has(fragment.name.value)) {
          used.set(fragment.name.value, fragment);
          walk(fragment);
        }
      },
    });
  walk(selectionSet);
  return [...used.values()];
}

function variablesUsedBy(nodes: readonly (SelectionSetNode | FragmentDefinitionNode)[]): Set<string> {
  const names = new Set<string>();
  for (const node of nodes) visit(node, { Variable: (variable) => void names.add(variable.name.value) });
  return names;
}

/** The response keys under which a selection (not its subselections) asks for `fieldName`. */
function responseKeysOf(fieldName: string, selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): Set<string> {
  const keys = new Set<string>();
  const walk = (selections: SelectionSetNode['selections']) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === fieldName) keys.add((selection as FieldNode).alias?.value ?? fieldName);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet.selections);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet.selections);
      }
    }
  };
  walk(selectionSet.selections);
  return keys;
}
