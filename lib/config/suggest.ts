/**
 * "Did you mean ...?" for configuration keys: what counts as a near miss of a known name.
 *
 * A near miss is the same name up to letter case and separators (`platform_name`, `PlatformName`),
 * a missing or extra trailing `s` (`topic`, `envs`), or a small edit: one insertion, deletion,
 * substitution or swap of two neighbours for names of up to 6 characters, two for longer ones
 * (`topcs`, `enviroments`, `partiton`). Names of 3 characters or fewer (`env`) only match up to case
 * and a trailing `s`: short keys of other tools are too often one edit away from them.
 */

/** Lower case without separators, so that `platform-name`, `platform_name` and `platformName` compare equal. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[\s._:/-]+/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Whether `candidate` looks like a misspelling of `known` (see the module comment). */
export function isNearMiss(candidate: string, known: string): boolean {
  const c = normalizeName(candidate);
  const k = normalizeName(known);
  if (c.length === 0) return false;
  if (c === k || c === `${k}s` || `${c}s` === k) return true;
  if (k.length <= 3) return false;
  return editDistance(c, k) <= (k.length <= 6 ? 1 : 2);
}

/** The known name `candidate` is a near miss of (the closest one), or undefined. */
export function closestName(candidate: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (!isNearMiss(candidate, name)) continue;
    const distance = editDistance(normalizeName(candidate), normalizeName(name));
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}
