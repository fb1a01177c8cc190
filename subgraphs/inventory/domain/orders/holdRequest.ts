import { requestFingerprint } from '../../../../platform/lang/requestFingerprint.ts';

/** One line of an order's hold (see the holds of the order-stock API contract). */
export interface HoldLine {
  /** The order's requested line, 1-based; unique within the order. */
  readonly lineNumber: number;
  readonly sku: string;
  readonly quantity: number;
  /** Null: spread over the channel's locations by its allocation strategy. */
  readonly locationId: string | null;
  /** Consume this reservation instead of reserving. */
  readonly reservationId: string | null;
}

/** What the orders service asks inventory to hold for one order. */
export interface HoldRequest {
  readonly orderId: string;
  /** The order's reference, by which warehouse events name it. */
  readonly reference: string;
  readonly channel: string;
  readonly lines: readonly HoldLine[];
}

/**
 * The fingerprint a repeat of a hold must match to get the first answer: its reference, channel
 * and lines, whatever order the lines come in (the order id is the key it is looked up by).
 */
export function holdFingerprint({ reference, channel, lines }: HoldRequest): string {
  return requestFingerprint({
    reference,
    channel,
    lines: [...lines]
      .sort((a, b) => a.lineNumber - b.lineNumber)
      .map(({ lineNumber, sku, quantity, locationId, reservationId }) => ({ lineNumber, sku, quantity, locationId, reservationId })),
  });
}

/**
 * What is wrong with a batch of holds beyond its shape, as `holds.<index>.<path>: <problem>`: a
 * line number given twice in one hold, which would leave two lines that allocations cannot tell
 * apart. Empty when nothing is.
 */
export function holdBatchProblems(holds: readonly HoldRequest[]): string[] {
  return holds.flatMap((hold, index) => holdProblems(hold).map((problem) => `holds.${index}.${problem}`));
}

function holdProblems({ lines }: HoldRequest): string[] {
  const firstIndex = new Map<number, number>();
  const problems: string[] = [];
  lines.forEach(({ lineNumber }, index) => {
    const first = firstIndex.get(lineNumber);
    if (first === undefined) firstIndex.set(lineNumber, index);
    else problems.push(`lines.${index}.lineNumber: line number ${lineNumber} is given twice (lines.${first} has it too)`);
  });
  return problems;
}
