import type { PrismaClient } from '../database/database.ts';

export interface JobLeaseOptions {
  /** The job's name, the same on every replica. */
  readonly job: string;
  /** This replica, unique among those that run the job. */
  readonly holder: string;
  /** Time from the end of one run, on any replica, to the start of the next, in milliseconds. */
  readonly intervalMs: number;
  /**
   * How long a run holds the job before another replica may take it over, in milliseconds; a run
   * renews it while it goes on, so that only a replica that died loses the job.
   */
  readonly leaseMs: number;
}

/**
 * Runs a background job on one replica at a time, at an interval kept across all of them: the
 * replica that takes the lease (job_lease) runs the job, renewing the lease while it runs, and
 * records when it finished; the others find it held, or not yet due, and wait their turn.
 */
export class JobLease {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: JobLeaseOptions,
  ) {
    if (options.leaseMs < 3) throw new TypeError(`JobLease ${options.job}: leaseMs must be at least 3 (it is renewed every third of it)`);
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  /**
   * Runs `work` if this replica can take the job now (nobody holds it and it is due); returns its
   * result, or null when another replica holds the job or ran it less than intervalMs ago. The run
   * counts as done, and the next becomes due intervalMs later, whether `work` succeeds or throws.
   */
  async runIfDue<T>(work: () => Promise<T>): Promise<{ readonly result: T } | null> {
    if (!(await this.take())) return null;
    const renewal = setInterval(() => void this.renew().catch(() => {}), Math.floor(this.options.leaseMs / 3));
    try {
      return { result: await work() };
    } finally {
      clearInterval(renewal);
      await this.finish();
    }
  }

  /**
   * Makes a job that has never run on any replica first due one interval from now, instead of at
   * once: for a job whose first run should follow a full interval of the system running (a
   * deployment's first reconciliation, not one racing its start-up). Changes nothing once it ran.
   */
  async deferFirstRun(): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO job_lease (job, holder, expires_at, last_run_at) VALUES (${this.options.job}, ${this.options.holder}, now(), now())
      ON CONFLICT (job) DO NOTHING`;
  }

  private async take(): Promise<boolean> {
    const { job, holder, intervalMs, leaseMs } = this.options;
    const taken = await this.prisma.$queryRaw<unknown[]>`
      INSERT INTO job_lease AS lease (job, holder, expires_at) VALUES (${job}, ${holder}, now() + ${leaseMs} * interval '1 millisecond')
      ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE lease.expires_at <= now()
         AND (lease.last_run_at IS NULL OR lease.last_run_at <= now() - ${intervalMs} * interval '1 millisecond')
      RETURNING 1`;
    return taken.length === 1;
  }

  private async renew(): Promise<void> {
    const { job, holder, leaseMs } = this.options;
    await this.prisma.$executeRaw`
      UPDATE job_lease SET expires_at = now() + ${leaseMs} * interval '1 millisecond' WHERE job = ${job} AND holder = ${holder}`;
  }

  private async finish(): Promise<void> {
    const { job, holder } = this.options;
    await this.prisma.$executeRaw`
      UPDATE job_lease SET expires_at = now(), last_run_at = now() WHERE job = ${job} AND holder = ${holder}`;
  }
}
