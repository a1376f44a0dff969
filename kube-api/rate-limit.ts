/**
 * client-go's client-side rate limit (flowcontrol.NewTokenBucketRateLimiter, which Kyverno's
 * --clientRateLimitQPS/--clientRateLimitBurst configure): `burst` requests at once, then one per
 * 1/qps seconds; a request waits for its token in the order it asked.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly qps: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Resolves when the caller may send its request. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.wait());
    this.queue = turn;
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}
