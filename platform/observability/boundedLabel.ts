/** What a bounded label reports once it holds as many values as it may. */
export const OVERFLOW_LABEL = 'other';

/**
 * The values of one metric label that callers choose (operation names, client names, error
 * codes), kept to a bounded set: every distinct label value is a time series Prometheus keeps, so
 * a caller sending a million operation names must not make a million series. The first
 * `maxValues` values seen, truncated to `maxLength` characters, are reported as they are; any
 * later new value is reported as `other`. First come rather than most frequent, because the
 * set must never shrink (a series that stops being reported looks like traffic that stopped);
 * the values a service really serves appear in its first minutes.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly maxValues: number,
    private readonly maxLength = 64,
  ) {}

  valueOf(raw: string): string {
    const value = raw.length > this.maxLength ? raw.slice(0, this.maxLength) : raw;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.maxValues) return OVERFLOW_LABEL;
    this.seen.add(value);
    return value;
  }
}
