import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from '../logger.ts';

/**
 * The error codes every Stockgraph service may put in `extensions.code`. Stable: clients
 * switch on them. Areas add their own codes beside these.
 */
export enum CommonErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** An error a client caused and can act on; its message and code reach the client as they are. */
export class UserInputError extends GraphQLError {
  constructor(message: string, code: string = CommonErrorCode.BAD_USER_INPUT, details: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...details } });
  }
}

/**
 * Apollo's `formatError` for every service: errors raised on purpose (GraphQLErrors with a
 * code, and Apollo's own request errors) pass through; anything else is logged and masked as
 * INTERNAL_SERVER_ERROR, so that no stack, SQL or hostname leaks to a client.
 * This function should not throw.
 */
export function maskUnexpectedErrors(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof GraphQLError && original.extensions.code && original.extensions.code !== CommonErrorCode.INTERNAL_SERVER_ERROR) {
      return formatted;
    }
    if (!(original instanceof GraphQLError) || original.originalError) {
      logger.error({ err: original, path: formatted.path }, 'unexpected error');
    } else if (formatted.extensions?.code !== CommonErrorCode.INTERNAL_SERVER_ERROR) {
      return formatted;
    }
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: CommonErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
