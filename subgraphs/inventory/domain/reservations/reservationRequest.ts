/** What a client asks to reserve; see CreateReservationInput in schema.graphql. */
export interface ReservationRequest {
  readonly sku: string;
  readonly quantity: number;
  /** Null: spread over the channel's locations by its allocation strategy. */
  readonly locationId: string | null;
  readonly channel: string;
  readonly reference: string;
  readonly ttlSeconds: number;
  readonly idempotencyKey: string;
}

export interface InputProblem {
  readonly field: string;
  readonly message: string;
}

const MAX_TEXT_LENGTH = 200;

/** Every problem with the request's shape, all at once; empty when there is none. */
export function validateReservationRequest(request: ReservationRequest, maxTtlSeconds: number): InputProblem[] {
  const problems: InputProblem[] = [];
  if (!Number.isInteger(request.quantity) || request.quantity < 1) {
    problems.push({ field: 'quantity', message: `must be a whole number of at least 1, got ${request.quantity}` });
  }
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1 || request.ttlSeconds > maxTtlSeconds) {
    problems.push({ field: 'ttlSeconds', message: `must be a whole number from 1 to ${maxTtlSeconds}, got ${request.ttlSeconds}` });
  }
  for (const field of ['sku', 'channel', 'reference', 'idempotencyKey'] as const) {
    const value = request[field];
    if (value.trim() === '' || value.length > MAX_TEXT_LENGTH) problems.push({ field, message: `must be 1 to ${MAX_TEXT_LENGTH} characters` });
  }
  return problems;
}
