/** Latency samples and their percentiles (nearest rank). */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export class LatencySamples {
  private readonly values: number[] = [];

  add(ms: number): void {
    if (Number.isFinite(ms)) this.values.push(Math.max(0, ms));
  }

  get count(): number {
    return this.values.length;
  }

  /** p50/p95/p99/max in ms, or undefined without samples. */
  percentiles(): Percentiles | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    return {
      count: sorted.length,
      p50: rank(50),
      p95: rank(95),
      p99: rank(99),
      max: sorted[sorted.length - 1]!,
    };
  }
}

/** A UUID (version 4 layout) from a seeded generator: the same seed gives the same ids. */
export function seededUuid(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A 32-bit seed derived from a seed and labels (per device, per session). */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = 2166136261 ^ seed;
  for (const ch of labels.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}
