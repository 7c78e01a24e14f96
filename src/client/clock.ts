// Injected time for controllers, workqueues and leader election, after
// k8s.io/utils/clock (https://pkg.go.dev/k8s.io/utils/clock): production code uses
// `realClock`; tests use `FakeClock`, whose timers fire only when the test moves time
// forward with `advance()`, so backoff, resync, CronJob and lease expiry run on fake time.

export interface Timer {
  /** Cancels the timer; returns false when it already fired or was stopped. */
  stop(): boolean;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once after ms milliseconds. */
  setTimer(fn: () => void, ms: number): Timer;
  /** Resolves after ms milliseconds; rejects with the signal's reason when aborted first. */
  after(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

function afterWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      t.stop();
      reject(abortReason(signal!));
    };
    const t = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    let fired = false;
    let stopped = false;
    const h = setTimeout(() => {
      fired = true;
      fn();
    }, Math.max(0, ms));
    // Timers must not keep a stopping process alive on their own.
    h.unref?.();
    return {
      stop() {
        if (fired || stopped) return false;
        stopped = true;
        clearTimeout(h);
        return true;
      },
    };
  },
  after(ms, signal) {
    // Unlike setTimer, an awaited sleep keeps the process alive: someone is waiting on it.
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        clearTimeout(h);
        reject(abortReason(signal!));
      };
      const h = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  active: boolean;
}

/** A clock that only moves when told to. Timers due at the same instant fire in creation order. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.t = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, active: true };
    this.timers.push(timer);
    return {
      stop: () => {
        if (!timer.active) return false;
        timer.active = false;
        this.timers = this.timers.filter((x) => x !== timer);
        return true;
      },
    };
  }

  after(ms: number, signal?: AbortSignal): Promise<void> {
    return afterWith(this, ms, signal);
  }

  /** Number of pending timers (lets a test wait until a component is sleeping). */
  pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by ms, firing due timers in order (time steps to each timer's
   * instant first, so a callback that sets a new timer sees the right now()). Microtasks
   * are flushed between timers so promise chains woken by one timer can schedule the next.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      due.active = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    await flushMicrotasks();
  }
}

/** Lets pending promise callbacks run (a few macrotask turns, as I/O-free code needs). */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}
