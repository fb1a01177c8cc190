import type { LotQuantity } from './transferRequest.ts';

/** A shipped lot of a transfer (lot '' when the item is not lot-controlled) and how much of it arrived. */
export interface ShippedLot {
  readonly lot: string;
  readonly quantity: number;
  readonly receivedQuantity: number;
}

/** What a receipt says arrived: everything still in transit when nothing is named. */
export interface ReceiptRequest {
  readonly quantity: number | null;
  readonly lots: readonly LotQuantity[] | null;
  /** Closes the transfer: whatever has not arrived after this receipt is recorded short. */
  readonly close: boolean;
}

export type ReceiptPlan =
  | {
      readonly ok: true;
      /** Per lot: units arriving now, and units written off as short. */
      readonly lines: readonly { readonly lot: string; readonly received: number; readonly short: number }[];
      readonly status: 'PARTIALLY_RECEIVED' | 'RECEIVED';
    }
  | { readonly ok: false; readonly code: ReceiptRefusal; readonly message: string };

/** BAD_USER_INPUT: the receipt is malformed whatever was shipped; RECEIPT_EXCEEDS_SHIPMENT: it names more, or other lots, than the transfer carries. */
export type ReceiptRefusal = 'BAD_USER_INPUT' | 'RECEIPT_EXCEEDS_SHIPMENT';

const malformed = (message: string) => ({ ok: false, code: 'BAD_USER_INPUT', message }) as const;
const exceeding = (message: string) => ({ ok: false, code: 'RECEIPT_EXCEEDS_SHIPMENT', message }) as const;

/**
 * Matches a receipt to what a transfer shipped. A lot-controlled transfer is received by lot
 * (or all at once); otherwise by quantity. Receiving more than is in transit, or a lot that was
 * not shipped, is refused.
 */
export function planTransferReceipt(shipped: readonly ShippedLot[], receipt: ReceiptRequest, lotControlled: boolean): ReceiptPlan {
  const inTransit = (line: ShippedLot) => line.quantity - line.receivedQuantity;
  const totalInTransit = shipped.reduce((sum, line) => sum + inTransit(line), 0);
  let arriving: Map<string, number>;
  if (receipt.lots !== null) {
    if (!lotControlled) return malformed('the item is not lot-controlled; receive it by quantity');
    arriving = new Map();
    for (const { lot, quantity } of receipt.lots) {
      const line = shipped.find((candidate) => candidate.lot === lot);
      if (!line) return exceeding(`lot ${lot} was not shipped on this transfer`);
      if (!Number.isInteger(quantity) || quantity < 1) return malformed(`lot ${lot}: quantity must be a whole number of at least 1`);
      arriving.set(lot, (arriving.get(lot) ?? 0) + quantity);
      if (arriving.get(lot)! > inTransit(line)) return exceeding(`lot ${lot}: ${arriving.get(lot)} received but only ${inTransit(line)} in transit`);
    }
    if (receipt.quantity !== null && receipt.quantity !== [...arriving.values()].reduce((a, b) => a + b, 0)) {
      return malformed('quantity does not match the lots');
    }
  } else if (receipt.quantity !== null) {
    if (lotControlled && shipped.length > 1) return malformed('this transfer carries several lots; name the lots received');
    if (!Number.isInteger(receipt.quantity) || receipt.quantity < 1) return malformed('quantity must be a whole number of at least 1');
    if (receipt.quantity > totalInTransit) return exceeding(`${receipt.quantity} received but only ${totalInTransit} in transit`);
    arriving = new Map([[shipped[0]!.lot, receipt.quantity]]);
  } else {
    arriving = new Map(shipped.map((line) => [line.lot, inTransit(line)]));
  }
  const lines = shipped.map((line) => {
    const received = arriving.get(line.lot) ?? 0;
    return { lot: line.lot, received, short: receipt.close ? inTransit(line) - received : 0 };
  });
  const stillInTransit = totalInTransit - lines.reduce((sum, line) => sum + line.received + line.short, 0);
  return { ok: true, lines: lines.filter((line) => line.received + line.short > 0), status: stillInTransit === 0 ? 'RECEIVED' : 'PARTIALLY_RECEIVED' };
}
