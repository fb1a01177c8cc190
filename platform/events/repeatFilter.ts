import { MAX_PUBLISH_BATCH } from './eventBus.ts';

/**
 * How many of a stream's latest events a consumer that joins it remembers: a repeat lands
 * within MAX_PUBLISH_BATCH events of what it repeats, so twice that covers it with room.
 */
export const REPEAT_WINDOW = 2 * MAX_PUBLISH_BATCH;

/**
 * Drops repeats of a stream's events by (key, sequence): an event is new when its sequence is
 * above the highest seen for its key. Keeps the most recently seen keys, at least `capacity`
 * of them (more than any window in which a repeat can follow what it repeats), so that memory
 * stays bounded however many keys the stream carries.
 */
export class RepeatFilter {
  private readonly highest = new Map<string, number>();

  constructor(private readonly capacity = 10 * REPEAT_WINDOW) {}

  /** True the first time the event is seen; false for a repeat. */
  admit(event: { readonly key: string; readonly sequence: number }): boolean {
    const seen = this.highest.get(event.key);
    if (seen !== undefined && event.sequence <= seen) return false;
    // Deleted first so that the key moves to the end: the map's order is recency.
    this.highest.delete(event.key);
    this.highest.set(event.key, event.sequence);
    if (this.highest.size > this.capacity) this.highest.delete(this.highest.keys().next().value!);
    return true;
  }
}
