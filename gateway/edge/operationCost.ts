import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Items a list is assumed to hold when nothing in the request says how many. */
export const ASSUMED_LIST_SIZE = 10;

/**
 * How many fields an operation may make the gateway and the subgraphs resolve: each field
 * counts once per object it is selected on, and a list multiplies what it selects by its size.
 * The size is what the request asks for: `first` (a connection's `nodes`, or the list itself),
 * else the length of the longest list argument (`skus`, `ids`, `locationIds`: one answer line
 * each, for the field's lists below it), else ASSUMED_LIST_SIZE.
 *
 * Written here because graphql-armor's cost limit prices each field by a fixed cost and depth
 * factor, blind to arguments: it would score `availability(skus: [1,000 SKUs])` like one SKU.
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const root = schema.getRootType(operation.operation);
  return root ? selectionCost(root, operation.selectionSet, 1, undefined) : 0;

  function selectionCost(parent: GraphQLCompositeType, selectionSet: SelectionSetNode, multiplier: number, inheritedSize: number | undefined): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) cost += fieldCost(parent, selection, multiplier, inheritedSize);
      else {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition ? (schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        cost += selectionCost(condition ?? parent, fragment.selectionSet, multiplier, inheritedSize);
      }
    }
    return cost;
  }

  function fieldCost(parent: GraphQLCompositeType, node: FieldNode, multiplier: number, inheritedSize: number | undefined): number {
    if (node.name.value.startsWith('__') || !('getFields' in parent)) return 0;
    const field = parent.getFields()[node.name.value] as GraphQLField<unknown, unknown> | undefined;
    if (!field) return 0;
    const type = getNamedType(field.type);
    if (!node.selectionSet || !isCompositeType(type)) return multiplier;
    const requested = requestedSize(field, node);
    if (isListType(getNullableType(field.type))) {
      const size = requested ?? inheritedSize ?? ASSUMED_LIST_SIZE;
      return multiplier + selectionCost(type, node.selectionSet, multiplier * size, undefined);
    }
    // An object field (a connection, an answer): the size its arguments ask for is its lists'.
    return multiplier + selectionCost(type, node.selectionSet, multiplier, requested ?? inheritedSize);
  }

  function requestedSize(field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined {
    let largestList: number | undefined;
    for (const argument of node.arguments ?? []) {
      const value = valueFromASTUntyped(argument.value, variables as Record<string, unknown>) as unknown;
      if (argument.name.value === 'first' && typeof value === 'number') return Math.max(value, 0);
      if (Array.isArray(value)) largestList = Math.max(largestList ?? 0, value.length);
    }
    // A `first` left to its default still sizes the list.
    const first = field.args.find((argument) => argument.name === 'first')?.defaultValue;
    return typeof first === 'number' ? first : largestList;
  }
}
