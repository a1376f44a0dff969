/**
 * client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter, which Kyverno's
 * --clientRateLimitQPS/--clientRateLimitBurst configure for its API clients, and which its work
 * queues use for retries): `burst` tokens at once, then one per 1/qps seconds. A token is
 * reserved when asked for, so tokens may go negative: each one already promised makes the next
 * caller wait longer, which keeps callers in the order they asked.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(private readonly qps: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Reserves one token at `now` (ms) and returns how long to wait before using it. */
  reserve(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - (this.last ?? now)) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Resolves when the caller may send its request. */
  async take(): Promise<void> {
    const wait = this.reserve(Date.now());
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
  }
}
