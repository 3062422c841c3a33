/**
 * Parsing of the human-friendly duration and size values used in cdk.json and `-c` overrides.
 * Each parser returns a number or a message saying what is allowed; callers attach the key.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

export const DURATION_FORMAT =
  'a duration such as 500ms, 30s, 15m, 12h, 7d or 2w (a bare integer is milliseconds)';
export const SIZE_FORMAT = 'a size such as 512KiB, 1MiB, 50GiB or 1GB (a bare integer is bytes)';

/**
 * Parses a duration into milliseconds. `-1`, `infinite` and `unlimited` give -1 when `allowInfinite`.
 */
export function parseDuration(raw: unknown, allowInfinite: boolean): Parsed<number> {
  const infinite = allowInfinite ? ', or -1 / infinite for no limit' : '';
  if (typeof raw === 'number') return wholeNumber(raw, allowInfinite, `${DURATION_FORMAT}${infinite}`);
  if (typeof raw !== 'string') return { ok: false, message: `expected ${DURATION_FORMAT}${infinite}` };
  const text = raw.trim();
  if (allowInfinite && /^(-1|infinite|unlimited)$/i.test(text)) return { ok: true, value: -1 };
  const m = /^(\d+)\s*(ms|s|m|h|d|w)?$/.exec(text);
  if (!m) return { ok: false, message: `expected ${DURATION_FORMAT}${infinite} (got "${raw}")` };
  const value = Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? 'ms'] ?? 1);
  if (!Number.isSafeInteger(value)) return { ok: false, message: `duration "${raw}" is too large` };
  return { ok: true, value };
}

/** Parses a size into bytes. `-1` and `unlimited` give -1 when `allowUnlimited`. */
export function parseSize(raw: unknown, allowUnlimited: boolean): Parsed<number> {
  const unlimited = allowUnlimited ? ', or -1 / unlimited for no limit' : '';
  if (typeof raw === 'number') return wholeNumber(raw, allowUnlimited, `${SIZE_FORMAT}${unlimited}`);
  if (typeof raw !== 'string') return { ok: false, message: `expected ${SIZE_FORMAT}${unlimited}` };
  const text = raw.trim();
  if (allowUnlimited && /^(-1|unlimited|infinite)$/i.test(text)) return { ok: true, value: -1 };
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/.exec(text);
  if (!m) return { ok: false, message: `expected ${SIZE_FORMAT}${unlimited} (got "${raw}")` };
  const value = Number(m[1]) * (SIZE_UNITS[m[2] ?? 'B'] ?? 1);
  if (!Number.isSafeInteger(value)) return { ok: false, message: `size "${raw}" is too large` };
  return { ok: true, value };
}

/** Parses an integer given as a JSON number or a `-c` string. */
export function parseInteger(raw: unknown): Parsed<number> {
  const value = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return { ok: false, message: `expected a whole number (got ${JSON.stringify(raw)})` };
  }
  return { ok: true, value };
}

function wholeNumber(raw: number, allowMinusOne: boolean, format: string): Parsed<number> {
  if (Number.isSafeInteger(raw) && (raw >= 0 || (allowMinusOne && raw === -1)))
    return { ok: true, value: raw };
  return { ok: false, message: `expected ${format} (got ${raw})` };
}

/** Formats milliseconds back into the largest exact unit, for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === -1) return 'infinite';
  for (const [unit, factor] of Object.entries(DURATION_UNITS_MS).reverse()) {
    if (ms % factor === 0 && ms >= factor) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** Formats bytes back into the largest exact binary unit. */
export function formatSize(bytes: number): string {
  if (bytes === -1) return 'unlimited';
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB']) {
    const factor = SIZE_UNITS[unit] ?? 1;
    if (bytes % factor === 0 && bytes >= factor) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}
