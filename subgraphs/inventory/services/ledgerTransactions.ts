import type { PrismaClient } from '../../../platform/database/database.ts';
import { isUniqueViolation } from '../../../platform/database/postgresErrors.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { StockChange, StockLedger } from '../data/stockLedger.ts';

/** What a unit of work in a stock transaction answers, and whether it changed stock or recorded another event (so that it is published at once). */
export interface StockWork<Result> {
  readonly result: Result;
  readonly changedStock: boolean;
}

/**
 * Runs `work` in one transaction. A run that loses a race on a unique key (another replica
 * inserted the same idempotency key or id first) is rolled back and run again, up to `attempts`
 * runs in all, and then finds that row. Once a run that changed stock (or recorded an event) has committed, calls
 * `afterCommit`, once.
 */
export async function runStockTransaction<Result>(
  prisma: PrismaClient,
  work: (tx: Prisma.TransactionClient) => Promise<StockWork<Result>>,
  { afterCommit, attempts = 1 }: { readonly afterCommit: () => void; readonly attempts?: number },
): Promise<Result> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { result, changedStock } = await prisma.$transaction(work);
      if (changedStock) afterCommit();
      return result;
    } catch (error) {
      if (attempt < attempts && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/**
 * Applies changes that the caller computed from the levels they apply to, under their locks, all
 * or nothing. A refusal means the books disagree with themselves, which no client can fix: it
 * throws, and the transaction rolls back.
 */
export function applyOrFail(ledger: StockLedger, changes: readonly StockChange[]): void {
  const outcome = ledger.applyAll(changes);
  if (!outcome.ok) throw new Error(`Stock ledger refused a computed change: ${JSON.stringify(outcome.refused)}`);
}
