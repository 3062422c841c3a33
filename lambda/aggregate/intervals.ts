/**
 * Offset intervals of one source partition (docs/events-path.md, "Exactly-once effects"): the
 * partition batch ranges a window item includes, and the batch ranges a consumer has fully
 * processed. Plain functions, no I/O. Lists are sorted by offset, disjoint and not adjacent.
 */

/** `[first, last]`, both included. */
export type Interval = readonly [first: number, last: number];

/** Whether an offset lies in one of the intervals. */
export function intervalsContain(intervals: readonly Interval[], offset: number): boolean {
  return intervals.some(([first, last]) => first <= offset && offset <= last);
}

/** The intervals with one more, sorted, overlapping and adjacent ones merged. */
export function addInterval(intervals: readonly Interval[], added: Interval): Interval[] {
  const sorted = [...intervals, added].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [first, last] of sorted) {
    const previous = out[out.length - 1];
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else out.push([first, last]);
  }
  return out;
}

/**
 * A window's intervals with each gap between two of them closed when the gap lies entirely inside
 * one processed range: a batch that was fully processed and wrote nothing to the window had no
 * records of it.
 */
export function closeGaps(intervals: readonly Interval[], processed: readonly Interval[]): Interval[] {
  const out: [number, number][] = [];
  for (const [first, last] of intervals) {
    const previous = out[out.length - 1];
    const gapFirst = previous ? previous[1] + 1 : 0;
    const gapLast = first - 1;
    if (previous && processed.some(([pf, pl]) => pf <= gapFirst && gapLast <= pl))
      previous[1] = Math.max(previous[1], last);
    else out.push([first, last]);
  }
  return out;
}

/** The newest `max` intervals (the highest offsets): older ones are forgotten. */
export function newest(intervals: readonly Interval[], max: number): Interval[] {
  return intervals.slice(Math.max(0, intervals.length - max));
}

/** `[first, last, first, last, ...]`, as an item stores a list. */
export function flatten(intervals: readonly Interval[]): number[] {
  return intervals.flatMap(([first, last]) => [first, last]);
}

/** The inverse of {@link flatten}. */
export function pairs(flat: readonly number[]): Interval[] {
  const out: Interval[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
