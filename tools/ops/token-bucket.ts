/**
 * A token bucket: `rate` tokens per second, holding at most `capacity`, full at the start. A replay
 * takes one token per record it sends, so over any span of t seconds it sends at most
 * `capacity + rate * t` records. The clock is injected: tests drive it by hand.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    public readonly capacity: number,
    private readonly clock: Clock,
  ) {
    if (!(rate > 0)) throw new Error(`rate must be > 0 (got ${rate})`);
    if (!(capacity >= 1)) throw new Error(`capacity must be >= 1 (got ${capacity})`);
    this.tokens = capacity;
    this.last = clock.now();
  }

  /** A bucket of one second's worth of tokens (at least one). */
  static perSecond(rate: number, clock: Clock): TokenBucket {
    return new TokenBucket(rate, Math.max(1, Math.floor(rate)), clock);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /**
   * Takes between 1 and `wanted` whole tokens: as many as the bucket holds, after waiting for the
   * first one if it holds none. Resolves to how many were taken.
   */
  async take(wanted: number): Promise<number> {
    if (!(wanted >= 1)) throw new Error(`wanted must be >= 1 (got ${wanted})`);
    this.refill();
    while (this.tokens < 1) {
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.rate));
      this.refill();
    }
    const granted = Math.min(Math.floor(this.tokens), Math.floor(wanted));
    this.tokens -= granted;
    return granted;
  }
}
