/**
 * Whether a statement belongs to the services' background work rather than to a request: the
 * transaction markers, the relay's lease and its reads of the outbox, consumers' cursors, the
 * sweepers (their locked reads skip rows another replica holds), the promise-figures sweep and
 * the safety-stock defaults pass. Tests that count what a request costs leave these out: on a
 * loaded machine a background transaction can end while a request is being counted.
 */
export function isBackgroundStatement(sql: string): boolean {
  return BACKGROUND_STATEMENT.test(sql);
}

const BACKGROUND_STATEMENT =
  /^(BEGIN|COMMIT|ROLLBACK)\b|pg_try_advisory_xact_lock|FROM event_outbox|consumer_cursor|SKIP LOCKED|figures_valid_until IS NULL|NOT level\.safety_stock_explicit/;
