import { locationsNotGrantedMessage } from '../../platform/lang/locationGrant.ts';
import type { Refusal } from './domain/order.ts';
import { OrderErrorCode } from './domain/orderErrorCode.ts';
import type { InputProblem } from './domain/placeOrderRequest.ts';

export { OrderErrorCode };

/**
 * A request the orders' rules refuse; nothing was changed (but for what the message says).
 * Services throw it, the resolvers turn it into a GraphQL error with `code` and `details` in its
 * extensions.
 */
export class OrderError extends Error {
  constructor(
    readonly code: OrderErrorCode | 'BAD_USER_INPUT' | 'FORBIDDEN',
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'OrderError';
  }

  static of(refusal: Refusal): OrderError {
    return new OrderError(refusal.code, refusal.message, refusal.details);
  }

  /** FORBIDDEN: the request names locations the caller is not granted (`locationIds`); checked before whether they exist. */
  static notGranted(locationIds: readonly string[]): OrderError {
    return new OrderError('FORBIDDEN', locationsNotGrantedMessage(locationIds), { locationIds });
  }

  /** BAD_USER_INPUT naming every problem, in `extensions.problems` too. */
  static badInput(problems: readonly InputProblem[]): OrderError {
    return new OrderError('BAD_USER_INPUT', problems.map((problem) => `${problem.field} ${problem.message}`).join('; '), { problems });
  }
}
