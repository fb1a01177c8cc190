/** How a variance is handled, by its size; see VarianceTier in schema.graphql. */
export type VarianceTier = 'AUTO_CORRECT' | 'REVIEW' | 'ALERT';

/**
 * The thresholds of one tier rule. A variance v at a position with WMS on hand w, its share
 * p = |v| / max(w, 1) * 100:
 * ALERT when |v| > alertAbove, or p > alertAbovePercent (when set);
 * otherwise AUTO_CORRECT when |v| < autoCorrectBelow and, when set, p < autoCorrectBelowPercent;
 * otherwise REVIEW.
 */
export interface TierThresholds {
  /** Whole units, at least 0. */
  readonly autoCorrectBelow: number;
  /** Whole units, at least 0. */
  readonly alertAbove: number;
  /** Percent, at least 0; null when the absolute threshold alone decides. */
  readonly autoCorrectBelowPercent: number | null;
  readonly alertAbovePercent: number | null;
}

/** What RECONCILIATION_TIERS says, shape-checked: every threshold an entry leaves out is the default entry's. */
export interface TierSettings {
  readonly default?: Partial<TierThresholds>;
  /** By location id. */
  readonly locations?: Readonly<Record<string, Partial<TierThresholds>>>;
  /** By class name, in the order written: the first whose `skus` matches the SKU applies. */
  readonly itemClasses?: Readonly<Record<string, Partial<TierThresholds> & { readonly skus: string }>>;
}

/** One rule of the precedence list: it applies to a position whose SKU and location it matches (null: any). */
export interface TierRule extends TierThresholds {
  /** Where the rule stands in the precedence list: the first matching rule applies. */
  readonly precedence: number;
  /** A regular expression the whole SKU is searched with (as PostgreSQL's `~` does); null for any SKU. */
  readonly skuPattern: string | null;
  readonly locationId: string | null;
}

/** Under 5 units AUTO_CORRECT, 5 to 50 REVIEW, over 50 ALERT. */
export const DEFAULT_THRESHOLDS: TierThresholds = Object.freeze({ autoCorrectBelow: 5, alertAbove: 50, autoCorrectBelowPercent: null, alertAbovePercent: null });

/** Tier settings that contradict themselves; `path` names the entry (e.g. `locations.DC-01`). */
export class TierSettingsError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'TierSettingsError';
  }
}

/**
 * The precedence list of `settings`: item classes in the order written, then locations, then the
 * default, which matches every position. Throws TierSettingsError for a class whose `skus` is not
 * a regular expression and for an entry whose tiers overlap: a variance cannot be both under the
 * auto-correct and over the alert threshold, so autoCorrectBelow may be at most alertAbove + 1
 * (equal leaves no REVIEW band) and autoCorrectBelowPercent at most alertAbovePercent.
 */
export function compileTierRules(settings: TierSettings): TierRule[] {
  const base: TierThresholds = { ...DEFAULT_THRESHOLDS, ...settings.default };
  const entries: { path: string; thresholds: Partial<TierThresholds>; skuPattern: string | null; locationId: string | null }[] = [
    ...Object.entries(settings.itemClasses ?? {}).map(([name, { skus, ...thresholds }]) => {
      // JSON objects keep their keys' order, but for keys that read as array indexes, which come first.
      if (/^(0|[1-9]\d*)$/.test(name)) throw new TierSettingsError(`itemClasses.${name}`, 'a class name must not be a number (classes apply in the order written)');
      checkPattern(`itemClasses.${name}.skus`, skus);
      return { path: `itemClasses.${name}`, thresholds, skuPattern: skus, locationId: null };
    }),
    ...Object.entries(settings.locations ?? {}).map(([locationId, thresholds]) => ({ path: `locations.${locationId}`, thresholds, skuPattern: null, locationId })),
    { path: 'default', thresholds: {}, skuPattern: null, locationId: null },
  ];
  return entries.map(({ path, thresholds, skuPattern, locationId }, precedence) => {
    const rule: TierRule = { ...base, ...thresholds, precedence, skuPattern, locationId };
    checkNoOverlap(path, rule);
    return Object.freeze(rule);
  });
}

function checkPattern(path: string, pattern: string): void {
  try {
    new RegExp(pattern);
  } catch (error) {
    throw new TierSettingsError(path, `is not a regular expression (${(error as Error).message})`);
  }
}

function checkNoOverlap(path: string, rule: TierThresholds): void {
  if (rule.autoCorrectBelow > rule.alertAbove + 1) {
    throw new TierSettingsError(path, `autoCorrectBelow (${rule.autoCorrectBelow}) overlaps the alert tier: it must be at most alertAbove + 1 (${rule.alertAbove + 1})`);
  }
  if (rule.autoCorrectBelowPercent !== null && rule.alertAbovePercent !== null && rule.autoCorrectBelowPercent > rule.alertAbovePercent) {
    throw new TierSettingsError(path, `autoCorrectBelowPercent (${rule.autoCorrectBelowPercent}) overlaps the alert tier: it must be at most alertAbovePercent (${rule.alertAbovePercent})`);
  }
}
