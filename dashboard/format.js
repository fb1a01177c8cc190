// Numbers and times as an operator reads them: Intl formats, times relative to now with the
// exact time in the tooltip.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const formatNumber = (value) => (value === null || value === undefined ? '–' : integer.format(value));
export const formatPercent = (ratio) => percent.format(ratio);

/**
 * "3 minutes ago" for a time `secondsAgo` before now (negative: in the future). Intl formats the
 * phrase but leaves choosing the unit to its caller, hence the steps.
 */
export function formatRelative(secondsAgo) {
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [Infinity, 'week']];
  let amount = -secondsAgo;
  for (const [size, unit] of steps) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
}

/** A duration in seconds as "2 h 5 min", for ages (Intl.DurationFormat is not in every browser yet). */
export function formatDuration(seconds) {
  if (seconds < 60) return `${integer.format(seconds)} s`;
  if (seconds < 3600) return `${integer.format(Math.floor(seconds / 60))} min`;
  if (seconds < 86400) return `${integer.format(Math.floor(seconds / 3600))} h ${integer.format(Math.floor((seconds % 3600) / 60))} min`;
  return `${integer.format(Math.floor(seconds / 86400))} d ${integer.format(Math.floor((seconds % 86400) / 3600))} h`;
}

const listeners = new Set();
setInterval(() => listeners.forEach((listener) => listener(Date.now())), 10_000);

/** Now, re-rendered every 10 s, so that relative times keep up. */
function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    listeners.add(setNow);
    return () => listeners.delete(setNow);
  }, []);
  return now;
}

/** A time, relative to now; the exact time on hover (title) and in `datetime`. */
export function Time({ value }) {
  const now = useNow();
  if (!value) return html`<span>–</span>`;
  const date = new Date(value);
  return html`<time datetime=${date.toISOString()} title=${exact.format(date)}>${formatRelative((now - date.getTime()) / 1000)}</time>`;
}
