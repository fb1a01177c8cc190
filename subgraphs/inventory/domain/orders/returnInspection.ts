/** A position of returned units waiting in QA: its lot ('' without) and its WMS on hand. */
export interface QaPosition {
  readonly lot: string;
  readonly onHand: number;
}

/** Units of one lot leaving QA: back to nettable stock (`restock`) or to DAMAGED (`scrap`). */
export interface InspectionMove {
  readonly lot: string;
  readonly quantity: number;
  readonly to: 'restock' | 'scrap';
}

export type InspectionPlan =
  | { readonly ok: true; readonly moves: readonly InspectionMove[] }
  | { readonly ok: false; readonly available: number };

/**
 * Where the inspected units of one SKU at one location come from: lot by lot (lot order, only
 * positions with units on hand), first the `restocked` units, then the `scrapped` ones. Refused,
 * with what QA holds, when QA holds fewer units than the two together.
 */
export function planInspection(qa: readonly QaPosition[], restocked: number, scrapped: number): InspectionPlan {
  const lots = qa.filter((position) => position.onHand > 0).sort((a, b) => (a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0));
  const available = lots.reduce((sum, position) => sum + position.onHand, 0);
  if (available < restocked + scrapped) return { ok: false, available };
  const moves: InspectionMove[] = [];
  const wanted = [{ to: 'restock' as const, left: restocked }, { to: 'scrap' as const, left: scrapped }];
  for (const { lot, onHand } of lots) {
    let left = onHand;
    for (const want of wanted) {
      const quantity = Math.min(left, want.left);
      if (quantity === 0) continue;
      moves.push({ lot, quantity, to: want.to });
      want.left -= quantity;
      left -= quantity;
    }
  }
  return { ok: true, moves };
}
