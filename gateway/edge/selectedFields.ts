import { getNamedType, isCompositeType, Kind, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

/** A field an operation selects, where the schema defines it. */
export interface SelectedField {
  /** `Type.field`. */
  readonly coordinate: string;
  readonly parentType: string;
  /** The named type it returns. */
  readonly returnType: string;
  readonly returnsComposite: boolean;
}

// Apollo Server keeps each parsed and validated document (its documentStore, per schema), so
// the same operation object comes back for every request of the same query: walked once.
const walked = new WeakMap<OperationDefinitionNode, readonly SelectedField[]>();

/** Every field `operation` selects, through the fragments it uses, each once (introspection fields aside). */
export function selectedFields(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): readonly SelectedField[] {
  const known = walked.get(operation);
  if (known) return known;
  const fields = new Map<string, SelectedField>();
  const typeInfo = new TypeInfo(schema);
  visit(
    { kind: Kind.DOCUMENT, definitions: [operation, ...document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)] },
    visitWithTypeInfo(typeInfo, {
      Field: (node) => {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field || node.name.value.startsWith('__')) return;
        const coordinate = `${parent.name}.${field.name}`;
        const returned = getNamedType(field.type);
        if (!fields.has(coordinate)) fields.set(coordinate, { coordinate, parentType: parent.name, returnType: returned.name, returnsComposite: isCompositeType(returned) });
      },
    }),
  );
  const result = Object.freeze([...fields.values()]);
  walked.set(operation, result);
  return result;
}
