import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isTransientDatabaseFailure } from '../database/postgresErrors.ts';
import type { Logger } from '../logger.ts';

/**
 * The error codes every Stockgraph service may put in `extensions.code`. Stable: clients
 * switch on them. Areas add their own codes beside these.
 */
export enum CommonErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /** The request itself cannot be served as sent (for example a subscription over HTTP). */
  BAD_REQUEST = 'BAD_REQUEST',
  NOT_FOUND = 'NOT_FOUND',
  /**
   * The caller may not do this: a scope it lacks (refused by the gateway), or a location it is not
   * granted (refused by a subgraph, naming the locations in `extensions.locationIds`).
   */
  FORBIDDEN = 'FORBIDDEN',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  /** The database failed under the request (a lost connection, a deadlock): send it again (a mutation with its idempotency key). */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
}

/** An error a client caused and can act on; its message and code reach the client as they are. */
export class UserInputError extends GraphQLError {
  constructor(message: string, code: string = CommonErrorCode.BAD_USER_INPUT, details: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...details } });
  }
}

/**
 * Apollo's `formatError` for every service: an error that carries a code other than
 * INTERNAL_SERVER_ERROR was raised on purpose (by our resolvers, by Apollo's request checks, or
 * by a subgraph, as the gateway relays it) and passes as it is. Anything else is logged and
 * masked, so that no stack, SQL or hostname reaches a client.
 * This function should not throw.
 */
export function maskUnexpectedErrors(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (code && code !== CommonErrorCode.INTERNAL_SERVER_ERROR) return formatted;
    const cause = unwrapResolverError(error);
    if (isTransientDatabaseFailure(cause)) {
      logger.warn({ reason: (cause as Error).message, path: formatted.path }, 'the database failed under a request');
      return {
        message: 'The database was unavailable: send the request again (a mutation with the same idempotency key)',
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: CommonErrorCode.SERVICE_UNAVAILABLE },
      };
    }
    logger.error({ err: cause, path: formatted.path }, 'unexpected error');
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: CommonErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
