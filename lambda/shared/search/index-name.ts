/**
 * The aggregates' index names: `<prefix>-<window size lowercased>-<yyyy.mm of the window start, UTC>`.
 * A window belongs to the month its start falls in, so one `windowKey` lives in exactly one index
 * whenever it is written (no rollover alias, which could put one document id in two indices).
 * No dependencies: the aggregate function imports this.
 */

/** What OpenSearch accepts as the start of an index name, and what the index pattern `<prefix>-*` needs. */
const PREFIX = /^[a-z0-9][a-z0-9_-]{0,199}$/;

export function assertIndexPrefix(prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.endsWith('-')) {
    throw new Error(
      `invalid index prefix '${prefix}': lowercase letters, digits, '-' and '_', not ending with '-'`,
    );
  }
}

/** `<prefix>-*`: every index {@link indexName} can give for this prefix. */
export function indexPattern(prefix: string): string {
  assertIndexPrefix(prefix);
  return `${prefix}-*`;
}

/**
 * The index of a window: `indexName('events-aggregates', 'PT1H', '2026-11-25T06:00:00.000Z')` is
 * `events-aggregates-pt1h-2026.11`. `windowStart` is the contract's ISO-8601 time or epoch ms.
 */
export function indexName(prefix: string, windowSize: string, windowStart: string | number): string {
  assertIndexPrefix(prefix);
  if (!/^P[0-9A-Z]+$/.test(windowSize)) throw new Error(`invalid window size '${windowSize}'`);
  const start = new Date(windowStart);
  if (Number.isNaN(start.getTime())) throw new Error(`invalid window start '${windowStart}'`);
  const month = String(start.getUTCMonth() + 1).padStart(2, '0');
  return `${prefix}-${windowSize.toLowerCase()}-${start.getUTCFullYear()}.${month}`;
}
