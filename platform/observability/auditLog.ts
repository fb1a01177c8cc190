import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  getArgumentValues, getNamedType, isInputObjectType, isListType, isNonNullType, Kind,
  type GraphQLInputType, type GraphQLSchema, type OperationDefinitionNode,
} from 'graphql';
import type { Logger } from '../logger.ts';
import { currentRequestContext } from './requestContext.ts';

/**
 * An audit line: `{"log":"audit", "actor", "action", "outcome", ...}`, plus the time and the
 * correlation id every line has. Written for every mutation a subgraph runs and every
 * administrative action (clients file changes, ERP balance uploads). Never a secret: callers
 * are named by name, and only ID arguments are recorded of what a mutation was given.
 */
export interface AuditEntry {
  /** Who acted: a client's name, a JWT's subject, `anonymous`, `gateway`, or `cli:<user>`. */
  readonly actor: string;
  /** What: `mutation` or an administrative verb (`client.add`, `erp.balances.upload`). */
  readonly action: string;
  readonly outcome: 'ok' | 'refused' | 'failed';
  readonly [detail: string]: unknown;
}

export function writeAudit(logger: Pick<Logger, 'info'>, entry: AuditEntry): void {
  logger.info({ log: 'audit', ...entry }, `audit: ${entry.action} by ${entry.actor}: ${entry.outcome}`);
}

/** One root field of an audited mutation: its name, the ids it was given, and its error codes (none when it succeeded). */
interface AuditedField {
  readonly field: string;
  readonly ids: Readonly<Record<string, unknown>>;
  readonly errorCodes: readonly string[];
}

/**
 * An Apollo Server plugin that writes an audit line for each mutation, once answered: the caller
 * (the request context's, as admission verified it), the operation's name, each root field with the ID
 * arguments it acted on and its error codes; `ok` when no field failed, else `refused`.
 */
export function auditMutations(logger: Pick<Logger, 'info'>): ApolloServerPlugin<BaseContext> {
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ operation, schema, request, response, errors }) => {
        if (operation?.operation !== 'mutation') return;
        const body = response.body;
        const answerErrors = body.kind === 'single' ? (body.singleResult.errors ?? []) : (errors ?? []);
        const fields = rootFields(schema, operation, request.variables ?? {}).map(({ responseKey, field, ids }): AuditedField => ({
          field,
          ids,
          errorCodes: answerErrors
            .filter((error) => error.path === undefined || error.path[0] === responseKey)
            .map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR')),
        }));
        writeAudit(logger, {
          actor: currentRequestContext()?.caller ?? 'unknown',
          action: 'mutation',
          outcome: answerErrors.length === 0 ? 'ok' : 'refused',
          operationName: request.operationName ?? operation.name?.value ?? null,
          fields,
        });
      },
    }),
  };
}

/** The root fields of `operation`, with the values of their ID-typed arguments (also inside input objects and lists), by argument path. */
function rootFields(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>) {
  const mutationType = schema.getMutationType();
  return operation.selectionSet.selections.flatMap((selection) => {
    if (selection.kind !== Kind.FIELD || !mutationType) return [];
    const definition = mutationType.getFields()[selection.name.value];
    if (!definition) return [];
    const ids: Record<string, unknown> = {};
    let values: Record<string, unknown> = {};
    try {
      values = getArgumentValues(definition, selection, variables);
    } catch {
      // Arguments that do not validate: the answer carries the error, the audit line the field.
    }
    for (const argument of definition.args) collectIds(argument.type, values[argument.name], argument.name, ids);
    return [{ responseKey: selection.alias?.value ?? selection.name.value, field: selection.name.value, ids }];
  });
}

function collectIds(type: GraphQLInputType, value: unknown, path: string, ids: Record<string, unknown>): void {
  if (value === undefined || value === null) return;
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  if (isListType(unwrapped)) {
    if (!Array.isArray(value)) return;
    const named = getNamedType(unwrapped);
    if (named.name === 'ID') ids[path] = value;
    else value.forEach((item, index) => collectIds(unwrapped.ofType, item, `${path}.${index}`, ids));
    return;
  }
  if (isInputObjectType(unwrapped)) {
    for (const field of Object.values(unwrapped.getFields())) collectIds(field.type, (value as Record<string, unknown>)[field.name], `${path}.${field.name}`, ids);
    return;
  }
  if (getNamedType(unwrapped).name === 'ID') ids[path] = value;
}
