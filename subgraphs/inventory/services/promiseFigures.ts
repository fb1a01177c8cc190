import { sweepUntilShort } from '../../../platform/concurrency/batchSweeper.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import { StockLedger, type StockLevelKey } from '../data/stockLedger.ts';

/**
 * Sums again, from their positions, the promise figures of up to `limit` stock levels whose
 * figures are missing (levels written by plain SQL: demo data, imports) or have stopped holding
 * (a lot in them expired); returns how many. Reads are right without it, summing such levels'
 * positions; this puts them back on the stored figures. Levels another transaction holds are
 * left for the next call, so replicas may run it at once.
 */
export async function resumDuePromiseFigures(prisma: PrismaClient, limit: number): Promise<number> {
  return prisma.$transaction(async (tx) => {
    // The database's clock decides what is due, as it does for readers.
    const due = await tx.$queryRaw<(StockLevelKey & { now: Date })[]>`
      SELECT sku, location_id AS "locationId", statement_timestamp() AS now
        FROM stock_level
       WHERE figures_valid_until IS NULL OR figures_valid_until <= statement_timestamp()
       LIMIT ${limit}
         FOR UPDATE SKIP LOCKED`;
    if (!due[0]) return 0;
    const ledger = await StockLedger.open(tx, due, due[0].now);
    ledger.resumFigures();
    await ledger.write();
    return due.length;
  });
}

/** Sums again every level's promise figures that are due, batch after batch; returns how many. */
export function resumAllDuePromiseFigures(prisma: PrismaClient, batchSize = 1_000): Promise<number> {
  return sweepUntilShort((limit) => resumDuePromiseFigures(prisma, limit), batchSize);
}
