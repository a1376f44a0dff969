/**
 * A scenario's clock. Chainsaw scenarios wait for time-driven controllers (a cleanup policy's
 * cron schedule, the `cleanup.kyverno.io/ttl` label) with `sleep` steps or with assert and
 * error timeouts; offline, that time is simulated: the clock stands still until the runner
 * advances it, and each timer set on it fires, in order, once the clock reaches its time.
 */
import type { CleanupClock } from '../../webhook/cleanup';

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
}

const MAX_FIRES = 100_000;
/** How long after its time a timer fires. */
const FIRING_LATENCY_MS = 1;

export class VirtualClock implements CleanupClock {
  private current: number;
  private readonly timers = new Set<Timer>();
  private seq = 0;

  /**
   * `start`: the clock's time at the scenario's start. `drain`: waits for the work a fired timer
   * started (the controllers' reconciles) before the next timer fires.
   */
  constructor(
    start: number,
    private readonly drain: () => Promise<void>,
  ) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** No real time is waited: a timer fires only when the runner advances the clock. */
  realDelay(): number {
    return 0;
  }

  after(ms: number, fn: () => void): () => void {
    const timer: Timer = { due: this.current + Math.max(0, ms), seq: ++this.seq, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** When the next timer is due, if any is set. */
  nextDue(): number | undefined {
    let first: number | undefined;
    for (const t of this.timers) if (first === undefined || t.due < first) first = t.due;
    return first;
  }

  /** Fires the timers due by now + `ms` in time order (a fired timer may set earlier ones), then stands at now + `ms`. */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (let fired = 0; ; fired++) {
      // Timers that keep setting timers due at once would never let the clock move.
      if (fired > MAX_FIRES) throw new Error(`more than ${MAX_FIRES} timers fired without the clock reaching ${new Date(target).toISOString()}`);
      await this.drain();
      let next: Timer | undefined;
      for (const t of this.timers) if (t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      if (!next) break;
      this.timers.delete(next);
      // A real timer fires once its time has passed, a little after it (the controllers compare strictly).
      this.current = Math.max(this.current, next.due + FIRING_LATENCY_MS);
      next.fn();
    }
    this.current = Math.max(this.current, target);
  }
}
