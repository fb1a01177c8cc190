import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { RUN_COLUMNS, type ReconciliationRun } from './reconciliationRows.ts';

// The first key of the run's advisory lock (the second names the run): a fixed number no other
// lock of Stockgraph's uses.
const RUN_LOCK_NAMESPACE = 62_831_853;

export const ABANDONED_RUN_ERROR = 'abandoned: its replica stopped';

/** What the run that a start found or began is, and whether this start began it. */
export interface ClaimedRun {
  readonly run: ReconciliationRun;
  readonly started: boolean;
}

/**
 * The RUNNING run, or a new one over `locationIds` when none runs: in one transaction under an
 * advisory lock, so that replicas starting at once agree on one run. A RUNNING run whose lease
 * ran out (its replica stopped) is marked FAILED first.
 */
export async function claimRun(
  prisma: PrismaClient,
  { id, locationIds, requestedBy, leaseMs }: { id: string; locationIds: readonly string[]; requestedBy: string; leaseMs: number },
): Promise<ClaimedRun> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RUN_LOCK_NAMESPACE}::int, hashtext('reconciliation_run'))`;
    await tx.$executeRaw`
      UPDATE reconciliation_run SET status = 'FAILED', finished_at = now(), error = ${ABANDONED_RUN_ERROR}
       WHERE status = 'RUNNING' AND lease_expires_at <= now()`;
    const [running] = await tx.$queryRaw<ReconciliationRun[]>`SELECT ${RUN_COLUMNS} FROM reconciliation_run WHERE status = 'RUNNING' LIMIT 1`;
    if (running) return { run: running, started: false };
    const [run] = await tx.$queryRaw<ReconciliationRun[]>`
      INSERT INTO reconciliation_run (id, location_ids, requested_by, started_at, lease_expires_at)
      VALUES (${id}, ${[...locationIds]}::text[], ${requestedBy}, now(), now() + ${leaseMs} * interval '1 millisecond')
      RETURNING ${RUN_COLUMNS}`;
    return { run: run!, started: true };
  });
}

/** Extends a RUNNING run's lease; false when it is no longer RUNNING (another replica gave it up as abandoned). */
export async function renewRunLease(prisma: PrismaClient, runId: string, leaseMs: number): Promise<boolean> {
  const renewed = await prisma.$executeRaw`
    UPDATE reconciliation_run SET lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
     WHERE id = ${runId} AND status = 'RUNNING'`;
  return renewed === 1;
}

/** What a completed run counted; see ReconciliationRun in the schema. */
export interface RunCounts {
  readonly positionsCompared: number;
  readonly matched: number;
  readonly autoCorrected: number;
  readonly reviewed: number;
  readonly alerted: number;
  readonly alreadyOpen: number;
  readonly closedGone: number;
  readonly orphansRetried: number;
  readonly orphanTasks: number;
}

/**
 * Marks the run COMPLETED with its counts, as the last statement of the transaction of what it
 * found; false when it is no longer RUNNING. Finished when this statement runs, not when the
 * transaction began (now()).
 */
export async function completeRun(tx: Prisma.TransactionClient, runId: string, counts: RunCounts): Promise<boolean> {
  const completed = await tx.$executeRaw`
    UPDATE reconciliation_run
       SET status = 'COMPLETED', finished_at = clock_timestamp(), positions_compared = ${counts.positionsCompared}, matched = ${counts.matched},
           auto_corrected = ${counts.autoCorrected}, reviewed = ${counts.reviewed}, alerted = ${counts.alerted},
           already_open = ${counts.alreadyOpen}, closed_gone = ${counts.closedGone}, orphans_retried = ${counts.orphansRetried},
           orphan_tasks = ${counts.orphanTasks}
     WHERE id = ${runId} AND status = 'RUNNING'`;
  return completed === 1;
}

/** Marks a RUNNING run FAILED with why. */
export async function failRun(prisma: PrismaClient, runId: string, error: string): Promise<void> {
  await prisma.$executeRaw`
    UPDATE reconciliation_run SET status = 'FAILED', finished_at = now(), error = ${error}
     WHERE id = ${runId} AND status = 'RUNNING'`;
}
