/**
 * Thrown by the default branch of an exhaustive switch: the compiler proves it unreachable (the
 * value is `never`), so adding a case to a union makes every switch that must handle it fail to
 * compile. Pure, for every layer, the domain's included.
 */
export class UnreachableCaseError extends TypeError {
  constructor(value: never) {
    super(`Unexpected value ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
