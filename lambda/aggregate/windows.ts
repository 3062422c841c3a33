/**
 * Tumbling windows: sizes, alignment, keys, dimension values, revenue and the late-event rule of
 * the aggregate consumer (docs/events-path.md, "aggregate"). Plain functions, no I/O.
 */

/** A window size: its ISO-8601 duration as configured, and its length. */
export interface WindowSize {
  readonly iso: string;
  readonly ms: number;
}

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/**
 * Parses an ISO-8601 duration of days, hours, minutes and seconds (`PT1M`, `PT1H`, `P1D`,
 * `PT1H30M`). Years, months and weeks are refused: they have no fixed length.
 */
export function parseWindowSize(iso: string): WindowSize {
  const match = DURATION.exec(iso);
  if (!match || iso === 'P' || iso.endsWith('T'))
    throw new Error(
      `window size ${JSON.stringify(iso)}: expected an ISO-8601 duration such as PT1M, PT1H or P1D`,
    );
  const [, d, h, m, s] = match;
  const ms = (((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60 + Number(s ?? 0)) * 1000;
  if (ms <= 0) throw new Error(`window size ${JSON.stringify(iso)}: must be longer than zero`);
  return { iso, ms };
}

/** Parses `WINDOWS` (comma-separated durations); at least one, no duplicates. */
export function parseWindowSizes(list: string): WindowSize[] {
  const sizes = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseWindowSize);
  if (sizes.length === 0) throw new Error('at least one window size is needed');
  const seen = new Set<string>();
  for (const size of sizes) {
    if (seen.has(size.iso)) throw new Error(`window size ${size.iso} is listed twice`);
    seen.add(size.iso);
  }
  return sizes;
}

/** Parses `DIMENSIONS` (comma-separated event field names); at least one, no duplicates. */
export function parseDimensions(list: string): string[] {
  const dimensions = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (dimensions.length === 0) throw new Error('at least one dimension is needed');
  if (new Set(dimensions).size !== dimensions.length) throw new Error(`a dimension is listed twice: ${list}`);
  return dimensions;
}

/** One window of one dimension value. */
export interface WindowRef {
  readonly windowKey: string;
  readonly windowSize: string;
  /** Epoch ms, aligned to the epoch (UTC). */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly dimension: string;
  readonly value: string;
}

/** The value an event counts under for a dimension; `unknown` when the field is missing or empty. */
export const UNKNOWN_VALUE = 'unknown';

export function dimensionValue(event: Readonly<Record<string, unknown>>, dimension: string): string {
  const v = event[dimension];
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return UNKNOWN_VALUE;
}

/** `<windowSize>|<windowStart>|<dimension>|<value>`, the start as an ISO-8601 UTC time with ms. */
export function windowKey(
  windowSize: string,
  windowStartMs: number,
  dimension: string,
  value: string,
): string {
  return `${windowSize}|${new Date(windowStartMs).toISOString()}|${dimension}|${value}`;
}

/** The start (epoch ms) of the window of this size that holds `timeMs`. */
export function windowStart(timeMs: number, size: WindowSize): number {
  return Math.floor(timeMs / size.ms) * size.ms;
}

/** Every window an event falls in: one per size and dimension, sizes first. */
export function windowsOf(
  event: Readonly<Record<string, unknown>>,
  eventTimeMs: number,
  sizes: readonly WindowSize[],
  dimensions: readonly string[],
): WindowRef[] {
  const refs: WindowRef[] = [];
  for (const size of sizes) {
    const start = windowStart(eventTimeMs, size);
    for (const dimension of dimensions) {
      const value = dimensionValue(event, dimension);
      refs.push({
        windowKey: windowKey(size.iso, start, dimension, value),
        windowSize: size.iso,
        windowStartMs: start,
        windowEndMs: start + size.ms,
        dimension,
        value,
      });
    }
  }
  return refs;
}

/**
 * The late-event rule: a window accepts events until `windowEnd + allowedLateness` in processing
 * time (the invocation's clock). Returns true when the window is closed at `nowMs`.
 */
export function isClosed(windowEndMs: number, nowMs: number, allowedLatenessMs: number): boolean {
  return nowMs > windowEndMs + allowedLatenessMs;
}

/**
 * What a purchase adds to revenue: `properties.amountCents` (a non-negative safe integer) in
 * `properties.currency` (ISO-4217, three capital letters). Anything else adds nothing.
 */
export function revenueOf(
  event: Readonly<Record<string, unknown>>,
): { readonly currency: string; readonly amountCents: number } | undefined {
  if (event.type !== 'purchase') return undefined;
  const properties = event.properties;
  if (typeof properties !== 'object' || properties === null) return undefined;
  const { amountCents, currency } = properties as Record<string, unknown>;
  if (typeof amountCents !== 'number' || !Number.isSafeInteger(amountCents) || amountCents < 0)
    return undefined;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return undefined;
  return { currency, amountCents };
}

/** Adds an amount to a per-currency map in place (currencies are never added together). */
export function addRevenue(revenue: Record<string, number>, currency: string, amountCents: number): void {
  revenue[currency] = (revenue[currency] ?? 0) + amountCents;
}
