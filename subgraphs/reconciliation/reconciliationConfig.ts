import { z } from 'zod';
import { ConfigurationError, parseJsonVariable, readEnvironment, variable, type Environment } from '../../platform/config/environment.ts';
import { compileTierRules, TierSettingsError, type TierRule, type TierSettings } from './domain/varianceTiers.ts';

export interface ReconciliationConfig {
  /** The tier rules in precedence order (RECONCILIATION_TIERS; see VarianceTier in the schema). */
  readonly tierRules: readonly TierRule[];
  /** Time from the end of one scheduled run to the start of the next, in milliseconds; null when runs start only on demand. */
  readonly scheduleIntervalMs: number | null;
  /**
   * How long a RUNNING run stays its replica's without renewal, in milliseconds; the replica
   * renews it every third of that while it compares, so only a run whose replica stopped expires.
   */
  readonly runLeaseMs: number;
  /** A sync transaction still PENDING_SYNC this long after the ledger took it is an orphan, in seconds. */
  readonly orphanAfterSeconds: number;
  /** Where reconciliation adjustments are posted at a location. */
  readonly adjustmentSubinventory: string;
  /** The unit of an adjustment of a SKU the ledger has never carried a transaction of. */
  readonly defaultUnitOfMeasure: string;
  /** How often the outbox relay looks for changes it was not woken for, in milliseconds. */
  readonly outboxPollIntervalMs: number;
}

const units = z.number().int('must be a whole number of units').min(0, 'must be at least 0');
const percent = z.number().finite().min(0, 'must be at least 0');
const thresholds = {
  autoCorrectBelow: units.optional(),
  alertAbove: units.optional(),
  autoCorrectBelowPercent: percent.optional(),
  alertAbovePercent: percent.optional(),
};
const tierSettings = z.strictObject({
  default: z.strictObject(thresholds).optional(),
  locations: z.record(z.string().min(1), z.strictObject(thresholds)).optional(),
  itemClasses: z.record(z.string().min(1), z.strictObject({ skus: z.string().min(1, 'must be a regular expression'), ...thresholds })).optional(),
});

/** Reads the reconciliation part's own variables; throws ConfigurationError naming the first bad one. */
export function readReconciliationConfig(env: Environment): ReconciliationConfig {
  const values = readEnvironment(
    {
      RECONCILIATION_TIERS: z.string().optional(),
      RECONCILIATION_INTERVAL_SECONDS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be at least 0 (0: no scheduled runs)').default(900),
      RECONCILIATION_RUN_LEASE_SECONDS: variable.positiveInt(30),
      RECONCILIATION_ORPHAN_AFTER_SECONDS: variable.positiveInt(3_600),
      RECONCILIATION_ADJUSTMENT_SUBINVENTORY: variable.text('STOCK'),
      RECONCILIATION_DEFAULT_UNIT: variable.text('EA'),
      OUTBOX_POLL_INTERVAL_MS: variable.positiveInt(250),
    },
    env,
  );
  return Object.freeze({
    tierRules: Object.freeze(readTierRules(values.RECONCILIATION_TIERS)),
    scheduleIntervalMs: values.RECONCILIATION_INTERVAL_SECONDS === 0 ? null : values.RECONCILIATION_INTERVAL_SECONDS * 1_000,
    runLeaseMs: values.RECONCILIATION_RUN_LEASE_SECONDS * 1_000,
    orphanAfterSeconds: values.RECONCILIATION_ORPHAN_AFTER_SECONDS,
    adjustmentSubinventory: values.RECONCILIATION_ADJUSTMENT_SUBINVENTORY,
    defaultUnitOfMeasure: values.RECONCILIATION_DEFAULT_UNIT,
    outboxPollIntervalMs: values.OUTBOX_POLL_INTERVAL_MS,
  });
}

const TIERS = 'RECONCILIATION_TIERS';

/** RECONCILIATION_TIERS as tier rules; the defaults alone when it is unset. */
function readTierRules(json: string | undefined): TierRule[] {
  const settings = parseJsonVariable(TIERS, json ?? '{}', tierSettings);
  try {
    return compileTierRules(settings as TierSettings);
  } catch (error) {
    if (error instanceof TierSettingsError) throw new ConfigurationError(TIERS, error.message);
    throw error;
  }
}
